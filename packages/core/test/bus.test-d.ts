import { expectTypeOf, test } from 'vitest';
import { createEventBus, type EventBus } from '../src/index.ts';

declare module '../src/index.ts' {
  interface ObsEvents {
    'test:happened': { readonly id: number };
  }
}

test('packages add typed events by declaration merging', () => {
  const bus: EventBus = createEventBus();
  bus.on('test:happened', (event) => {
    expectTypeOf(event).toEqualTypeOf<{ readonly id: number }>();
  });
  bus.emit('test:happened', { id: 1 });
  // @ts-expect-error the payload is typed
  bus.emit('test:happened', { id: 'one' });
  // @ts-expect-error unknown events are rejected
  bus.emit('nope:never', {});
  expectTypeOf(bus.on('api:called', () => {})).toEqualTypeOf<() => void>();
});
