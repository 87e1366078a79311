// The query API against the real thing: a Prometheus 2.42 scraping the same monitor, and promtool as a client of
// both. Only what scrape timing cannot change is compared: series sets, label names, the JSON keys, and the
// values of gauges and counters that stay put while both sides sample them.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createMonitor, type Monitor, silentLogger } from '@obs/core';
import { debianTool, freePort, type RunningPrometheus, startPrometheus, waitUntil } from '@obs/testing';
import { context } from '@opentelemetry/api';
import { AsyncHooksContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { metricsPlugin } from '../src/index.ts';

const run = promisify(execFile);
const prometheus = debianTool('prometheus');
const promtool = debianTool('promtool');
const dir = mkdtempSync(join(tmpdir(), 'metrics-query-api-'));
const manager = new AsyncHooksContextManager();
let monitor: Monitor | undefined;
let server: RunningPrometheus | undefined;
let ours = '';
let theirs = '';
let traceId = '';
let T = 0;

// biome-ignore lint/suspicious/noExplicitAny: the answers are read by path, as the API documents them
type Json = Record<string, any>;
async function get(baseUrl: string, path: string): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${baseUrl}/api/v1/${path}`);
  return { status: res.status, body: (await res.json()) as Json };
}
async function both(path: string): Promise<[{ status: number; body: Json }, { status: number; body: Json }]> {
  return [await get(ours, path), await get(theirs, path)];
}

// Prometheus adds the target's labels; the app's own store has none.
function withoutTarget(labels: Record<string, string>): Record<string, string> {
  const { job: _job, instance: _instance, ...rest } = labels;
  return rest;
}

/** Every key path of a JSON value, with the type of its leaf: the shape two answers must share. */
function shape(value: unknown, path = '$'): string[] {
  if (Array.isArray(value))
    return value.length === 0 ? [`${path}[]`] : [...new Set(value.flatMap((v) => shape(v, `${path}[]`)))].sort();
  if (typeof value === 'object' && value !== null)
    return Object.entries(value)
      .filter(([k]) => !['job', 'instance'].includes(k))
      .flatMap(([k, v]) => shape(v, `${path}.${k}`))
      .sort();
  return [`${path}:${typeof value}`];
}

const q = encodeURIComponent;

beforeAll(async () => {
  if (prometheus === undefined || promtool === undefined) return;
  context.setGlobalContextManager(manager.enable());
  const metricsPort = await freePort();
  monitor = createMonitor({
    config: {
      metrics_port: metricsPort,
      health_port: 0,
      host: '127.0.0.1',
      prometheus: { namespace: 'trakt', default_metrics: false, collect_interval: '1s', export_kinds: ['movies'] },
    },
    plugins: [metricsPlugin()],
    logger: silentLogger,
  });
  await monitor.start();
  ours = new URL(monitor.url('metrics')).origin;
  const m = monitor;
  m.recordApiCall('history', 200, 12);
  m.recordApiCall('history', 200, 30);
  m.recordApiCall('ratings', 429, 3);
  new BasicTracerProvider().getTracer('test').startActiveSpan('api.watched_movies', (span) => {
    traceId = span.spanContext().traceId;
    m.recordApiCall('watched_movies', 200, 42);
    span.end();
  });
  m.updateCacheStats(0.847, 1_258_291, 456);
  m.recordExport('movies', 'success', 150);

  server = await startPrometheus(prometheus, {
    dir,
    targets: [`127.0.0.1:${metricsPort}`],
    flags: ['--enable-feature=exemplar-storage'],
  });
  theirs = server.url;
  // A few scrapes on their side, a few collections on ours.
  for (let i = 0; i < 100; i++) {
    const { body } = await get(theirs, `query?query=${q('count_over_time(up[1m])')}`);
    if (Number(body['data']?.result?.[0]?.value?.[1] ?? 0) >= 8) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  T = Math.floor(Date.now() / 1000) - 1;
}, 90_000);

afterAll(async () => {
  await server?.stop();
  await monitor?.stop();
  context.disable();
});

describe.skipIf(prometheus === undefined || promtool === undefined)(
  'the query API answers as Prometheus 2.42 scraping the same app (#16)',
  () => {
    test('query: same JSON keys, same series and values', async () => {
      for (const expr of [
        'trakt_cache_hit_ratio',
        'trakt_api_requests_total',
        'sum by (endpoint) (trakt_api_requests_total)',
        'trakt_api_duration_seconds_bucket{endpoint="history"}',
        'scalar(trakt_cache_entries)',
        'trakt_cache_size_bytes[3s]',
        // Floats below 1e-6 and from 1e21 are written with an exponent (Go's 'e': 1e-07, 1.5e+21), -0 keeps its sign.
        'trakt_cache_hit_ratio * 1e-7',
        'trakt_cache_size_bytes * 1e18',
        'vector(-2.5e-9)',
        '-0 * trakt_cache_hit_ratio',
      ]) {
        const [a, b] = await both(`query?query=${q(expr)}&time=${T}`);
        expect(a.status, expr).toBe(b.status);
        expect(shape(a.body), expr).toEqual(shape(b.body));
        const data = (x: Json) =>
          x['data'].resultType === 'scalar'
            ? [x['data'].result[1]]
            : (x['data'].result as Json[])
                .map((s) => JSON.stringify([withoutTarget(s['metric']), s['value']?.[1] ?? s['values'].length > 0]))
                .sort();
        expect(data(a.body), expr).toEqual(data(b.body));
      }
    });

    test('query_range: same keys, series and values on unchanging series', async () => {
      const expr = 'trakt_cache_hit_ratio * 2 or sum by (endpoint) (trakt_api_requests_total)';
      const [a, b] = await both(`query_range?query=${q(expr)}&start=${T - 3}&end=${T}&step=1s`);
      expect(a.status).toBe(200);
      expect(shape(a.body)).toEqual(shape(b.body));
      const series = (x: Json) =>
        (x['data'].result as Json[]).map((s) => JSON.stringify([withoutTarget(s['metric']), s['values']])).sort();
      expect(series(a.body)).toEqual(series(b.body));
    });

    test('series, labels, label values, metadata, format_query, buildinfo, rules and alerts', async () => {
      const [series, seriesP] = await both(`series?match[]=${q('{__name__=~"trakt_api.*"}')}&start=${T - 5}&end=${T}`);
      expect(shape(series.body)).toEqual(shape(seriesP.body));
      const sets = (x: Json) => (x['data'] as Json[]).map((s) => JSON.stringify(withoutTarget(s))).sort();
      expect(sets(series.body)).toEqual(sets(seriesP.body));

      const [labels, labelsP] = await both(`labels?match[]=trakt_api_requests_total`);
      expect(labels.body['data']).toEqual(
        (labelsP.body['data'] as string[]).filter((n) => n !== 'job' && n !== 'instance'),
      );
      const [values, valuesP] = await both('label/endpoint/values');
      expect(values.body).toEqual(valuesP.body);
      const [names, namesP] = await both(`label/__name__/values?match[]=${q('{__name__=~"trakt_.*"}')}`);
      expect(names.body).toEqual(namesP.body);

      for (const metric of ['trakt_api_requests', 'trakt_api_duration_seconds', 'trakt_cache_hit_ratio']) {
        const [meta, metaP] = await both(`metadata?metric=${metric}`);
        expect(meta.body, metric).toEqual(metaP.body);
      }
      const expr =
        'sum by (endpoint) (rate(trakt_api_requests_total{status=~"2..",endpoint!="x"}[5m])) / on (endpoint) group_left sum by (endpoint) (rate(trakt_api_requests_total[5m])) > 0.5';
      const [formatted, formattedP] = await both(`format_query?query=${q(expr)}`);
      expect(formatted.body).toEqual(formattedP.body);
      const [build, buildP] = await both('status/buildinfo');
      expect(shape(build.body)).toEqual(shape(buildP.body));
      expect(await both('rules').then(([x, y]) => [x.body, y.body])).toEqual([
        { status: 'success', data: { groups: [] } },
        { status: 'success', data: { groups: [] } },
      ]);
      const [alerts, alertsP] = await both('alerts');
      expect(alerts.body).toEqual(alertsP.body);
    });

    test('query_exemplars: the same trace id, value and timestamp', async () => {
      const path = `query_exemplars?query=${q('trakt_api_requests_total')}&start=${T - 60}&end=${T + 60}`;
      const [a, b] = await waitUntil(
        async () => {
          const answers = await both(path);
          return (answers[1].body['data'] ?? []).length > 0 ? answers : undefined;
        },
        { what: 'Prometheus to scrape the exemplar', timeoutMs: 10_000, intervalMs: 500 },
      );
      expect(shape(a.body)).toEqual(shape(b.body));
      const strip = (x: Json) =>
        (x['data'] as Json[]).map((s) => ({ ...s, seriesLabels: withoutTarget(s['seriesLabels']) }));
      expect(strip(a.body)).toEqual(strip(b.body));
      expect(a.body['data'][0].exemplars[0].labels.trace_id).toBe(traceId);
    });

    test('errors: the same status, error type and message', async () => {
      for (const path of [
        `query?query=${q('sum(')}`,
        `query?query=up&time=yesterday`,
        'query?query=up&timeout=soon',
        'query_range?query=up&start=1&end=2',
        'query_range?query=up&start=10&end=1&step=1',
        'query_range?query=up&start=0&end=11001&step=1',
        'query_range?query=up&start=0&end=10&step=0',
        'query_range?query=up&start=x&end=10&step=1',
        'series',
        `query?query=${q('trakt_api_requests_total + on() trakt_api_requests_total')}`,
      ]) {
        const [a, b] = await both(path);
        expect([a.status, a.body['errorType']], path).toEqual([b.status, b.body['errorType']]);
        expect(shape(a.body), path).toEqual(shape(b.body));
        // Parse errors are worded by each parser; the rest word for word.
        if (path.includes('sum(')) expect(a.body['error']).toMatch(/^invalid parameter "query": 1:\d+: parse error: /);
        // Prometheus 3 writes "invalid time value", 2.42 "Invalid time value".
        else if (!path.includes('on()'))
          expect(a.body['error'].toLowerCase(), path).toBe(b.body['error'].toLowerCase());
      }
    });

    test('promtool query instant, range, series and labels print the same against both', async () => {
      const tool = async (...args: string[]): Promise<string> => (await run(promtool!, ['query', ...args])).stdout;
      // Prometheus's target labels and the sample timestamps are the only differences scrape timing allows.
      const normalize = (text: string): string[] =>
        text
          .replace(/instance="[^"]*",?\s*/g, '')
          .replace(/job="[^"]*",?\s*/g, '')
          .replace(/, }/g, '}')
          .replace(/\{\}/g, '')
          .replace(/@\[[\d.]+\]/g, '@[t]')
          .split('\n')
          .filter((l) => l !== '')
          .sort();
      const instant = ['instant', `--time=${T}`];
      for (const expr of ['trakt_cache_hit_ratio', 'sum by (endpoint) (trakt_api_requests_total)', 'vector(1)']) {
        expect(normalize(await tool(...instant, ours, expr)), expr).toEqual(
          normalize(await tool(...instant, theirs, expr)),
        );
      }
      const range = ['range', `--start=${T - 3}`, `--end=${T}`, '--step=1s'];
      expect(normalize(await tool(...range, ours, 'trakt_cache_entries'))).toEqual(
        normalize(await tool(...range, theirs, 'trakt_cache_entries')),
      );
      const series = ['series', '--match=trakt_export_items_total'];
      expect(normalize(await tool(...series, ours))).toEqual(normalize(await tool(...series, theirs)));
      expect(await tool('labels', ours, 'endpoint')).toBe(await tool('labels', theirs, 'endpoint'));
      const json = ['instant', '-o', 'json', `--time=${T}`];
      const parsed = (text: string) =>
        (JSON.parse(text) as Json[]).map((s) => [withoutTarget(s['metric']), s['value'][1]]);
      expect(parsed(await tool(...json, ours, 'trakt_cache_size_bytes'))).toEqual(
        parsed(await tool(...json, theirs, 'trakt_cache_size_bytes')),
      );
    });
  },
);
