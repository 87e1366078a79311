// pnpm bench:prometheus [--series 1000,10000] [--runs 5]: by hand, not in CI. The same metric set (counters,
// gauges, a classic histogram; 1 h at 15 s) written once as OpenMetrics, loaded into a real Prometheus 2.42 with
// `promtool tsdb create-blocks-from openmetrics` and into @obs/metrics' embedded store, then the same queries
// over HTTP to both. Prints our time / Prometheus's time per query, and our engine's time alone (in-process).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @obs/promql cannot depend on @obs/metrics (which depends on it): the bench reads its sources by path.
import { createMonitor, type Monitor, silentLogger } from '../../core/src/index.ts';
import { metricsPlugin } from '../../metrics/src/index.ts';
import { instantQuery, type NamedSample, parse, rangeQuery, type SampleSource } from '../src/index.ts';
import { createMetricSet } from '../test/metric-set.ts';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const SIZES = (arg('--series') ?? '1000,10000').split(',').map(Number);
const RUNS = Number(arg('--runs') ?? 5);
const STEP_MS = 15_000;
const HOUR_MS = 3_600_000;
const RATE = 'sum by (endpoint) (rate(http_requests_total[5m]))';
const QUANTILE = 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))';

interface Data {
  readonly names: string[];
  readonly labels: Record<string, string>[];
  /** values[series * steps + k] */
  readonly values: Float64Array;
  readonly steps: number;
  readonly start: number;
}

function generate(series: number, end: number): Data {
  const set = createMetricSet(series, STEP_MS);
  const start = end - HOUR_MS;
  const steps = HOUR_MS / STEP_MS + 1;
  const values = new Float64Array(set.series * steps);
  const names: string[] = [];
  const labels: Record<string, string>[] = [];
  for (let k = 0; k < steps; k++) {
    const samples = set.next();
    samples.forEach((s, i) => {
      if (k === 0) {
        names.push(s.name);
        labels.push({ ...s.labels });
      }
      values[i * steps + k] = s.value;
    });
  }
  return { names, labels, values, steps, start };
}

const FAMILIES: Record<string, string> = {
  http_requests_total: '# TYPE http_requests counter',
  http_request_duration_seconds_bucket: '# TYPE http_request_duration_seconds_bucket unknown',
  http_request_duration_seconds_sum: '# TYPE http_request_duration_seconds_sum unknown',
  http_request_duration_seconds_count: '# TYPE http_request_duration_seconds_count unknown',
  http_requests_in_flight: '# TYPE http_requests_in_flight gauge',
  cache_hit_ratio: '# TYPE cache_hit_ratio gauge',
};

// OpenMetrics: a family's samples together, each series' samples in time order.
async function writeOpenMetrics(data: Data, file: string): Promise<void> {
  const out = createWriteStream(file);
  const write = async (text: string): Promise<void> => {
    if (!out.write(text)) await once(out, 'drain');
  };
  for (const [name, type] of Object.entries(FAMILIES)) {
    await write(`${type}\n`);
    for (let i = 0; i < data.names.length; i++) {
      if (data.names[i] !== name) continue;
      const l = Object.entries(data.labels[i]!)
        .map(([k, v]) => `${k}="${v}"`)
        .join(',');
      let text = '';
      for (let k = 0; k < data.steps; k++)
        text += `${name}{${l}} ${data.values[i * data.steps + k]} ${(data.start + k * STEP_MS) / 1000}\n`;
      await write(text);
    }
  }
  await write('# EOF\n');
  out.end();
  await once(out, 'finish');
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

async function startPrometheus(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, 'global:\n  scrape_interval: 15s\n');
  const child = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      '--storage.tsdb.retention.time=30d',
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) return { url, child };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error('prometheus did not become ready');
}

interface StoreIngest {
  ingest(at: number, samples: readonly NamedSample[], exemplars: readonly never[]): number;
}

async function startOurs(data: Data): Promise<{ url: string; monitor: Monitor; source: SampleSource; ms: number }> {
  const monitor = createMonitor({
    config: {
      metrics_port: 0,
      health_port: 0,
      host: '127.0.0.1',
      prometheus: {
        namespace: 'bench',
        default_metrics: false,
        collect_interval: '1h',
        max_series: 1_000_000,
        query_max_samples: 50_000_000,
        query_timeout: '600s',
      },
    },
    plugins: [metricsPlugin()],
    logger: silentLogger,
  });
  await monitor.start();
  const store = monitor.service('metrics.store') as unknown as StoreIngest & SampleSource;
  const began = performance.now();
  for (let k = 0; k < data.steps; k++) {
    const samples: NamedSample[] = new Array(data.names.length);
    for (let i = 0; i < data.names.length; i++)
      samples[i] = { name: data.names[i]!, labels: data.labels[i]!, value: data.values[i * data.steps + k]! };
    store.ingest(data.start + k * STEP_MS, samples, []);
  }
  return { url: monitor.url('metrics').href.replace(/\/$/, ''), monitor, source: store, ms: performance.now() - began };
}

async function timed(url: string): Promise<{ ms: number; series: number }> {
  let best = Number.POSITIVE_INFINITY;
  let series = 0;
  const times: number[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const began = performance.now();
    const res = await fetch(url);
    const body = (await res.json()) as { status: string; data: unknown; error?: string };
    const ms = performance.now() - began;
    if (body.status !== 'success') throw new Error(`${url}: ${body.error}`);
    const d = body.data as { result?: unknown[] } | unknown[];
    series = Array.isArray(d) ? d.length : (d.result?.length ?? 0);
    // The first run warms caches (and the JIT) on both sides.
    if (i > 0) times.push(ms);
    best = Math.min(best, ms);
  }
  times.sort((a, b) => a - b);
  return { ms: times[times.length >> 1]!, series };
}

function engineMs(run: () => void): number {
  run();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const began = performance.now();
    run();
    times.push(performance.now() - began);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1]!;
}

const fmt = (ms: number): string => (ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0));

for (const size of SIZES) {
  const end = Math.floor(Date.now() / STEP_MS) * STEP_MS - 5 * STEP_MS;
  const data = generate(size, end);
  const dir = mkdtempSync(join(tmpdir(), 'obs-promql-vs-prometheus-'));
  try {
    const file = join(dir, 'data.om');
    await writeOpenMetrics(data, file);
    let began = performance.now();
    execFileSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', file, join(dir, 'data')], {
      stdio: 'ignore',
    });
    const blocksMs = performance.now() - began;
    rmSync(file);
    const prom = await startPrometheus(dir);
    began = performance.now();
    const ours = await startOurs(data);
    try {
      const s = end / 1000;
      const range = `start=${(end - HOUR_MS) / 1000}&end=${s}&step=15`;
      const q = (text: string): string => encodeURIComponent(text);
      const cases: [string, string, () => void][] = [
        [
          `instant ${RATE}`,
          `/api/v1/query?query=${q(RATE)}&time=${s}`,
          () => instantQuery(ours.source, parse(RATE), end),
        ],
        [
          'the same, 1 h range at 15 s',
          `/api/v1/query_range?query=${q(RATE)}&${range}`,
          () => rangeQuery(ours.source, parse(RATE), { startMs: end - HOUR_MS, endMs: end, stepMs: STEP_MS }),
        ],
        [
          'histogram_quantile(0.95, sum by (le) (rate(…_bucket[5m]))), 1 h range at 15 s',
          `/api/v1/query_range?query=${q(QUANTILE)}&${range}`,
          () => rangeQuery(ours.source, parse(QUANTILE), { startMs: end - HOUR_MS, endMs: end, stepMs: STEP_MS }),
        ],
        ['label values: /api/v1/label/endpoint/values', '/api/v1/label/endpoint/values', () => {}],
      ];
      console.log(
        `\n${data.names.length} series, ${data.steps} samples each (promtool create-blocks ${fmt(blocksMs / 1000)} s, our ingest ${fmt(ours.ms / 1000)} s)`,
      );
      console.log(
        '| query | ours (HTTP) | our engine alone | Prometheus 2.42 (HTTP) | ours / Prometheus | result series |',
      );
      console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
      for (const [name, path, engine] of cases) {
        const a = await timed(ours.url + path);
        const b = await timed(prom.url + path);
        const e = name.startsWith('label') ? Number.NaN : engineMs(engine);
        console.log(
          `| ${name} | ${fmt(a.ms)} ms | ${Number.isNaN(e) ? '' : `${fmt(e)} ms`} | ${fmt(b.ms)} ms | ${(a.ms / b.ms).toFixed(2)} | ${a.series} / ${b.series} |`,
        );
      }
    } finally {
      await ours.monitor.stop();
      prom.child.kill();
      await once(prom.child, 'exit');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
