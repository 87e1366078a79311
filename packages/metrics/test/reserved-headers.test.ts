import { expect, test } from 'vitest';
import { RESERVED_HEADERS } from '../src/internal/reserved-headers.ts';
import { RESERVED_HEADERS as REMOTE_WRITE_RESERVED } from '../src/remote-write.ts';

// #22: options.ts validates against its own copy so that it does not load remote write; the two must agree
// (until remote-write.ts re-exports this module's).
test('the headers options refuse are the ones remote write sets', () => {
  expect([...RESERVED_HEADERS].sort()).toEqual([...REMOTE_WRITE_RESERVED].sort());
});
