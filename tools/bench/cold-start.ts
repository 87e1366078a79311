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

// Besides ours, the process times a minimal recorder (check, emit to one listener, a Map, a histogram bucket),
// run cold too, in the same state (after the same imports and start; before or after ours, by turns): the
// floor of what a first thousand calls cost on this machine now.
const firstCallCode = (minimalFirst: boolean): string => `
const [{ createMonitor, silentLogger }, { metricsPlugin }, { tracingPlugin }, { healthPlugin }, { alertsPlugin }, { dashboardsPlugin }] =
  await Promise.all(${JSON.stringify(obsUrls)}.map((u) => import(u)));
const monitor = await createMonitor({
  config: { metrics_port: 0, health_port: 0, host: '127.0.0.1' },
  plugins: [metricsPlugin(), tracingPlugin(), healthPlugin(), alertsPlugin({ notifications: false }), dashboardsPlugin()],
  logger: silentLogger,
}).start();
const counts = new Map(); const buckets = new Float64Array(12);
const bounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const listeners = [(e) => {
  const key = e.endpoint + ' ' + e.status;
  counts.set(key, (counts.get(key) ?? 0) + 1);
  const v = e.durationMs / 1000; let i = 0; while (i < bounds.length && v > bounds[i]) i++; buckets[i]++;
}];
const minimal = { recordApiCall(endpoint, status, durationMs, method = 'GET') {
  if (typeof endpoint !== 'string' || endpoint === '' || !Number.isInteger(status)) throw new TypeError('bad');
  for (const l of listeners) l({ endpoint, status, durationMs, method });
} };
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
const floor = ${minimalFirst} ? time(minimal) : undefined;
const ours = time(monitor);
const out = { ...ours, floor: floor ?? time(minimal) };
await monitor.stop();
process.stdout.write(JSON.stringify(out));`;

/** The first recordApiCall of a started monitor (all plugins) and the average of the first 1,000. */
export function firstCallBench(rounds = 10): BenchRow[] {
  const firsts: number[] = [];
  const averages: number[] = [];
  const floors: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const { first, thousand, floor } = JSON.parse(runChild(firstCallCode(r % 2 === 1))) as {
      first: number;
      thousand: number;
      floor: { thousand: number };
    };
    firsts.push(first);
    averages.push(thousand); // ms for 1,000 calls = µs per call
    floors.push(floor.thousand);
  }
  const stability = (values: number[]): string =>
    `${describeStability(relativeSpread(values), values.length, rounds)}, min ${Math.min(...values).toFixed(3)}`;
  const firstMs = median(firsts);
  const avgUs = median(averages);
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
      detail: `${avgUs.toFixed(3)} µs per call; a minimal recorder (check, emit, Map, bucket), cold in the same process: ${median(floors).toFixed(3)} µs (min ${Math.min(...floors).toFixed(3)})`,
      ratio: avgUs,
      target: '< 1 µs',
      ok: avgUs < 1,
      stability: `${stability(averages)} µs`,
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
