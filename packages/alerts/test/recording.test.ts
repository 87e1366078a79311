// Issue #14: recording rules and rule groups (order, interval, limit, query_offset), as Prometheus evaluates them.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObsEvents } from '@obs/core';
import { createMonitor, ObsError, silentLogger } from '@obs/core';
import { createSampleStore, instantQuery, type SampleStore } from '@obs/promql';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { alertsPlugin, createAlertEngine, exportPrometheusRules, parseRuleGroups } from '../src/index.ts';

const m = (n: number): number => n * 60_000;

function thrown(f: () => unknown): ObsError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ObsError);
    return err as ObsError;
  }
  throw new Error('did not throw');
}

function series(store: SampleStore, name: string, maxT = m(100)) {
  return [...store.select([{ name: '__name__', op: '=', value: name }], -1, maxT)].map((s) => ({
    labels: { ...s.labels },
    t: s.t,
    v: s.v,
    stale: s.stale,
  }));
}

const RULES = `groups:
  - name: g
    rules:
      - record: job:x:sum
        expr: sum by (job) (x)
        labels: {source: rec, instance: ""}
      - record: job:x:double
        expr: job:x:sum * 2
      - alert: Big
        expr: job:x:double > 10
`;

describe('recording rules', () => {
  test('written at the evaluation time under the new name with the rule labels, seen by later rules at once', () => {
    const store = createSampleStore({ retentionMs: m(60) });
    store.append({ __name__: 'x', job: 'a', instance: '1' }, 0, 3);
    store.append({ __name__: 'x', job: 'a', instance: '2' }, 0, 4);
    const engine = createAlertEngine({ groups: parseRuleGroups(RULES, 'r.yml'), source: store });
    const alerts = engine.evaluate(m(1));
    expect(series(store, 'job:x:sum')).toEqual([
      { labels: { __name__: 'job:x:sum', job: 'a', source: 'rec' }, t: [m(1)], v: [7], stale: undefined },
    ]);
    expect(series(store, 'job:x:double')[0]).toMatchObject({ labels: { job: 'a', source: 'rec' }, v: [14] });
    // The alert saw the series recorded by the rules before it, in the same evaluation.
    expect(alerts.map((a) => [a.rule, a.state, a.value])).toEqual([['Big', 'firing', 14]]);
  });

  test('a rule over native histograms records histograms, which later rules read as such', () => {
    const store = createSampleStore({ retentionMs: m(60) });
    // Two series of one native histogram (schema 0): each minute one observation in (1, 2] and one in (2, 4].
    for (const job of ['a', 'b'])
      for (let i = 0; i <= 5; i++)
        store.appendHistogram!({ __name__: 'latency', job }, m(i), {
          schema: 0,
          zeroThreshold: 0,
          zeroCount: 0,
          count: 2 * i,
          sum: 4.5 * i,
          positiveSpans: [{ offset: 1, length: 2 }],
          positiveBuckets: [i, i],
          negativeSpans: [],
          negativeBuckets: [],
          customValues: [],
          counterResetHint: 'unknown',
        });
    const groups = parseRuleGroups(`groups:
  - name: g
    rules:
      - record: latency:rate2m
        expr: sum(rate(latency[2m]))
      - record: latency:rate2m:count
        expr: histogram_count(latency:rate2m)
`);
    const engine = createAlertEngine({ groups, source: store });
    engine.evaluate(m(5));
    const { value } = instantQuery(store, 'latency:rate2m', m(5));
    expect(value.type).toBe('vector');
    const [sample] = value.type === 'vector' ? value.samples : [];
    // Two series, each 2 observations a minute: 4 a minute, 1/15 a second; the buckets keep their shape.
    expect(sample!.histogram).toMatchObject({ schema: 0, positiveSpans: [{ offset: 1, length: 2 }] });
    expect(sample!.histogram!.count).toBeCloseTo(4 / 60, 12);
    expect(sample!.histogram!.positiveBuckets.map((b) => b * 60)).toEqual([
      expect.closeTo(2, 12),
      expect.closeTo(2, 12),
    ]);
    expect(series(store, 'latency:rate2m:count')[0]!.v).toEqual([expect.closeTo(4 / 60, 12)]);
  });

  test('a result series that disappears is stale at the next evaluation', () => {
    const store = createSampleStore({ retentionMs: m(60) });
    store.append({ __name__: 'x', job: 'a' }, 0, 1);
    store.append({ __name__: 'x', job: 'b' }, 0, 1);
    store.markStale({ __name__: 'x', job: 'b' }, m(1) + 1);
    const engine = createAlertEngine({ groups: parseRuleGroups(RULES, 'r.yml'), source: store });
    engine.evaluate(m(1));
    engine.evaluate(m(2));
    const b = series(store, 'job:x:sum').find((s) => s.labels.job === 'b')!;
    expect(b.t).toEqual([m(1), m(2)]);
    expect(b.stale).toEqual([0, 1]);
    // An instant query no longer sees it; the other one goes on.
    expect(series(store, 'job:x:sum').find((s) => s.labels.job === 'a')!.t).toEqual([m(1), m(2)]);
  });

  test('limit: a recording rule over its limit fails with Prometheus error and writes nothing', () => {
    const store = createSampleStore({ retentionMs: m(60) });
    store.append({ __name__: 'x', job: 'a' }, 0, 1);
    store.append({ __name__: 'x', job: 'b' }, 0, 20);
    const errors: string[] = [];
    const engine = createAlertEngine({
      groups: parseRuleGroups(RULES.replace('  - name: g\n', '  - name: g\n    limit: 1\n'), 'r.yml'),
      source: store,
      onError: (e) => errors.push(e.message),
    });
    engine.evaluate(m(1));
    expect(errors[0]).toMatch(/job:x:sum.*exceeded limit of 1 with 2 series/);
    expect(series(store, 'job:x:sum')).toEqual([]);
  });

  test('limit: an alerting rule with more alerts than its limit fails and drops its alerts', () => {
    const store = createSampleStore({ retentionMs: m(60) });
    store.append({ __name__: 'y', job: 'a' }, 0, 1);
    store.append({ __name__: 'y', job: 'b' }, 0, 1);
    const errors: string[] = [];
    const engine = createAlertEngine({
      groups: parseRuleGroups(
        'groups:\n  - name: g\n    limit: 1\n    rules:\n      - alert: Y\n        expr: y > 0\n',
      ),
      source: store,
      onError: (e) => errors.push(e.message),
    });
    expect(engine.evaluate(m(1))).toEqual([]);
    expect(errors[0]).toMatch(/exceeded limit of 1 with 2 alerts/);
  });

  test('query_offset: rules query and write that far in the past', () => {
    const store = createSampleStore({ retentionMs: m(60) });
    store.append({ __name__: 'x', job: 'a' }, 0, 1);
    store.append({ __name__: 'x', job: 'a' }, m(2), 5);
    const engine = createAlertEngine({
      groups: parseRuleGroups(
        'groups:\n  - name: g\n    query_offset: 1m\n    rules:\n      - record: r\n        expr: sum(x)\n',
      ),
      source: store,
    });
    engine.evaluate(m(2) + 1000);
    expect(series(store, 'r')).toMatchObject([{ t: [m(1) + 1000], v: [1] }]);
  });

  test('name validity and label conflicts are load errors naming the file, line and rule', () => {
    const bad = (rule: string): ObsError =>
      thrown(() => parseRuleGroups(`groups:\n  - name: g\n    rules:\n${rule}`, 'r.yml'));
    let e = bad('      - record: "job x"\n        expr: up\n');
    expect(e.code).toBe('OBS_ERR_ALERTS_RULE_INVALID');
    expect(e.message).toMatch(/r\.yml:5: recording rule "job x": invalid recording rule name: job x/);
    e = bad('      - record: ok\n        expr: up\n        labels: {__name__: other}\n');
    expect(e.message).toMatch(/r\.yml:5: recording rule "ok": invalid label name: __name__/);
    e = bad('      - record: ok\n        expr: up\n        labels: {"a-b": x}\n');
    expect(e.message).toMatch(/invalid label name: a-b/);
    e = bad('      - record: ok\n        alert: ok\n        expr: up\n');
    expect(e.message).toMatch(/r\.yml:4: only one of 'record' and 'alert' must be set/);
    e = bad('      - record: ok\n        expr: up\n        for: 5m\n');
    expect(e.message).toMatch(/r\.yml:4: recording rule "ok": invalid field 'for' in recording rule/);
    e = bad('      - record: ok\n        expr: sum(up[5m])\n');
    expect(e.code).toBe('OBS_ERR_ALERTS_PARSE');
    expect(e.message).toMatch(/r\.yml:5: recording rule "ok": .*line 1, column/);
    e = bad('      - record: ok\n        expr: up\n        lables: {}\n');
    expect(e.message).toMatch(/r\.yml:6: field lables not found/);
    e = thrown(() => parseRuleGroups('groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n', 'r.yml'));
    expect(e.message).toMatch(/r\.yml:4: groupname: "g" is repeated in the same file/);
  });

  test('the exported Prometheus rule file keeps groups, their options and recording rules', () => {
    const text = `groups:\n  - name: g\n    interval: 30s\n    limit: 5\n    rules:\n      - record: a:b\n        expr: sum(x)\n        labels: {k: v}\n      - alert: A\n        expr: a:b > 1\n        for: 1m\n`;
    const out = exportPrometheusRules(parseRuleGroups(text, 'r.yml'));
    expect(parseRuleGroups(out, 'out.yml')).toMatchObject([
      {
        name: 'g',
        intervalMs: 30_000,
        limit: 5,
        rules: [
          { record: 'a:b', labels: { k: 'v' } },
          { name: 'A', forMs: 60_000 },
        ],
      },
    ]);
  });
});

describe('rule groups in the plugin', () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  test('each group evaluates on its own interval, independently', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(0);
    const dir = mkdtempSync(join(tmpdir(), 'obs-alerts-groups-'));
    const file = join(dir, 'rules.yml');
    writeFileSync(
      file,
      `groups:
  - name: fast
    interval: 5s
    rules:
      - record: fast:x
        expr: sum(x)
  - name: slow
    rules:
      - record: slow:x
        expr: sum(x)
      - alert: FromRecorded
        expr: fast:x > 1
`,
    );
    const plugin = alertsPlugin({ rulesFile: file, notifications: false });
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
      monitor.bus.emit('metrics:collected', { at: Date.now(), samples: [{ name: 'x', labels: {}, value: 2 }] });
      await vi.advanceTimersByTimeAsync(30_000);
      const store = plugin.engine.store!;
      expect(series(store, 'fast:x')[0]?.t).toEqual([5_000, 10_000, 15_000, 20_000, 25_000, 30_000]);
      expect(series(store, 'slow:x')[0]?.t).toEqual([15_000, 30_000]);
      expect(changes.map((c) => [c.rule, c.state])).toEqual([['FromRecorded', 'firing']]);
    } finally {
      await monitor.stop();
    }
  });
});

describe('one alert name on several rules (issue #14)', () => {
  test('loads and evaluates each rule on its own, as Prometheus does (a warning and a critical tier)', () => {
    const groups = parseRuleGroups(
      `groups:
  - name: warn
    rules:
      - alert: QueueLong
        expr: queue_length > 10
        labels: {severity: warning}
  - name: crit
    rules:
      - alert: QueueLong
        expr: queue_length > 100
        labels: {severity: critical}
`,
      'tiers.yml',
    );
    const store = createSampleStore({ retentionMs: m(60) });
    store.append({ __name__: 'queue_length' }, 0, 50);
    const engine = createAlertEngine({ groups, source: store });
    const firing = engine.evaluate(m(1)).filter((a) => a.state === 'firing');
    expect(firing.map((a) => a.labels)).toEqual([{ alertname: 'QueueLong', severity: 'warning' }]);
    store.append({ __name__: 'queue_length' }, m(2), 500);
    const both = engine.evaluate(m(2)).filter((a) => a.state === 'firing');
    expect(both.map((a) => a.labels.severity).sort()).toEqual(['critical', 'warning']);
  });
});
