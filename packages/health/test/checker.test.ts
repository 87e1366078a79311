import { createEventBus, ObsError, type ObsEvents } from '@obs/core';
import { afterEach, describe, expect, test, vi } from 'vitest';
import {
  createHealthChecker,
  defaultStatusRule,
  type HealthCheck,
  type HealthCheckOutcome,
  overallStatus,
} from '../src/index.ts';

const healthy = (name: string, extra: Partial<HealthCheck> = {}): HealthCheck => ({
  name,
  check: () => ({ status: 'healthy' }),
  ...extra,
});

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ObsError);
    return (err as ObsError).code;
  }
  return undefined;
}

// A macrotask turn: the checker calls a check on the microtask after it is scheduled.
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.useRealTimers();
});

describe('registering checks', () => {
  test('register, unregister, and the returned remover', async () => {
    const checker = createHealthChecker();
    const remove = checker.register(healthy('a'));
    checker.register(healthy('b'));
    expect(checker.names()).toEqual(['a', 'b']);
    remove();
    expect(checker.names()).toEqual(['b']);
    expect(checker.unregister('b')).toBe(true);
    expect(checker.unregister('b')).toBe(false);
    expect((await checker.report()).checks).toEqual({});
  });

  test('malformed checks and taken names throw with codes', () => {
    const checker = createHealthChecker({ checks: [healthy('db')] });
    expect(codeOf(() => checker.register(healthy('db')))).toBe('OBS_ERR_HEALTH_CHECK_DUPLICATE');
    expect(codeOf(() => checker.register(healthy('overall')))).toBe('OBS_ERR_HEALTH_CHECK_INVALID');
    expect(codeOf(() => checker.register(healthy('has space')))).toBe('OBS_ERR_HEALTH_CHECK_INVALID');
    expect(codeOf(() => checker.register({ name: 'x' } as HealthCheck))).toBe('OBS_ERR_HEALTH_CHECK_INVALID');
    expect(codeOf(() => checker.register(healthy('t', { timeout: -1 })))).toBe('OBS_ERR_HEALTH_CHECK_INVALID');
    expect(codeOf(() => checker.register(healthy('t', { timeout: 'soon' })))).toBe('OBS_ERR_HEALTH_CHECK_INVALID');
  });

  test('bad checker options throw one ObsConfigError listing every problem', () => {
    try {
      createHealthChecker({ timeout: 0, interval: 'often', rule: { degraded: 'bad' as 'healthy' } });
      expect.unreachable();
    } catch (err) {
      expect((err as ObsError).code).toBe('OBS_ERR_CONFIG_INVALID');
      expect((err as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual([
        'timeout',
        'interval',
        'rule.degraded',
      ]);
    }
  });
});

describe('running checks', () => {
  test('a throwing check is unhealthy with the error message; the checker measures latency', async () => {
    const checker = createHealthChecker({
      checks: [
        {
          name: 'db',
          check: () => {
            throw new Error('connection refused');
          },
        },
        { name: 'api', check: async () => Promise.reject(new Error('ECONNRESET')) },
        { name: 'ok', check: async () => ({ status: 'degraded', message: 'slow', details: { n: 1 } }) },
      ],
    });
    const report = await checker.report();
    expect(report.checks['db']).toMatchObject({ status: 'unhealthy', message: 'connection refused', critical: true });
    expect(report.checks['api']).toMatchObject({ status: 'unhealthy', message: 'ECONNRESET' });
    expect(report.checks['ok']).toMatchObject({ status: 'degraded', message: 'slow', details: { n: 1 } });
    expect(report.checks['ok']!.latencyMs).toBeGreaterThanOrEqual(0);
    expect(report.status).toBe('unhealthy');
  });

  test('a hanging check times out as unhealthy ("timed out after 5s" by default) and its signal is aborted', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    let signal: AbortSignal | undefined;
    const checker = createHealthChecker({
      checks: [
        {
          name: 'hangs',
          check: ({ signal: s }) => {
            signal = s;
            return new Promise<HealthCheckOutcome>(() => {});
          },
        },
      ],
    });
    const pending = checker.report();
    await vi.advanceTimersByTimeAsync(5_000);
    const report = await pending;
    expect(report.checks['hangs']).toMatchObject({
      status: 'unhealthy',
      message: 'timed out after 5s',
      latencyMs: 5000,
    });
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toMatchObject({ code: 'OBS_ERR_HEALTH_CHECK_TIMEOUT' });
  });

  test('per-check timeouts override the checker default', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const checker = createHealthChecker({
      timeout: '10s',
      checks: [{ name: 'quick', timeout: '250ms', check: () => new Promise<HealthCheckOutcome>(() => {}) }],
    });
    const pending = checker.report();
    await vi.advanceTimersByTimeAsync(250);
    expect((await pending).checks['quick']!.message).toBe('timed out after 250ms');
  });

  test('checks run concurrently', async () => {
    // Each check waits until both have started: run one after the other, they would time out instead.
    let started = 0;
    let release: () => void = () => {};
    const both = new Promise<void>((resolve) => {
      release = resolve;
    });
    const waiter = (name: string): HealthCheck => ({
      name,
      timeout: '10s',
      check: async () => {
        started++;
        if (started === 2) release();
        await both;
        return { status: 'healthy' };
      },
    });
    const checker = createHealthChecker({ checks: [waiter('a'), waiter('b')] });
    const report = await checker.report();
    expect(report.status).toBe('healthy');
  });

  test('results are cached; refresh runs again; concurrent runs of a check are shared', async () => {
    let calls = 0;
    const checker = createHealthChecker({
      checks: [{ name: 'counted', check: async () => ({ status: 'healthy', details: { call: ++calls } }) }],
    });
    await checker.report();
    await checker.report();
    expect(calls).toBe(1);
    const [a, b] = await Promise.all([checker.refresh(), checker.refresh()]);
    expect(calls).toBe(2);
    expect(a.checks['counted']!.details).toEqual({ call: 2 });
    expect(b).toBe(a);
    expect(checker.snapshot()).toBe(a);
  });

  test('a check that ignores its signal is not started again until it settles', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let calls = 0;
    let settle: (o: HealthCheckOutcome) => void = () => {};
    const checker = createHealthChecker({
      timeout: 100,
      checks: [
        {
          name: 'stuck',
          check: () => {
            calls++;
            return new Promise<HealthCheckOutcome>((resolve) => {
              settle = resolve;
            });
          },
        },
      ],
    });
    const first = checker.refresh();
    await vi.advanceTimersByTimeAsync(100);
    await first;
    await checker.refresh();
    expect(calls).toBe(1);
    settle({ status: 'healthy' });
    await vi.advanceTimersByTimeAsync(0);
    const fresh = checker.refresh();
    await tick();
    expect(calls).toBe(2);
    settle({ status: 'healthy' });
    expect((await fresh).checks['stuck']!.status).toBe('healthy');
  });

  test('an invalid result is unhealthy and reported as OBS_ERR_HEALTH_CHECK_RESULT', async () => {
    const errors: Error[] = [];
    const checker = createHealthChecker({
      onError: (e) => errors.push(e),
      checks: [
        { name: 'garbage', check: () => 'fine' as unknown as HealthCheckOutcome },
        { name: 'bigint', check: () => ({ status: 'healthy', details: { n: 1n } }) },
        { name: 'word', check: () => ({ status: 'ok' as 'healthy' }) },
      ],
    });
    const report = await checker.report();
    for (const name of ['garbage', 'bigint', 'word']) expect(report.checks[name]!.status).toBe('unhealthy');
    expect(errors.map((e) => (e as ObsError).code)).toEqual([
      'OBS_ERR_HEALTH_CHECK_RESULT',
      'OBS_ERR_HEALTH_CHECK_RESULT',
      'OBS_ERR_HEALTH_CHECK_RESULT',
    ]);
  });

  test('the background refresh runs every interval, and stop ends it and aborts running checks', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    let calls = 0;
    let lastSignal: AbortSignal | undefined;
    const checker = createHealthChecker({
      interval: '30s',
      checks: [
        {
          name: 'ticks',
          check: ({ signal }) => {
            calls++;
            lastSignal = signal;
            return calls === 3 ? new Promise<HealthCheckOutcome>(() => {}) : { status: 'healthy' };
          },
        },
      ],
    });
    checker.start();
    expect(checker.running).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(calls).toBe(3);
    await checker.stop();
    expect(lastSignal?.aborted).toBe(true);
    expect(lastSignal?.reason).toMatchObject({ code: 'OBS_ERR_HEALTH_STOPPED' });
    await vi.advanceTimersByTimeAsync(120_000);
    expect(calls).toBe(3);
    expect(checker.running).toBe(false);
    await checker.stop();
  });

  test('a check registered on a started checker runs at once', async () => {
    const checker = createHealthChecker();
    checker.start();
    let ran = false;
    checker.register({
      name: 'late',
      check: () => {
        ran = true;
        return { status: 'healthy' };
      },
    });
    await tick();
    expect(ran).toBe(true);
    await checker.stop();
  });
});

describe('overall status', () => {
  const input = (critical: boolean, status: 'healthy' | 'degraded' | 'unhealthy') => ({ name: 'x', critical, status });

  test('the default rule', () => {
    expect(overallStatus([])).toBe('healthy');
    expect(overallStatus([input(true, 'healthy'), input(false, 'healthy')])).toBe('healthy');
    expect(overallStatus([input(true, 'degraded')])).toBe('degraded');
    expect(overallStatus([input(false, 'degraded')])).toBe('degraded');
    expect(overallStatus([input(false, 'unhealthy')])).toBe('degraded');
    expect(overallStatus([input(true, 'unhealthy'), input(false, 'degraded')])).toBe('unhealthy');
    expect(defaultStatusRule).toEqual({
      criticalUnhealthy: 'unhealthy',
      nonCriticalUnhealthy: 'degraded',
      degraded: 'degraded',
    });
  });

  test('checks are critical unless they say otherwise', async () => {
    const failing = { check: () => ({ status: 'unhealthy' as const }) };
    const a = createHealthChecker({ checks: [{ name: 'x', ...failing }] });
    expect((await a.report()).status).toBe('unhealthy');
    const b = createHealthChecker({ checks: [{ name: 'x', critical: false, ...failing }] });
    expect((await b.report()).status).toBe('degraded');
  });

  test('the rule is configurable: partial rule or a function', async () => {
    const checks: HealthCheck[] = [
      { name: 'cache', critical: false, check: () => ({ status: 'unhealthy' }) },
      { name: 'disk', critical: false, check: () => ({ status: 'degraded' }) },
    ];
    const strict = createHealthChecker({ checks, rule: { nonCriticalUnhealthy: 'unhealthy' } });
    expect((await strict.report()).status).toBe('unhealthy');
    const lenient = createHealthChecker({ checks, rule: { nonCriticalUnhealthy: 'healthy', degraded: 'healthy' } });
    expect((await lenient.report()).status).toBe('healthy');
    const custom = createHealthChecker({
      checks,
      rule: (all) => (all.filter((c) => c.status !== 'healthy').length >= 2 ? 'unhealthy' : 'healthy'),
    });
    expect((await custom.report()).status).toBe('unhealthy');
  });

  test('a throwing rule falls back to the default and is reported', async () => {
    const errors: Error[] = [];
    const checker = createHealthChecker({
      onError: (e) => errors.push(e),
      checks: [{ name: 'x', critical: false, check: () => ({ status: 'unhealthy' }) }],
      rule: () => {
        throw new Error('bad rule');
      },
    });
    expect((await checker.report()).status).toBe('degraded');
    expect(errors).toHaveLength(1);
  });
});

describe('health:changed', () => {
  test('is emitted when a check or the overall status changes, not on every run', async () => {
    const bus = createEventBus();
    const events: ObsEvents['health:changed'][] = [];
    bus.on('health:changed', (e) => void events.push(e));
    let status: HealthCheckOutcome['status'] = 'healthy';
    const checker = createHealthChecker({
      bus,
      checks: [
        { name: 'db', check: () => ({ status }) },
        { name: 'cache', critical: false, check: () => ({ status: 'healthy' }) },
      ],
    });
    await checker.report();
    await checker.refresh();
    status = 'unhealthy';
    await checker.refresh();
    status = 'unhealthy';
    await checker.refresh();
    const seen = events.map((e) => `${e.check}:${e.previous ?? '-'}>${e.current}`);
    expect(seen).toEqual([
      'db:->healthy',
      'cache:->healthy',
      'overall:->healthy',
      'db:healthy>unhealthy',
      'overall:healthy>unhealthy',
    ]);
    const overall = events.at(-1)!;
    expect(overall.result).toMatchObject({ status: 'unhealthy', message: 'db unhealthy' });
    expect(events[3]!.result.latencyMs).toBeGreaterThanOrEqual(0);
  });

  test('unregistering the failing check brings the overall status back', async () => {
    const bus = createEventBus();
    const overall: string[] = [];
    bus.on('health:changed', (e) => {
      if (e.check === 'overall') overall.push(e.current);
    });
    const checker = createHealthChecker({
      bus,
      checks: [healthy('a'), { name: 'b', check: () => ({ status: 'unhealthy' }) }],
    });
    await checker.report();
    checker.unregister('b');
    expect(overall).toEqual(['unhealthy', 'healthy']);
  });
});
