// Issue #18: the demo with native histograms on, scraped by a real Prometheus 2.42 started with
// --enable-feature=native-histograms (it asks for protobuf and stores one histogram series per native family).
// Our engine, on the demo's own samples (its embedded store and query API), must give what Prometheus gives.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debianTool, type RunningPrometheus, startPrometheus, waitUntil } from '@obs/testing';
import { afterAll, describe, expect, test } from 'vitest';
import { listenerUrl, loggedListener, stopDemo, untilLogged } from './listeners.ts';
import { SEED_ENV } from './seed-env.ts';

const bin = join(import.meta.dirname, '../dist/main.js');
const prometheus = debianTool('prometheus');
const dir = mkdtempSync(join(tmpdir(), 'demo-native-'));
let demo: ChildProcess | undefined;
let server: RunningPrometheus | undefined;

afterAll(async () => {
  await server?.stop();
  await stopDemo(demo);
  rmSync(dir, { recursive: true, force: true });
});

interface Histogram {
  count: string;
  sum: string;
  buckets?: [number, string, string, string][];
}
interface Result {
  metric: Record<string, string>;
  value?: [number, string];
  histogram?: [number, Histogram];
}

async function query(base: string, expr: string, time: number): Promise<Result[]> {
  const params = new URLSearchParams({ query: expr, time: time.toFixed(3) });
  const body = (await (await fetch(`${base}/api/v1/query?${params}`)).json()) as {
    status: string;
    data: { result: Result[] };
  };
  expect(body.status).toBe('success');
  return body.data.result;
}

/** endpoint -> the sample's histogram or value, for comparing results of the two engines. */
async function byEndpoint(base: string, expr: string, time: number): Promise<Map<string, Histogram | number>> {
  const out = new Map<string, Histogram | number>();
  for (const r of await query(base, expr, time))
    out.set(r.metric['endpoint'] ?? '', r.histogram?.[1] ?? Number(r.value![1]));
  return out;
}

// Schema 3 (bucket_factor 1.1): a bucket spans a factor of 2^(1/8).
const RESOLUTION = 2 ** (1 / 8);

describe.skipIf(prometheus === undefined)('the demo with native histograms, scraped by Prometheus 2.42', () => {
  test('the same histograms, histogram_quantile(0.95, rate(…[1m])) and a recording rule over them within the bucket resolution', async () => {
    // Port 0: the demo binds a free port itself and logs it (a port found free beforehand can be taken meanwhile).
    const config = join(dir, 'demo.toml');
    writeFileSync(config, '[monitoring]\nmetrics_port = 0\nhealth_port = 0\nhost = "127.0.0.1"\n');
    // One rule file for both engines: a recording rule over the native histogram records a native histogram.
    const rules = join(dir, 'rules.yml');
    writeFileSync(
      rules,
      [
        'groups:',
        '  - name: native',
        '    rules:',
        '      - record: endpoint:trakt_api_duration_seconds:rate1m',
        '        expr: sum by (endpoint) (rate(trakt_api_duration_seconds[1m]))',
        '',
      ].join('\n'),
    );
    // An export every 3 s, each making fresh API calls (no cache): the histograms keep growing.
    demo = spawn(
      process.execPath,
      [bin, '--config', config, '--interval', '3s', '--cache-ttl', '1ms', '--export-dir', join(dir, 'out')],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: {
          ...process.env,
          ...SEED_ENV,
          MONITORING_PROMETHEUS_NATIVE_HISTOGRAMS: 'true',
          MONITORING_PROMETHEUS_COLLECT_INTERVAL: '1s',
          MONITORING_ALERTS_RULES_FILE: rules,
          MONITORING_ALERTS_EVALUATION_INTERVAL: '1s',
        },
      },
    );
    let log = '';
    const started = demo;
    started.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      process.stderr.write(d); // as before, the demo's log stays in the test output
    });
    await untilLogged(
      started,
      () => log,
      "the demo's metrics listener",
      (l) => loggedListener(l, 'metrics') !== undefined,
    );
    const metrics = listenerUrl(log, 'metrics');
    const ours = metrics.origin;
    server = await startPrometheus(prometheus!, {
      dir,
      config: [
        'global: {scrape_interval: 1s, evaluation_interval: 1s}',
        `rule_files: ['${rules}']`,
        'scrape_configs:',
        '  - job_name: exporter-demo',
        `    static_configs: [{targets: ['${metrics.host}']}]`,
        '',
      ].join('\n'),
      flags: ['--enable-feature=native-histograms'],
    });
    const theirs = server.url;
    const historyCount = async (): Promise<number> => {
      const r = await query(
        theirs,
        'histogram_count(trakt_api_duration_seconds{endpoint="history"})',
        Date.now() / 1000,
      );
      return r.length === 0 ? 0 : Number(r[0]!.value![1]);
    };
    await waitUntil(async () => (await historyCount()) >= 40, {
      what: 'Prometheus to store three exports of native histograms',
      timeoutMs: 40_000,
      intervalMs: 500,
    });

    // Between two exports, both hold the same latest sample of each series: the histograms must be equal to the
    // bit (count, sum, every bucket's bounds and count), and the 95th percentiles of their rates agree within
    // the resolution (their samples are a second apart at most, and Prometheus 2.42 interpolates within a bucket
    // linearly where Prometheus 3 and we interpolate exponentially).
    let last = '';
    await waitUntil(
      async () => {
        const at = Date.now() / 1000 - 0.5;
        const theirLatest = await byEndpoint(theirs, 'trakt_api_duration_seconds', at);
        const ourLatest = await byEndpoint(ours, 'trakt_api_duration_seconds', at);
        const p95 = 'histogram_quantile(0.95, rate(trakt_api_duration_seconds[1m]))';
        const theirP95 = await byEndpoint(theirs, p95, at);
        const ourP95 = await byEndpoint(ours, p95, at);
        const all = 'histogram_quantile(0.95, sum(rate(trakt_api_duration_seconds[1m])))';
        const [theirAll, ourAll] = [
          (await byEndpoint(theirs, all, at)).get(''),
          (await byEndpoint(ours, all, at)).get(''),
        ];
        // What each engine's rule recorded: a native histogram in both, with the same percentile within a bucket.
        const recorded = 'endpoint:trakt_api_duration_seconds:rate1m{endpoint="history"}';
        const [theirRecorded, ourRecorded] = [
          (await byEndpoint(theirs, recorded, at)).get('history'),
          (await byEndpoint(ours, recorded, at)).get('history'),
        ];
        const fromRule = `histogram_quantile(0.95, ${recorded})`;
        const [theirRule, ourRule] = [
          (await byEndpoint(theirs, fromRule, at)).get('history'),
          (await byEndpoint(ours, fromRule, at)).get('history'),
        ];
        last = JSON.stringify({ theirP95: [...theirP95], ourP95: [...ourP95], theirAll, ourAll, theirRule, ourRule });
        const close = (a: unknown, b: unknown): boolean =>
          typeof a === 'number' && typeof b === 'number' && a / b < RESOLUTION && b / a < RESOLUTION;
        return (
          theirLatest.size === 4 &&
          JSON.stringify([...theirLatest].sort()) === JSON.stringify([...ourLatest].sort()) &&
          close(theirP95.get('history'), ourP95.get('history')) &&
          close(theirAll, ourAll) &&
          typeof theirRecorded === 'object' &&
          typeof ourRecorded === 'object' &&
          close(theirRule, ourRule)
        );
      },
      { what: 'both engines to agree between two exports', timeoutMs: 30_000, intervalMs: 300 },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; last seen ${last}`);
    });
    console.log(`native histograms, Prometheus 2.42 vs ours: ${last}`);
  }, 120_000);
});
