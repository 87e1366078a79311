import { describe, expect, test } from 'vitest';
import {
  createConsoleLogger,
  createMonitor,
  type Monitor,
  ObsError,
  type ObsEvents,
  type ObsPlugin,
  silentLogger,
} from '../src/index.ts';

declare module '../src/index.ts' {
  interface ObsServices {
    'test.counter': { count: number };
  }
}

const quiet = { logger: silentLogger, config: { metrics_port: 0, health_port: 0, host: '127.0.0.1' } };

function recorder(name: string, log: string[], extra: Partial<ObsPlugin> = {}): ObsPlugin {
  return {
    name,
    setup: () => void log.push(`${name}:setup`),
    start: async () => void log.push(`${name}:start`),
    stop: async () => void log.push(`${name}:stop`),
    ...extra,
  };
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    return (err as ObsError).code;
  }
  return undefined;
}

describe('createMonitor checks the plugins before anything runs', () => {
  test('duplicate names are rejected', () => {
    const log: string[] = [];
    expect(codeOf(() => createMonitor({ ...quiet, plugins: [recorder('a', log), recorder('a', log)] }))).toBe(
      'OBS_ERR_PLUGIN_DUPLICATE',
    );
    expect(log).toEqual([]);
  });

  test('a missing dependency is rejected, and so is one registered after its dependent', () => {
    const log: string[] = [];
    const b = recorder('b', log, { dependsOn: ['a'] });
    expect(codeOf(() => createMonitor({ ...quiet, plugins: [b] }))).toBe('OBS_ERR_PLUGIN_DEPENDENCY');
    expect(() => createMonitor({ ...quiet, plugins: [b, recorder('a', log)] })).toThrow(/register "a" before it/);
    expect(codeOf(() => createMonitor({ ...quiet, plugins: [recorder('a', log), b] }))).toBeUndefined();
    expect(log).toEqual([]);
  });

  test('a plugin without setup is invalid', () => {
    expect(codeOf(() => createMonitor({ ...quiet, plugins: [{ name: 'x' } as ObsPlugin] }))).toBe(
      'OBS_ERR_PLUGIN_INVALID',
    );
  });

  test('bad config is reported before anything runs', () => {
    expect(codeOf(() => createMonitor({ ...quiet, config: { metrics_port: -1 } }))).toBe('OBS_ERR_CONFIG_INVALID');
  });
});

describe('lifecycle', () => {
  test('setup all, then start in order; stop in reverse', async () => {
    const log: string[] = [];
    const monitor = createMonitor({ ...quiet, plugins: [recorder('a', log), recorder('b', log), recorder('c', log)] });
    expect(monitor.state).toBe('idle');
    await monitor.start();
    expect(monitor.state).toBe('started');
    await monitor.stop();
    expect(monitor.state).toBe('stopped');
    expect(log).toEqual([
      'a:setup',
      'b:setup',
      'c:setup',
      'a:start',
      'b:start',
      'c:start',
      'c:stop',
      'b:stop',
      'a:stop',
    ]);
  });

  test('a failing start stops what had started, in reverse, and rethrows with the plugin name', async () => {
    const log: string[] = [];
    const boom = recorder('b', log, {
      start: async () => {
        log.push('b:start');
        throw new Error('port busy');
      },
    });
    const monitor = createMonitor({ ...quiet, plugins: [recorder('a', log), boom, recorder('c', log)] });
    const error = await monitor.start().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ObsError);
    expect((error as ObsError).code).toBe('OBS_ERR_PLUGIN_START');
    expect((error as Error).message).toContain('"b"');
    expect((error as Error).cause).toEqual(new Error('port busy'));
    expect(log).toEqual(['a:setup', 'b:setup', 'c:setup', 'a:start', 'b:start', 'b:stop', 'a:stop']);
    expect(monitor.state).toBe('stopped');
  });

  test('a phase that hangs times out with the plugin name', async () => {
    const log: string[] = [];
    const hang = recorder('slow', log, { start: () => new Promise(() => {}) });
    const monitor = createMonitor({ ...quiet, timeout: 50, plugins: [recorder('a', log), hang] });
    const error = (await monitor.start().catch((err: unknown) => err)) as ObsError;
    expect(error.code).toBe('OBS_ERR_LIFECYCLE_TIMEOUT');
    expect(error.message).toContain('"slow"');
    expect(log).toEqual(['a:setup', 'slow:setup', 'a:start', 'slow:stop', 'a:stop']);
  });

  test('stop is idempotent, concurrent calls share one promise, and a hanging stop is bounded', async () => {
    const log: string[] = [];
    const errors: Error[] = [];
    const stuck = recorder('stuck', log, { stop: () => new Promise(() => {}) });
    const monitor = createMonitor({ ...quiet, timeout: 50, plugins: [recorder('a', log), stuck] });
    monitor.bus.on('obs:error', (e) => void errors.push(e.error));
    await monitor.start();
    const first = monitor.stop();
    expect(monitor.stop()).toBe(first);
    await first;
    await monitor.stop();
    expect(log.filter((l) => l.endsWith(':stop'))).toEqual(['a:stop']);
    expect(errors.map((e) => (e as ObsError).code)).toContain('OBS_ERR_LIFECYCLE_TIMEOUT');
  });

  test('a throwing stop is reported and the other plugins still stop', async () => {
    const log: string[] = [];
    const errors: string[] = [];
    const bad = recorder('bad', log, {
      stop: async () => {
        throw new Error('flush failed');
      },
    });
    const monitor = createMonitor({ ...quiet, plugins: [recorder('a', log), bad] });
    monitor.bus.on('obs:error', (e) => void errors.push(`${e.plugin}:${(e.error as ObsError).code}`));
    await monitor.start();
    await expect(monitor.stop()).resolves.toBeUndefined();
    expect(log).toContain('a:stop');
    expect(errors).toEqual(['bad:OBS_ERR_PLUGIN_STOP']);
  });

  test('a stop() during start() waits for start to settle, then undoes it', async () => {
    const log: string[] = [];
    const slow = recorder('slow', log, {
      start: async () => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        log.push('slow:start');
      },
    });
    const monitor = createMonitor({ ...quiet, plugins: [slow] });
    const started = monitor.start();
    await monitor.stop();
    await started;
    expect(monitor.state).toBe('stopped');
    expect(log).toEqual(['slow:setup', 'slow:start', 'slow:stop']);
  });

  test('Symbol.asyncDispose stops the monitor', async () => {
    const log: string[] = [];
    {
      await using monitor = await createMonitor({ ...quiet, plugins: [recorder('a', log)] }).start();
      expect(monitor.state).toBe('started');
    }
    expect(log).toEqual(['a:setup', 'a:start', 'a:stop']);
  });

  test('start twice is misuse; stop before start is a no-op', async () => {
    const monitor = createMonitor(quiet);
    await monitor.start();
    await expect(monitor.start()).rejects.toMatchObject({ code: 'OBS_ERR_MONITOR_STATE' });
    await monitor.stop();
    const never = createMonitor(quiet);
    await never.stop();
    expect(never.state).toBe('stopped');
    await expect(never.start()).rejects.toMatchObject({ code: 'OBS_ERR_MONITOR_STATE' });
  });

  test('the abort signal fires when stop begins', async () => {
    let signal: AbortSignal | undefined;
    let abortedAtStop: boolean | undefined;
    const monitor = createMonitor({
      ...quiet,
      plugins: [
        {
          name: 'p',
          setup: (ctx) => {
            signal = ctx.signal;
          },
          stop: async () => {
            abortedAtStop = signal?.aborted;
          },
        },
      ],
    });
    await monitor.start();
    expect(signal?.aborted).toBe(false);
    await monitor.stop();
    expect(abortedAtStop).toBe(true);
  });

  test('a plugin whose section is disabled is skipped, and so are its dependents', async () => {
    const log: string[] = [];
    const monitor = createMonitor({
      ...quiet,
      config: { ...quiet.config, tracing: { enabled: false } },
      plugins: [
        recorder('t', log, { section: 'tracing' }),
        recorder('u', log, { dependsOn: ['t'] }),
        recorder('h', log, { section: 'health' }),
      ],
    });
    await monitor.start();
    await monitor.stop();
    expect(log).toEqual(['h:setup', 'h:start', 'h:stop']);
  });

  test('monitoring disabled as a whole runs no plugin', async () => {
    const log: string[] = [];
    const monitor = createMonitor({
      ...quiet,
      config: { ...quiet.config, enabled: false },
      plugins: [recorder('a', log)],
    });
    await monitor.start();
    monitor.recordApiCall('x', 200, 1);
    await monitor.stop();
    expect(log).toEqual([]);
  });
});

test('the config it logs has its secrets redacted', async () => {
  const lines: string[] = [];
  const monitor = createMonitor({
    config: {
      ...quiet.config,
      alerts: { smtp_password: 'hunter2', webhook_url: 'https://hooks.slack.com/services/T/B/SECRET' },
    },
    logger: createConsoleLogger({ level: 'debug', stream: { write: (line: string) => lines.push(line) } }),
  });
  await monitor.start();
  await monitor.stop();
  const text = lines.join('');
  expect(text).toContain('smtp_password');
  expect(text).toContain('[redacted]');
  expect(text).not.toContain('hunter2');
  expect(text).not.toContain('SECRET');
});

describe('services', () => {
  test('provided in setup, needed by later plugins and by the app', async () => {
    let seen: number | undefined;
    let optional: boolean | undefined;
    const monitor = createMonitor({
      ...quiet,
      plugins: [
        { name: 'provider', setup: (ctx) => ctx.provide('test.counter', { count: 7 }) },
        {
          name: 'consumer',
          setup: (ctx) => {
            seen = ctx.need('test.counter').count;
            optional = ctx.has('test.counter');
          },
        },
      ],
    });
    await monitor.start();
    expect(seen).toBe(7);
    expect(optional).toBe(true);
    expect(monitor.service('test.counter').count).toBe(7);
    await monitor.stop();
  });

  test('a missing service is a coded error naming who needs it; providing twice is rejected', async () => {
    const missing = createMonitor({
      ...quiet,
      plugins: [{ name: 'c', setup: (ctx) => void ctx.need('test.counter') }],
    });
    await expect(missing.start()).rejects.toMatchObject({ code: 'OBS_ERR_SERVICE_MISSING' });
    const twice = createMonitor({
      ...quiet,
      plugins: [
        { name: 'p1', setup: (ctx) => ctx.provide('test.counter', { count: 1 }) },
        { name: 'p2', setup: (ctx) => ctx.provide('test.counter', { count: 2 }) },
      ],
    });
    await expect(twice.start()).rejects.toMatchObject({ code: 'OBS_ERR_SERVICE_DUPLICATE' });
  });

  test('nothing can be provided or mounted after start', async () => {
    let late: (() => void) | undefined;
    let lateMount: (() => void) | undefined;
    const monitor = createMonitor({
      ...quiet,
      plugins: [
        {
          name: 'p',
          setup: (ctx) => {
            late = () => ctx.provide('test.counter', { count: 1 });
            lateMount = () => ctx.endpoints.mount('metrics', '/late', (_req, res) => void res.end());
          },
        },
      ],
    });
    await monitor.start();
    expect(codeOf(() => late?.())).toBe('OBS_ERR_MONITOR_STATE');
    expect(codeOf(() => lateMount?.())).toBe('OBS_ERR_MONITOR_STATE');
    await monitor.stop();
  });
});

describe("the seed's recorders emit bus events", () => {
  async function started(): Promise<{ monitor: Monitor; events: unknown[]; errors: string[] }> {
    const events: unknown[] = [];
    const errors: string[] = [];
    const monitor = createMonitor(quiet);
    for (const type of ['api:called', 'cache:updated', 'export:recorded', 'workers:changed'] as const) {
      monitor.bus.on(type, (e: ObsEvents[typeof type]) => void events.push({ type, ...e }));
    }
    monitor.bus.on('obs:error', (e) => void errors.push((e.error as ObsError).code));
    await monitor.start();
    return { monitor, events, errors };
  }

  test('with typed payloads', async () => {
    const { monitor, events } = await started();
    monitor.recordApiCall('watched_movies', 200, 145);
    monitor.recordApiCall('ratings', 429, 12.5, 'POST');
    monitor.updateCacheStats(0.85, 1024 * 1024);
    monitor.updateCacheStats(0.5, 10, 4);
    monitor.updateCacheStats(0.25, 10, 4, 8);
    monitor.recordExport('movies', 'success', 150);
    monitor.setActiveWorkers(4);
    expect(events).toEqual([
      { type: 'api:called', endpoint: 'watched_movies', status: 200, durationMs: 145, method: 'GET' },
      { type: 'api:called', endpoint: 'ratings', status: 429, durationMs: 12.5, method: 'POST' },
      { type: 'cache:updated', hitRatio: 0.85, sizeBytes: 1_048_576, entries: undefined },
      { type: 'cache:updated', hitRatio: 0.5, sizeBytes: 10, entries: 4 },
      { type: 'cache:updated', hitRatio: 0.25, sizeBytes: 10, entries: 4, lookups: 8 },
      { type: 'export:recorded', kind: 'movies', status: 'success', count: 150 },
      { type: 'workers:changed', active: 4 },
    ]);
    await monitor.stop();
  });

  test('invalid values are dropped and reported, never thrown into the app', async () => {
    const { monitor, events, errors } = await started();
    expect(() => {
      monitor.recordApiCall('', 200, 1);
      monitor.recordApiCall('x', 200, Number.NaN);
      monitor.recordApiCall('x', 200.5, 1);
      monitor.updateCacheStats(1.5, 1);
      monitor.updateCacheStats(0.5, 1, 1, 2.5);
      monitor.recordExport('movies', 'success', -1);
      monitor.setActiveWorkers(1.5);
    }).not.toThrow();
    expect(events).toEqual([]);
    expect(errors).toEqual(Array(7).fill('OBS_ERR_RECORD_INVALID'));
    await monitor.stop();
  });

  test('a plugin listener that throws is reported under its name and the recorder returns normally', async () => {
    const errors: string[] = [];
    const monitor = createMonitor({
      ...quiet,
      plugins: [
        {
          name: 'fragile',
          setup: (ctx) => {
            ctx.bus.on('api:called', () => {
              throw new Error('oops');
            });
          },
        },
      ],
    });
    monitor.bus.on('obs:error', (e) => void errors.push(e.plugin));
    await monitor.start();
    expect(() => monitor.recordApiCall('x', 200, 1)).not.toThrow();
    expect(errors).toEqual(['fragile']);
    await monitor.stop();
  });

  test("a plugin's subscriptions end when it stops", async () => {
    let calls = 0;
    const monitor = createMonitor({
      ...quiet,
      plugins: [{ name: 'p', setup: (ctx) => void ctx.bus.on('workers:changed', () => void calls++) }],
    });
    await monitor.start();
    monitor.setActiveWorkers(1);
    await monitor.stop();
    expect(monitor.bus.listenerCount('workers:changed')).toBe(0);
    monitor.setActiveWorkers(2);
    expect(calls).toBe(1);
  });
});
