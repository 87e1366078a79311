import { describe, expect, test } from 'vitest';
import { createEventBus, ObsError } from '../src/index.ts';

describe('event bus', () => {
  test('delivers events synchronously, in subscription order', () => {
    const bus = createEventBus();
    const seen: string[] = [];
    bus.on('workers:changed', (e) => void seen.push(`a${e.active}`));
    bus.on('workers:changed', (e) => void seen.push(`b${e.active}`));
    bus.emit('workers:changed', { active: 3 });
    expect(seen).toEqual(['a3', 'b3']);
  });

  test('on returns an unsubscribe that is safe to call twice', () => {
    const bus = createEventBus();
    let calls = 0;
    const off = bus.on('workers:changed', () => void calls++);
    const offOther = bus.on('workers:changed', () => {});
    bus.emit('workers:changed', { active: 1 });
    off();
    off();
    bus.emit('workers:changed', { active: 2 });
    expect(calls).toBe(1);
    expect(bus.listenerCount('workers:changed')).toBe(1);
    offOther();
    expect(bus.listenerCount('workers:changed')).toBe(0);
  });

  test('a throwing listener is isolated and reported as obs:error; the others still run', () => {
    const bus = createEventBus();
    const errors: { plugin: string; error: Error }[] = [];
    bus.on('obs:error', (e) => void errors.push(e));
    let after = 0;
    bus.on('export:recorded', () => {
      throw new TypeError('boom');
    });
    bus.on('export:recorded', () => void after++);
    expect(() => bus.emit('export:recorded', { kind: 'movies', status: 'success', count: 1 })).not.toThrow();
    expect(after).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.error).toBeInstanceOf(ObsError);
    expect((errors[0]!.error as ObsError).code).toBe('OBS_ERR_LISTENER_THREW');
    expect((errors[0]!.error as ObsError).cause).toBeInstanceOf(TypeError);
  });

  test('a rejecting async listener is reported too, never an unhandled rejection', async () => {
    const bus = createEventBus();
    const errors: Error[] = [];
    bus.on('obs:error', (e) => void errors.push(e.error));
    bus.on('workers:changed', async () => {
      throw new Error('async boom');
    });
    bus.emit('workers:changed', { active: 1 });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(errors.map((e) => (e as ObsError).code)).toEqual(['OBS_ERR_LISTENER_THREW']);
  });

  test('a throwing obs:error listener goes to the last-resort handler instead of looping', () => {
    const unhandled: string[] = [];
    const bus = createEventBus({ onUnhandledError: (error) => void unhandled.push(error.message) });
    bus.on('obs:error', () => {
      throw new Error('logger down');
    });
    bus.on('workers:changed', () => {
      throw new Error('first');
    });
    bus.emit('workers:changed', { active: 1 });
    expect(unhandled).toHaveLength(1);
    expect(unhandled[0]).toContain('logger down');
  });

  test('with no obs:error listener, a throw reaches the last-resort handler', () => {
    const unhandled: Error[] = [];
    const bus = createEventBus({ onUnhandledError: (error) => void unhandled.push(error) });
    bus.on('workers:changed', () => {
      throw new Error('nobody listens');
    });
    bus.emit('workers:changed', { active: 1 });
    expect((unhandled[0] as ObsError).code).toBe('OBS_ERR_LISTENER_THREW');
  });

  test('a listener added during an emit is not called by that emit', () => {
    const bus = createEventBus();
    let late = 0;
    bus.on('workers:changed', () => {
      bus.on('workers:changed', () => void late++);
    });
    bus.emit('workers:changed', { active: 1 });
    expect(late).toBe(0);
  });

  test('on with a non-function is misuse and throws a coded error', () => {
    const bus = createEventBus();
    expect(() => bus.on('workers:changed', 'nope' as never)).toThrow(
      expect.objectContaining({ code: 'OBS_ERR_PLUGIN_INVALID' }),
    );
  });
});
