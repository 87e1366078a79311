// Cold start of a batch run (#22), measured on the built packages (dist/, what users import), each sample
// in a fresh node process, the variants interleaved round by round so that machine noise hits them alike:
// - import: the six @obs packages against prom-client + the OTel trace SDK + express, imported together;
// - first recordApiCall: a started monitor with every plugin, its first call and its first 1,000 calls.
// Run it alone with `tsx tools/bench/cold-start.ts`; tools/bench/index.ts puts its rows in the root table.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BenchRow, describeStability, keptIndexes, relativeSpread, reportRow } from '../testing/src/bench.ts';

const root = join(import.meta.dirname, '..', '..');
const OBS = ['core', 'metrics', 'tracing', 'health', 'alerts', 'dashboards'] as const;

// Resolved from the package that depends on each, as the app's own node_modules would resolve them.
function resolveFrom(pkg: string, specifier: string): string {
  return pathToFileURL(createRequire(join(root, 'packages', pkg, 'package.json')).resolve(specifier)).href;
}

const obsUrls = OBS.map((p) => resolveFrom(p, `@obs/${p}`));
const anchorUrls = [
  resolveFrom('metrics', 'prom-client'),
  resolveFrom('tracing', '@opentelemetry/sdk-trace-node'),
  resolveFrom('core', 'express'),
];

function newestMtime(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** Packages whose dist/ is older than a file of their src/: the figures would be about stale code. */
export function staleBuilds(): string[] {
  return [...OBS, 'promql'].filter((p) => {
    const dist = join(root, 'packages', p, 'dist', 'index.js');
    return !existsSync(dist) || statSync(dist).mtimeMs < newestMtime(join(root, 'packages', p, 'src'));
  });
}

function runChild(code: string): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
}

// Imports the modules one after another (as an app's import statements load them) and prints the time.
const importCode = (urls: readonly string[]): string =>
  `const t = performance.now(); for (const u of ${JSON.stringify(urls)}) await import(u); process.stdout.write(String(performance.now() - t));`;

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Import time of the six packages against the three anchors, `rounds` fresh processes each. */
export function importBench(rounds = 10): BenchRow {
  runChild(importCode(obsUrls)); // warms the file system cache, not the processes
  runChild(importCode(anchorUrls));
  const obs: number[] = [];
  const anchors: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? [obs, anchors] : [anchors, obs];
    for (const list of order) list.push(Number(runChild(importCode(list === obs ? obsUrls : anchorUrls))));
  }
  const ratios = obs.map((o, i) => o / anchors[i]!);
  const kept = keptIndexes(ratios).map((i) => ratios[i]!);
  const ratio = median(obs) / median(anchors);
  const row: BenchRow = {
    suite: 'cold start',
    name: 'import the six @obs packages',
    detail: `@obs ${median(obs).toFixed(0)} ms (min ${Math.min(...obs).toFixed(0)}) vs prom-client + OTel trace SDK + express ${median(anchors).toFixed(0)} ms (min ${Math.min(...anchors).toFixed(0)})`,
    ratio,
    target: '<= 1.2x',
    ok: ratio <= 1.2,
    stability: `${describeStability(relativeSpread(kept), kept.length, rounds)}, min ${(Math.min(...obs) / Math.min(...anchors)).toFixed(2)}x`,
  };
  return row;
}

// Besides ours, each process times two recorders run cold too, in the same state (after the same imports and
// start; the order of the three rotates from process to process):
// - a lean recorder: the same semantics written as one function (the argument checks, one event object, one
//   listener, a Map by endpoint and by status, a counter, a bucket search), the floor of what a first
//   thousand calls cost on this machine now;
// - prom-client: a counter's inc and a histogram's observe with the same labels, what an app would write.
const firstCallCode = (order: readonly Recorder[]): string => `
const [{ createMonitor, silentLogger }, { metricsPlugin }, { tracingPlugin }, { healthPlugin }, { alertsPlugin }, { dashboardsPlugin }] =
  await Promise.all(${JSON.stringify(obsUrls)}.map((u) => import(u)));
const promClient = await import(${JSON.stringify(promClientUrl)});
const monitor = await createMonitor({
  config: { metrics_port: 0, health_port: 0, host: '127.0.0.1' },
  plugins: [metricsPlugin(), tracingPlugin(), healthPlugin(), alertsPlugin({ notifications: false }), dashboardsPlugin()],
  logger: silentLogger,
}).start();
const bounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const byEndpoint = new Map();
const listeners = { 'api:called': [(e) => {
  let h = byEndpoint.get(e.endpoint);
  if (h === undefined) { h = { counts: new Float64Array(12), sum: 0, byStatus: new Map() }; byEndpoint.set(e.endpoint, h); }
  let c = h.byStatus.get(e.status);
  if (c === undefined) { c = { value: 0 }; h.byStatus.set(e.status, c); }
  c.value++;
  const v = e.durationMs / 1000; let i = 0; while (i < bounds.length && !(v <= bounds[i])) i++; h.counts[i]++; h.sum += v;
}] };
const lean = { recordApiCall(endpoint, status, durationMs, method = 'GET') {
  const list = listeners['api:called'];
  if (list === undefined) return;
  if (typeof endpoint !== 'string' || endpoint === '' || !Number.isInteger(status) || status < 0 || !(durationMs >= 0)) return;
  const event = { endpoint, status, durationMs, method };
  for (let k = 0; k < list.length; k++) { try { list[k](event); } catch {} }
} };
const registry = new promClient.Registry();
const requests = new promClient.Counter({ name: 'api_requests_total', help: 'h', labelNames: ['endpoint', 'status'], registers: [registry] });
const duration = new promClient.Histogram({ name: 'api_duration_seconds', help: 'h', labelNames: ['endpoint'], buckets: bounds, registers: [registry] });
const promRecorder = { recordApiCall(endpoint, status, durationMs) {
  requests.inc({ endpoint, status });
  duration.observe({ endpoint }, durationMs / 1000);
} };
const recorders = { ours: monitor, lean, promClient: promRecorder };
const endpoints = ['watched_movies', 'history', 'ratings', 'watchlist'];
const statuses = [200, 200, 429, 503];
function time(recorder) {
  let t = performance.now();
  recorder.recordApiCall('watched_movies', 200, 12);
  const first = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < 1000; i++) recorder.recordApiCall(endpoints[i & 3], statuses[(i >> 2) & 3], i % 500);
  return { first, thousand: performance.now() - t };
}
const out = {};
for (const name of ${JSON.stringify(order)}) out[name] = time(recorders[name]);
await monitor.stop();
process.stdout.write(JSON.stringify(out));`;

type Recorder = 'ours' | 'lean' | 'promClient';
const RECORDERS: readonly Recorder[] = ['ours', 'lean', 'promClient'];
const promClientUrl = resolveFrom('metrics', 'prom-client');

/** The first recordApiCall of a started monitor (all plugins) and the average of the first 1,000. */
export function firstCallBench(rounds = 12): BenchRow[] {
  const firsts: number[] = [];
  const thousands = Object.fromEntries(RECORDERS.map((r) => [r, [] as number[]])) as Record<Recorder, number[]>;
  for (let r = 0; r < rounds; r++) {
    // Each recorder runs first, second and third in turn: the first to run pays for what the others reuse.
    const order = RECORDERS.map((_, i) => RECORDERS[(i + r) % RECORDERS.length]!);
    const times = JSON.parse(runChild(firstCallCode(order))) as Record<Recorder, { first: number; thousand: number }>;
    firsts.push(times.ours.first);
    for (const name of RECORDERS) thousands[name].push(times[name].thousand); // ms for 1,000 calls = µs per call
  }
  const stability = (values: number[]): string =>
    `${describeStability(relativeSpread(values), values.length, rounds)}, min ${Math.min(...values).toFixed(3)}`;
  const firstMs = median(firsts);
  const avgUs = median(thousands.ours);
  const leanUs = median(thousands.lean);
  const promUs = median(thousands.promClient);
  return [
    {
      suite: 'cold start',
      name: 'first recordApiCall of a started monitor',
      detail: `${firstMs.toFixed(3)} ms (every plugin installed, median of ${rounds} processes)`,
      ratio: firstMs,
      target: '< 1 ms',
      ok: firstMs < 1,
      stability: `${stability(firsts)} ms`,
    },
    {
      suite: 'cold start',
      name: 'first 1,000 recordApiCalls, average',
      detail: `${avgUs.toFixed(3)} µs per call (min ${Math.min(...thousands.ours).toFixed(3)}); cold in the same processes: a lean one-function recorder ${leanUs.toFixed(3)} µs (min ${Math.min(...thousands.lean).toFixed(3)}, ours ${(avgUs / leanUs).toFixed(2)}x), prom-client inc+observe ${promUs.toFixed(3)} µs (ours ${(avgUs / promUs).toFixed(2)}x)`,
      ratio: avgUs,
      target: '< 1 µs',
      ok: avgUs < 1,
      stability: `${stability(thousands.ours)} µs`,
    },
  ];
}

/** Runs both, prints them, reports the rows; false when a target is missed. */
export function coldStartBench(): boolean {
  const stale = staleBuilds();
  if (stale.length > 0)
    console.log(`warning: dist/ older than src/ in ${stale.join(', ')}: build first (pnpm build) for current figures`);
  const rows = [importBench(), ...firstCallBench()];
  console.log('\ncold start (built packages, each sample a fresh process)');
  for (const row of rows) {
    reportRow(row);
    const value = row.target?.startsWith('<=') ? `${row.ratio.toFixed(2)}x` : '';
    console.log(
      `${row.name.padEnd(44)} ${row.detail}  ${value} ${row.target ?? ''} ${row.ok ? 'ok' : 'MISSED'}  ${row.stability ?? ''}`,
    );
  }
  return rows.every((r) => r.ok !== false);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && !coldStartBench()) process.exitCode = 1;
