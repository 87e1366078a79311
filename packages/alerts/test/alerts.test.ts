import type { ObsEvents } from '@obs/core';
import { createMonitor, ObsConfigError, silentLogger } from '@obs/core';
import { createSampleStore } from '@obs/promql';
import { testPluginContract } from '@obs/testing';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { type Alert, alertsPlugin, createAlertEngine } from '../src/index.ts';
import { load } from './load.ts';

const m = (n: number): number => n * 60_000;

describe('alert states', () => {
  const store = load(`
    load 1m
      errors{job="a"} 1 1 1 1 _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _
      flap{job="b"} 1 stale 1 1 1 1 stale
  `);
  test('inactive → pending → firing → resolved, with for, emitting every change', () => {
    const changes: Alert[] = [];
    const engine = createAlertEngine({
      rules: [{ name: 'E', expr: 'errors > 0', for: '2m', labels: { team: 'core' } }],
      source: store,
      onChange: (a) => changes.push(a),
    });
    engine.evaluate(0);
    engine.evaluate(m(1));
    engine.evaluate(m(2));
    engine.evaluate(m(3));
    // The last sample is at 3m: with a 5m lookback the series is gone at 8m.
    engine.evaluate(m(7));
    engine.evaluate(m(8));
    expect(changes.map((c) => [c.state, c.activeAt, c.firedAt, c.resolvedAt])).toEqual([
      ['pending', 0, undefined, undefined],
      ['firing', 0, m(2), undefined],
      ['inactive', 0, m(2), m(8)],
    ]);
    expect(changes[0]?.labels).toEqual({ job: 'a', team: 'core', alertname: 'E' });
  });
  test('a pending alert that disappears is dropped, and keep_firing_for holds a firing one', () => {
    const changes: string[] = [];
    const engine = createAlertEngine({
      rules: [
        { name: 'P', expr: 'flap > 0', for: '3m' },
        { name: 'K', expr: 'flap > 0', keepFiringFor: '2m' },
      ],
      source: store,
      onChange: (a) => changes.push(`${a.rule}:${a.state}`),
    });
    for (let i = 0; i <= 9; i++) engine.evaluate(m(i));
    // P: pending at 0, dropped by the stale marker at 1m, pending again at 2m, firing at 5m (for 3m).
    // K: fires at 0 and is held through the stale marker at 1m; after the last one at 6m it holds 2m more.
    expect(changes).toEqual([
      'P:pending',
      'K:firing',
      'P:inactive',
      'P:pending',
      'P:firing',
      'P:inactive',
      'K:inactive',
    ]);
  });
  test('an evaluation failure is reported and does not stop the other rules', () => {
    const errors: string[] = [];
    const s = createSampleStore();
    s.append({ __name__: 'x', a: '1' }, 0, 1);
    s.append({ __name__: 'x', a: '2' }, 0, 1);
    s.append({ __name__: 'y' }, 0, 1);
    const engine = createAlertEngine({
      rules: [
        { name: 'Bad', expr: 'x * on() y + on() x' },
        { name: 'Good', expr: 'y > 0' },
      ],
      source: s,
      onError: (e) => errors.push(e.code),
    });
    expect(engine.evaluate(1000).map((a) => a.rule)).toEqual(['Good']);
    expect(errors).toEqual(['OBS_ERR_ALERTS_EVAL']);
  });
});

describe('sample store', () => {
  test('keeps only the retention, marks vanished series stale, and reports memory per series', () => {
    const s = createSampleStore({ retentionMs: m(5) });
    for (let i = 0; i <= 20; i++)
      s.ingest(
        m(i),
        i < 20
          ? [
              { name: 'a', labels: { k: 'v' }, value: i },
              { name: 'b', labels: {}, value: 1 },
            ]
          : [{ name: 'b', labels: {}, value: 1 }],
      );
    const [a] = [...s.select([{ name: '__name__', op: '=', value: 'a' }], -1, m(30))];
    expect(a?.t.length).toBeLessThanOrEqual(6);
    expect(a?.stale?.[a.t.length - 1]).toBe(1);
    const stats = s.stats();
    expect(stats.series).toBe(2);
    expect(stats.bytesPerSeries).toBeGreaterThan(0);
    expect(stats.bytesPerSeries).toBeLessThanOrEqual(16 * 17);
  });
});

describe('alertsPlugin', () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  testPluginContract(() => alertsPlugin());

  test('evaluates on the interval over metrics:collected and emits alert:changed', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(0);
    const plugin = alertsPlugin({ rules: [{ name: 'Cache', expr: 'trakt_cache_hit_ratio < 0.5', for: '30s' }] });
    const monitor = createMonitor({
      config: { metrics_port: 0, health_port: 0, host: '127.0.0.1', alerts: { evaluation_interval: '15s' } },
      plugins: [plugin],
      logger: silentLogger,
    });
    const changes: ObsEvents['alert:changed'][] = [];
    monitor.bus.on('alert:changed', (e) => {
      changes.push(e);
    });
    await monitor.start();
    try {
      for (let i = 0; i < 5; i++) {
        monitor.bus.emit('metrics:collected', {
          at: Date.now(),
          samples: [{ name: 'trakt_cache_hit_ratio', labels: {}, value: 0.2 }],
        });
        await vi.advanceTimersByTimeAsync(15_000);
      }
      expect(changes.map((c) => c.state)).toEqual(['pending', 'firing']);
      expect(changes[1]).toMatchObject({ rule: 'Cache', labels: { alertname: 'Cache' }, value: 0.2, activeAt: 15_000 });
    } finally {
      await monitor.stop();
    }
  });

  test('provides alerts.rules and loads the seed rules by default', async () => {
    const monitor = createMonitor({
      config: { metrics_port: 0, health_port: 0, host: '127.0.0.1' },
      plugins: [alertsPlugin()],
      logger: silentLogger,
    });
    await monitor.start();
    try {
      expect(
        monitor
          .service('alerts.rules')()
          .map((r) => [r.name, r.threshold]),
      ).toEqual([
        ['API Error Rate High', 0.1],
        ['Cache Hit Ratio Low', 0.5],
        ['Export Failures', 0],
      ]);
    } finally {
      await monitor.stop();
    }
  });

  test("the shipped rules select the metrics really exposed: [monitoring.prometheus]'s namespace and subsystem (issue #13)", async () => {
    const exprs = async (prometheus: Record<string, string>) => {
      const monitor = createMonitor({
        config: { metrics_port: 0, health_port: 0, host: '127.0.0.1', prometheus },
        plugins: [alertsPlugin({ notifications: false })],
        logger: silentLogger,
      });
      await monitor.start();
      try {
        return monitor
          .service('alerts.rules')()
          .map((r) => r.expr)
          .join('\n');
      } finally {
        await monitor.stop();
      }
    };
    const neutral = await exprs({});
    expect(neutral).toContain('rate(api_requests_total{status=~"[45]..|0"}[5m])');
    expect(neutral).toContain('cache_hit_ratio < 0.5');
    expect(neutral).not.toContain('trakt');
    const seed = await exprs({ namespace: 'trakt', subsystem: 'exporter' });
    expect(seed).toContain('trakt_exporter_api_requests_total');
    expect(seed).toContain('trakt_exporter_export_operations_total{status="error"} offset 15m');
    expect(seed).not.toMatch(/trakt_(api|cache|export)_/);
  });
});

describe('alertsPlugin options', () => {
  test('bad options throw ObsConfigError listing every issue, before any monitor exists', () => {
    let thrown: unknown;
    try {
      alertsPlugin({ rules: [], rulesFile: '', remote: { url: 'ftp://x', timeoutMs: -1 } });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ObsConfigError);
    expect((thrown as ObsConfigError).code).toBe('OBS_ERR_CONFIG_INVALID');
    expect((thrown as ObsConfigError).issues.map((i) => i.path)).toEqual([
      'rulesFile',
      'rulesFile',
      'remote.url',
      'remote.timeoutMs',
    ]);
  });
  test('a bad rule in options throws at once with its code', () => {
    expect(() => alertsPlugin({ rules: [{ name: 'x', expr: 'info(x)' }] })).toThrow(
      expect.objectContaining({ code: 'OBS_ERR_ALERTS_UNSUPPORTED' }) as unknown as Error,
    );
  });
  test('a bad rules_file in the config fails the monitor start with its code', async () => {
    const monitor = createMonitor({
      config: { metrics_port: 0, health_port: 0, host: '127.0.0.1', alerts: { rules_file: '/nonexistent/rules.yml' } },
      plugins: [alertsPlugin()],
      logger: silentLogger,
    });
    await expect(monitor.start()).rejects.toMatchObject({ code: 'OBS_ERR_ALERTS_RULES_FILE' });
    await monitor.stop();
  });
});
