import * as semconv from '@opentelemetry/semantic-conventions';
import { expect, test } from 'vitest';
import * as local from '../src/internal/semconv.ts';

test('the attribute names written as strings are the semantic-conventions ones (#22)', () => {
  for (const [name, value] of Object.entries(local)) {
    if (name === 'ATTR_SERVICE_INSTANCE_ID') continue;
    expect((semconv as Record<string, unknown>)[name], name).toBe(value);
  }
});
