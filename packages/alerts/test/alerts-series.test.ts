// Issue #14: ALERTS and ALERTS_FOR_STATE in the store, `for` state kept across a restart, external labels.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObsEvents } from '@obs/core';
import { type ConfigInput, createMonitor, loadConfig, ObsConfigError, silentLogger, z } from '@obs/core';
import { createSampleStore, instantQuery, type SampleStore } from '@obs/promql';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { alertsSection } from '../src/config.ts';
import { alertsPlugin, createAlertEngine, type Notification, parseRuleGroups } from '../src/index.ts';
import { scriptedServer } from './fixtures/http.ts';

const m = (n: number): number => n * 60_000;

const sorted = (l: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(l).sort(([a], [b]) => (a < b ? -1 : 1)));

function valuesAt(store: SampleStore, query: string, at: number): Record<string, number> {
  const { value } = instantQuery(store, query, at);
  if (value.type !== 'vector') return {};
  return Object.fromEntries(value.samples.map((s) => [JSON.stringify(sorted(s.labels)), s.value]));
}

describe('ALERTS and ALERTS_FOR_STATE', () => {
  test('written each evaluation as Prometheus writes them, stale when the alert ends, readable by rules and ranges', () => {
    const store = createSampleStore({ retentionMs: m(60) });
    for (let i = 0; i <= 4; i++) store.append({ __name__: 'errors', job: 'a' }, m(i), 1);
    store.markStale({ __name__: 'errors', job: 'a' }, m(4) + 1);
    const groups = parseRuleGroups(`groups:
  - name: g
    rules:
      - alert: E
        expr: errors > 0
        for: 2m
        labels: {severity: warning}
      - record: firing:count
        expr: count(ALERTS{alertstate="firing"}) or vector(0)
      - record: e:pending:count10m
        expr: count_over_time(ALERTS{alertname="E",alertstate="pending"}[10m])
`);
    const engine = createAlertEngine({ groups, source: store });
    for (let i = 0; i <= 6; i++) engine.evaluate(m(i));
    const labels = { alertname: 'E', job: 'a', severity: 'warning' };
    // Pending at 0 and 1m, firing from 2m; at 5m the series is stale, so the alert ends.
    expect(valuesAt(store, 'ALERTS', m(1))).toEqual({
      [JSON.stringify(sorted({ __name__: 'ALERTS', ...labels, alertstate: 'pending' }))]: 1,
    });
    expect(valuesAt(store, 'ALERTS', m(3))).toEqual({
      [JSON.stringify(sorted({ __name__: 'ALERTS', ...labels, alertstate: 'firing' }))]: 1,
    });
    expect(valuesAt(store, 'ALERTS_FOR_STATE', m(3))).toEqual({
      [JSON.stringify(sorted({ __name__: 'ALERTS_FOR_STATE', ...labels }))]: 0,
    });
    // The pending series went stale when the alert fired, the firing one when it ended.
    expect(valuesAt(store, 'ALERTS', m(2))).toEqual({
      [JSON.stringify(sorted({ __name__: 'ALERTS', ...labels, alertstate: 'firing' }))]: 1,
    });
    expect(valuesAt(store, 'ALERTS', m(5))).toEqual({});
    expect(valuesAt(store, 'ALERTS_FOR_STATE', m(5))).toEqual({});
    // Rules of the same group read them, including over ranges.
    expect(valuesAt(store, 'firing:count', m(3))).toEqual({ [JSON.stringify({ __name__: 'firing:count' })]: 1 });
    expect(valuesAt(store, 'firing:count', m(5))).toEqual({ [JSON.stringify({ __name__: 'firing:count' })]: 0 });
    expect(Object.values(valuesAt(store, 'e:pending:count10m', m(4)))).toEqual([2]);
  });

  test('the ALERTS copy that @obs/metrics exposes does not collide with the engine', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(0);
    const plugin = alertsPlugin({ rules: [{ name: 'A', expr: 'x > 0' }], notifications: false });
    const monitor = createMonitor({
      config: { metrics_port: 0, health_port: 0, host: '127.0.0.1', alerts: { evaluation_interval: '15s' } },
      plugins: [plugin],
      logger: silentLogger,
    });
    await monitor.start();
    try {
      monitor.bus.emit('metrics:collected', {
        at: Date.now(),
        samples: [
          { name: 'x', labels: {}, value: 1 },
          { name: 'ALERTS', labels: { alertname: 'A', alertstate: 'firing' }, value: 1 },
        ],
      });
      await vi.advanceTimersByTimeAsync(15_000);
      const store = plugin.engine.store!;
      const [only] = [...store.select([{ name: '__name__', op: '=', value: 'ALERTS' }], -1, m(1))];
      expect(only?.t).toEqual([15_000]);
    } finally {
      await monitor.stop();
      vi.useRealTimers();
    }
  });
});

describe('for state across a restart (Prometheus RestoreForState)', () => {
  const rule = `groups:\n  - name: g\n    rules:\n      - alert: Slow\n        expr: x > 0\n        for: 20m\n`;
  const engineAt = (restoreAt: number) => {
    const store = createSampleStore({ retentionMs: m(120) });
    for (let t = 0; t <= m(60); t += m(1)) store.append({ __name__: 'x' }, t, 1);
    const engine = createAlertEngine({ groups: parseRuleGroups(rule), source: store, forGracePeriodMs: m(10) });
    void restoreAt;
    return engine;
  };
  test('a pending alert keeps its active-since, shifted by the downtime; the grace period holds it near its end', () => {
    const labels = { alertname: 'Slow' };
    // Pending since 0, last seen at 5m, back at 7m: 15m left, more than the grace: shifted by the 2m downtime.
    let e = engineAt(m(7));
    e.restoreForState([{ labels, state: 'pending', activeAt: 0, lastEvalAt: m(5) }]);
    expect(e.evaluate(m(7)).map((a) => [a.state, a.activeAt])).toEqual([['pending', m(2)]]);
    expect(e.evaluate(m(22)).map((a) => a.state)).toEqual(['firing']);
    // Last seen at 15m: 5m left, less than the 10m grace: fires 10m after the restart.
    e = engineAt(m(17));
    e.restoreForState([{ labels, state: 'pending', activeAt: 0, lastEvalAt: m(15) }]);
    expect(e.evaluate(m(17)).map((a) => [a.state, a.activeAt])).toEqual([['pending', m(7)]]);
    // Was firing: keeps its active-since and fires again at once.
    e = engineAt(m(30));
    e.restoreForState([{ labels, state: 'firing', activeAt: 0, lastEvalAt: m(25) }]);
    expect(e.evaluate(m(30)).map((a) => [a.state, a.activeAt])).toEqual([['firing', 0]]);
    // Beyond the outage tolerance (1h), the clock starts again.
    e = engineAt(m(30));
    e.restoreForState([{ labels, state: 'pending', activeAt: -m(100), lastEvalAt: -m(90) }]);
    expect(e.evaluate(m(30)).map((a) => [a.state, a.activeAt])).toEqual([['pending', m(30)]]);
  });

  afterEach(() => {
    vi.useRealTimers();
  });
  test('with a state_file, a restart does not reset a for: clock', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(0);
    const stateFile = join(mkdtempSync(join(tmpdir(), 'obs-alerts-for-')), 'state.json');
    const run = async (minutes: number): Promise<ObsEvents['alert:changed'][]> => {
      const changes: ObsEvents['alert:changed'][] = [];
      const monitor = createMonitor({
        config: {
          metrics_port: 0,
          health_port: 0,
          host: '127.0.0.1',
          alerts: { evaluation_interval: '1m', state_file: stateFile, for_grace_period: '5m' },
        },
        plugins: [
          alertsPlugin({ rules: [{ name: 'Slow', expr: 'x > 0', for: '20m' }], notifications: { log: false } }),
        ],
        logger: silentLogger,
      });
      monitor.bus.on('alert:changed', (e) => {
        changes.push(e);
      });
      await monitor.start();
      try {
        for (let i = 0; i < minutes; i++) {
          monitor.bus.emit('metrics:collected', { at: Date.now(), samples: [{ name: 'x', labels: {}, value: 1 }] });
          await vi.advanceTimersByTimeAsync(60_000);
        }
      } finally {
        await monitor.stop();
      }
      return changes;
    };
    const first = await run(8); // pending since 1m, last evaluated at 8m
    expect(first.map((c) => [c.state, c.activeAt])).toEqual([['pending', m(1)]]);
    vi.setSystemTime(m(10)); // first evaluation after the restart at 11m: 3m since the last one
    const second = await run(20);
    // Restored: active since 1m + 3m of downtime, so it fires at 24m, not 20m after the restart (31m).
    expect(second.map((c) => [c.state, c.activeAt])).toEqual([
      ['pending', m(4)],
      ['firing', m(4)],
    ]);
    expect(second.length).toBe(2);
  });
});

describe('external labels', () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  test('attached to notifications and to the Alertmanager hand-off, not to the stored series; $externalLabels in templates', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(0);
    const am = await scriptedServer();
    const sent: Notification[] = [];
    const channel = { name: 'capture', send: async (n: Notification) => void sent.push(n) };
    const config = {
      metrics_port: 0,
      health_port: 0,
      host: '127.0.0.1',
      alerts: {
        evaluation_interval: '15s',
        group_wait: '0s',
        external_labels: { env: 'prod', region: 'eu' },
        external_url: 'https://app.example.com',
      },
    };
    const rules = [
      {
        name: 'X',
        expr: 'x > 0',
        labels: { region: 'local' },
        annotations: { summary: '{{ $externalLabels.env }} {{ $externalURL }}' },
      },
    ];
    const direct = alertsPlugin({ rules, notifications: { log: false, http: false, channels: [channel] } });
    const handoff = alertsPlugin({
      rules,
      notifications: { log: false, http: false, alertmanager: { url: am.url.href } },
    });
    try {
      for (const plugin of [direct, handoff]) {
        const monitor = createMonitor({ config, plugins: [plugin], logger: silentLogger });
        await monitor.start();
        try {
          monitor.bus.emit('metrics:collected', { at: Date.now(), samples: [{ name: 'x', labels: {}, value: 1 }] });
          await vi.advanceTimersByTimeAsync(15_000);
          const got = plugin === direct ? sent : am.delivered;
          await vi.waitFor(() => expect(got.length).toBeGreaterThan(0), { timeout: 5000 });
          // Not in the store: a query for env finds nothing.
          expect(valuesAt(plugin.engine.store!, 'ALERTS{env="prod"}', Date.now())).toEqual({});
          expect(Object.keys(valuesAt(plugin.engine.store!, 'ALERTS', Date.now()))).toHaveLength(1);
        } finally {
          await monitor.stop();
        }
      }
      const expected = { alertname: 'X', env: 'prod', region: 'local' };
      expect(sent[0]?.alerts[0]?.labels).toEqual(expected);
      expect(sent[0]?.alerts[0]?.annotations).toEqual({ summary: 'prod https://app.example.com' });
      const posted = (am.delivered[0] as { labels: Record<string, string> }[])[0];
      expect(posted?.labels).toEqual(expected);
    } finally {
      await am.close();
    }
  });
});

describe('external_labels in the config', () => {
  test('a table of label names to non-empty values; anything else names the key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'obs-alerts-ext-'));
    const file = join(dir, 'app.toml');
    writeFileSync(file, '[monitoring.alerts]\nexternal_labels = { env = "prod", "bad-name" = "x", empty = "" }\n');
    let thrown: unknown;
    try {
      loadConfig({ file, env: {}, plugins: [alertsPlugin()] });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ObsConfigError);
    expect((thrown as ObsConfigError).message).toMatch(/alerts\.external_labels/);
    writeFileSync(file, '[monitoring.alerts]\nexternal_labels = { env = "prod" }\n');
    expect(loadConfig({ file, env: {}, plugins: [alertsPlugin()] }).alerts.external_labels).toEqual({ env: 'prod' });
  });

  test("[monitoring.prometheus] external_labels (remote write's) apply to alerts too; the alerts' own win (issue #21)", () => {
    // What @obs/metrics declares in [monitoring.prometheus], reduced to this key.
    const prometheus = {
      name: 'prometheus',
      schema: z.object({ external_labels: z.record(z.string(), z.string()).default({}) }),
    };
    const config = loadConfig({
      env: {},
      overrides: {
        prometheus: { external_labels: { cluster: 'eu-1', env: 'staging' } },
        alerts: { external_labels: { env: 'prod' } },
      } as ConfigInput,
      plugins: [alertsPlugin()],
      sections: [prometheus],
    });
    expect(alertsSection(config).external_labels).toEqual({ cluster: 'eu-1', env: 'prod' });
  });
});
