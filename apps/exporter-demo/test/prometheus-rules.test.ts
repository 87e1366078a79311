// Issue #14, proof against the real thing: the real Prometheus (Debian, 2.42) scrapes the demo and loads the rule
// file `obs-alerts export` writes, with a recording rule feeding the seed's "API Error Rate High"; the demo
// evaluates the same file in-process. Under --api-outage both fire the alert and resolve it, and their
// active-since times differ by at most one evaluation interval plus one scrape interval.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { exportPrometheusRules, parseRuleGroups } from '@obs/alerts';
import { debianTool, freePort, startPrometheus, waitUntil } from '@obs/testing';
import { describe, expect, test } from 'vitest';
import { parse, stringify } from 'yaml';
import { SEED_ENV } from './seed-env.ts';

const bin = join(import.meta.dirname, '../dist/main.js');
const alertsDir = dirname(createRequire(import.meta.url).resolve('@obs/alerts/package.json'));
const prometheus = debianTool('prometheus');
const promtool = debianTool('promtool');
const dir = mkdtempSync(join(tmpdir(), 'demo-prometheus-rules-'));
const ALERT = 'API Error Rate High';
// Scaled down so the test takes seconds: the rule's 5m window becomes 10s, its `for` 2s; both sides scrape (or
// collect) and evaluate every second.
const INTERVAL_MS = 1000;

interface PromAlert {
  labels: Record<string, string>;
  state: string;
  activeAt: string;
}

/** The seed's rule split in two: a recording rule for its rate, and the alert reading the recorded series. */
function rulesFile(): string {
  const seed = parse(readFileSync(join(alertsDir, 'rules/seed.yml'), 'utf8')) as {
    alerts: { name: string; condition: string; severity: string; annotations?: Record<string, string> }[];
  };
  const rule = seed.alerts.find((r) => r.name === ALERT)!;
  const [rate, threshold] = rule.condition.split(' > ') as [string, string];
  expect(rate).toContain('[5m]');
  const source = stringify({
    groups: [
      {
        name: 'api',
        rules: [
          { record: 'endpoint:trakt_api_errors:rate10s', expr: rate.replace('[5m]', '[10s]') },
          {
            alert: ALERT,
            expr: `endpoint:trakt_api_errors:rate10s > ${threshold}`,
            for: '2s',
            labels: { severity: rule.severity },
            annotations: { summary: '{{ $labels.endpoint }}: {{ $value | humanize }} errors/s' },
          },
        ],
      },
      // A constant alert: its value, labels and annotations are the same on both sides, so they compare whole.
      {
        name: 'constant',
        rules: [
          {
            alert: 'Constant',
            expr: 'vector(0.5) * 3',
            labels: { severity: 'info' },
            annotations: { summary: 'value {{ $value }}, {{ $value | humanize }}' },
          },
        ],
      },
    ],
  });
  // What `obs-alerts export` writes from it: the file both engines load.
  const exported = join(dir, 'exported.rules.yml');
  writeFileSync(exported, exportPrometheusRules(parseRuleGroups(source, 'source.yml')));
  return exported;
}

/** The JSON's shape: object keys in order, the first element of arrays, and the type of everything else. */
function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? [] : [shapeOf(value[0])];
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shapeOf(v)]));
  return typeof value;
}

/** An /api/v1/alerts answer with its alerts in alert-name order (the keys stay in their order). */
function alertsByName(answer: unknown): unknown {
  const a = answer as { data: { alerts: PromAlert[] } };
  const alerts = [...a.data.alerts].sort((x, y) =>
    compareText(x.labels['alertname'] ?? '', y.labels['alertname'] ?? ''),
  );
  return { ...a, data: { ...a.data, alerts } };
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

interface RulesAnswer {
  data: { groups: { name: string; file: string; interval: number; limit: number; rules: Record<string, unknown>[] }[] };
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  return (await res.json()) as T;
}

/** The time of the first log line of the demo saying `alert "…" is <state>`, per endpoint. */
function logTimes(log: string, state: string): Map<string, number> {
  const out = new Map<string, number>();
  const re = new RegExp(`^(\\S+) (?:WARN|INFO) +exporter-demo: alert "${ALERT}" is ${state} (\\{.*\\})$`, 'gm');
  for (const m of log.matchAll(re)) {
    const { labels } = JSON.parse(m[2]!) as { labels: Record<string, string> };
    const endpoint = labels['endpoint'] ?? '';
    if (!out.has(endpoint)) out.set(endpoint, Date.parse(m[1]!));
  }
  return out;
}

describe.skipIf(prometheus === undefined)('the real Prometheus and the embedded engine on the same rule file', () => {
  test('both fire "API Error Rate High" under --api-outage and resolve it, active since within 2 intervals', async () => {
    const rules = rulesFile();
    const exportedText = readFileSync(rules, 'utf8');
    expect(exportedText).toContain('record: endpoint:trakt_api_errors:rate10s');
    if (promtool !== undefined) {
      const check = spawn(promtool, ['check', 'rules', rules], { stdio: 'ignore' });
      expect(await new Promise((r) => check.once('exit', r))).toBe(0);
    }
    const [metricsPort, healthPort] = [await freePort(), await freePort()];
    // Prometheus first, so that it scrapes the demo from its first second, as the embedded engine sees it.
    await using server = await startPrometheus(prometheus!, {
      dir,
      config: stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: [rules],
        scrape_configs: [{ job_name: 'exporter-demo', static_configs: [{ targets: [`127.0.0.1:${metricsPort}`] }] }],
      }),
    });
    const promUrl = server.url;
    // Prometheus hands new targets to its scrape loops only every 5s: wait until it has tried the demo's port once,
    // so that the comparison measures the engines, not Prometheus' start-up.
    await waitUntil(
      async () => {
        const res = await fetch(`${promUrl}/api/v1/targets`);
        const { activeTargets } = ((await res.json()) as { data: { activeTargets: { lastScrape: string }[] } }).data;
        return activeTargets.some((t) => !t.lastScrape.startsWith('0001'));
      },
      { what: "Prometheus' first scrape of the demo", timeoutMs: 15_000, intervalMs: 100 },
    ).catch(() => {}); // the comparison below says what went wrong
    const config = join(dir, 'demo.toml');
    writeFileSync(
      config,
      `[monitoring]\nmetrics_port = ${metricsPort}\nhealth_port = ${healthPort}\nhost = "127.0.0.1"\n`,
    );
    const demo = spawn(
      process.execPath,
      [bin, '--config', config, '--export-dir', join(dir, 'out'), '--api-outage', '8s', '--interval', '500ms'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: {
          ...process.env,
          ...SEED_ENV,
          MONITORING_PROMETHEUS_COLLECT_INTERVAL: '1s',
          MONITORING_ALERTS_EVALUATION_INTERVAL: '1s',
          MONITORING_ALERTS_RULES_FILE: rules,
        },
      },
    );
    let log = '';
    demo.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
    });
    const exited = new Promise((resolve) => demo.once('exit', resolve));
    try {
      // Prometheus' side, polled every 100ms: the first active-since per endpoint, firing seen, then resolved.
      const promActive = new Map<string, number>();
      const demoUrl = `http://127.0.0.1:${metricsPort}`;
      let both: { ours: [RulesAnswer, unknown]; theirs: [RulesAnswer, unknown] } | undefined;
      let promFired = false;
      let promResolved = false;
      const observe = async (): Promise<boolean> => {
        const res = await fetch(`${promUrl}/api/v1/alerts`);
        const alerts = ((await res.json()) as { data: { alerts: PromAlert[] } }).data.alerts.filter(
          (a) => a.labels['alertname'] === ALERT,
        );
        for (const a of alerts) {
          const endpoint = a.labels['endpoint'] ?? '';
          if (!promActive.has(endpoint)) promActive.set(endpoint, Date.parse(a.activeAt));
          if (a.state === 'firing') promFired = true;
        }
        if (promFired && alerts.length === 0) promResolved = true;
        // Issue #16: once both fire, the two /api/v1/rules and /api/v1/alerts answers, side by side.
        if (both === undefined && alerts.some((a) => a.state === 'firing')) {
          const ours = await getJson<{ data: { alerts: PromAlert[] } }>(`${demoUrl}/api/v1/alerts`);
          if (ours.data.alerts.some((a) => a.labels['alertname'] === ALERT && a.state === 'firing'))
            both = {
              ours: [await getJson<RulesAnswer>(`${demoUrl}/api/v1/rules`), ours],
              theirs: [
                await getJson<RulesAnswer>(`${promUrl}/api/v1/rules`),
                await getJson(`${promUrl}/api/v1/alerts`),
              ],
            };
        }
        const embeddedResolved = logTimes(log, 'inactive').size > 0 && logTimes(log, 'firing').size > 0;
        return promResolved && embeddedResolved;
      };
      await waitUntil(observe, { what: 'both to fire and resolve', timeoutMs: 45_000, intervalMs: 100 }).catch(
        () => {},
      );
      expect(promFired, 'Prometheus fired the alert').toBe(true);
      expect(promResolved, 'Prometheus resolved the alert').toBe(true);
      expect(log).toMatch(new RegExp(`alert "${ALERT}" is firing`));
      expect(log).toMatch(new RegExp(`alert "${ALERT}" is inactive`));
      // The recorded series exists on Prometheus' side too, from the exported recording rule.
      const recorded = await fetch(
        `${promUrl}/api/v1/query?query=${encodeURIComponent('count_over_time(endpoint:trakt_api_errors:rate10s[1m])')}`,
      );
      expect(((await recorded.json()) as { data: { result: unknown[] } }).data.result.length).toBeGreaterThan(0);
      // And on ours: the rules write what they record, ALERTS and ALERTS_FOR_STATE into the store the query API reads,
      // once (the metrics plugin's), as Prometheus's rule manager writes them to its TSDB.
      for (const query of [
        'count_over_time(endpoint:trakt_api_errors:rate10s[1m])',
        `count_over_time(ALERTS{alertname="${ALERT}"}[1m])`,
        `ALERTS_FOR_STATE{alertname="${ALERT}"}[1m]`,
      ]) {
        const answer = await getJson<{ data: { result: unknown[] } }>(
          `${demoUrl}/api/v1/query?query=${encodeURIComponent(query)}`,
        );
        expect(answer.data.result.length, query).toBeGreaterThan(0);
      }

      // The same JSON, key by key (values where they do not depend on timing).
      expect(both, 'both engines fired at the same time').toBeDefined();
      const [ourRules, ourAlerts] = both!.ours;
      const [theirRules, theirAlerts] = both!.theirs;
      expect(shapeOf(ourRules)).toEqual(shapeOf(theirRules));
      // Prometheus lists alerts group by group in its rule manager's map order, which Go randomises: compare the
      // shapes in one order (by alert name), or the first alert is one rule's on one side and another's on the other.
      expect(shapeOf(alertsByName(ourAlerts))).toEqual(shapeOf(alertsByName(theirAlerts)));
      const stable = (a: RulesAnswer) =>
        a.data.groups.map((g) => ({
          name: g.name,
          file: g.file,
          interval: g.interval,
          limit: g.limit,
          rules: g.rules.map(({ name, query, duration, keepFiringFor, labels, annotations, health, type, state }) => ({
            name,
            query,
            duration,
            keepFiringFor,
            labels,
            annotations,
            health,
            type,
            state,
          })),
        }));
      expect(stable(ourRules)).toEqual(stable(theirRules));
      // Value (Go's 'e' format), labels and annotations of the constant alert, whole; activeAt differs by timing.
      type Listed = { data: { alerts: (PromAlert & Record<string, unknown>)[] } };
      const constant = (a: unknown) =>
        (a as Listed).data.alerts
          .filter((x) => x.labels['alertname'] === 'Constant')
          .map(({ activeAt: _, ...rest }) => rest);
      expect(constant(ourAlerts)).toHaveLength(1);
      expect(constant(ourAlerts)).toEqual(constant(theirAlerts));

      const ours = logTimes(log, 'pending');
      const endpoints = [...promActive.keys()].filter((e) => ours.has(e));
      expect(endpoints.length).toBeGreaterThan(0);
      const diffs = endpoints.map((e) => ({ endpoint: e, ms: ours.get(e)! - promActive.get(e)! }));
      console.info(
        `[#14] active-since, embedded minus Prometheus: ${diffs.map((d) => `${d.endpoint} ${d.ms} ms`).join(', ')}`,
      );
      // Prometheus' activeAt is its evaluation time (whole ms); the embedded one is the log line's ms.
      for (const d of diffs) expect(Math.abs(d.ms)).toBeLessThanOrEqual(2 * INTERVAL_MS);
    } finally {
      if (demo.exitCode === null) demo.kill('SIGTERM');
      await exited;
    }
  }, 60_000);
});
