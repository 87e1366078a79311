// pnpm bench: parsing the seed's rule expressions, and instant and range queries over 1,000 and 10,000 series
// (a range query against reading its data, and against what it cost before: an instant query a step).

import { type BenchCase, type BenchResult, runBenchmarks } from '@obs/testing/bench';
import { parser } from '@prometheus-io/lezer-promql';
import { createSampleStore, instantQuery, parse, rangeQuery, type SampleStore } from '../src/index.ts';

// The seed's three rule conditions as shipped (packages/alerts/rules/seed.yml).
const SEED = [
  'sum by (endpoint) (rate(trakt_api_requests_total{status=~"[45].."}[5m])) > 0.1',
  'trakt_cache_hit_ratio < 0.5',
  'increase(trakt_export_operations_total{status="error"}[15m]) > 0 or (trakt_export_operations_total{status="error"} > 0\n    unless trakt_export_operations_total{status="error"} offset 15m)',
];
const QUERY = 'sum by (endpoint) (rate(trakt_api_requests_total[5m]))';
const STEP_MS = 15_000;
const HOUR_MS = 3_600_000;
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const STATUSES = ['200', '201', '204', '301', '400', '401', '404', '429', '500', '503'];
const SELECT = [{ name: '__name__', op: '=', value: 'trakt_api_requests_total' }] as const;

// `series` counters labelled endpoint × method × status, one sample every 15 s for an hour.
function fill(series: number): { store: SampleStore; end: number } {
  const store = createSampleStore({ retentionMs: 2 * HOUR_MS });
  const end = HOUR_MS;
  const labels = Array.from({ length: series }, (_, i) => ({
    endpoint: `/api/v1/resource_${Math.floor(i / (METHODS.length * STATUSES.length))}`,
    method: METHODS[i % METHODS.length]!,
    status: STATUSES[Math.floor(i / METHODS.length) % STATUSES.length]!,
  }));
  for (let t = 0; t <= end; t += STEP_MS)
    store.ingest(
      t,
      labels.map((l, i) => ({ name: 'trakt_api_requests_total', labels: l, value: (t / STEP_MS) * ((i % 13) + 1) })),
    );
  return { store, end };
}

// The baseline of a query: reading every sample it reads from the store, without evaluating anything.
function readAll(store: SampleStore, minT: number, maxT: number): number {
  let n = 0;
  for (const s of store.select(SELECT, minT, maxT)) n += s.v.length;
  return n;
}

function instant(series: number): BenchCase {
  const { store, end } = fill(series);
  const parsed = parse(QUERY);
  return {
    name: `instant query, ${series} series`,
    baseline: {
      name: 'select 5m',
      run(n) {
        for (let i = 0; i < n; i++) readAll(store, end - 300_000, end);
      },
    },
    candidate: {
      name: 'instantQuery()',
      run(n) {
        for (let i = 0; i < n; i++) instantQuery(store, parsed, end);
      },
    },
  };
}

const results: BenchResult[] = await runBenchmarks(
  '@obs/promql',
  {
    parse: () => ({
      name: "parse the seed's 3 expressions",
      baseline: {
        name: 'lezer grammar only',
        run(n) {
          for (let i = 0; i < n; i++) for (const q of SEED) parser.parse(q);
        },
      },
      candidate: {
        name: 'parse() x3',
        run(n) {
          for (let i = 0; i < n; i++) for (const q of SEED) parse(q);
        },
      },
    }),
    instant1k: () => instant(1000),
    instant10k: () => instant(10_000),
    range1k: () => {
      const { store, end } = fill(1000);
      const parsed = parse(QUERY);
      return {
        name: 'range query 1h at 15s, 1000 series',
        baseline: {
          name: 'select 1h5m',
          run(n) {
            for (let i = 0; i < n; i++) readAll(store, end - HOUR_MS - 300_000, end);
          },
        },
        candidate: {
          name: 'rangeQuery()',
          run(n) {
            for (let i = 0; i < n; i++)
              rangeQuery(store, parsed, { startMs: end - HOUR_MS, endMs: end, stepMs: STEP_MS });
          },
        },
      };
    },
    rangeSteps1k: () => {
      const { store, end } = fill(1000);
      const parsed = parse(QUERY);
      return {
        name: 'range query vs one instant query a step, 1000 series',
        baseline: {
          // What rangeQuery() did before issue 16: select and evaluate every step on its own.
          name: 'instantQuery() x241',
          run(n) {
            for (let i = 0; i < n; i++)
              for (let t = end - HOUR_MS; t <= end; t += STEP_MS) instantQuery(store, parsed, t);
          },
        },
        candidate: {
          name: 'rangeQuery()',
          run(n) {
            for (let i = 0; i < n; i++)
              rangeQuery(store, parsed, { startMs: end - HOUR_MS, endMs: end, stepMs: STEP_MS });
          },
        },
      };
    },
  },
  { rounds: 5, roundMs: 200 },
);

if (process.env['OBS_BENCH_CASE'] === undefined) {
  console.log('\nthroughput of the candidates:');
  for (const r of results)
    console.log(
      `${r.name.padEnd(40)} ${(1e9 / r.candidateNs).toFixed(1).padStart(10)} ops/s  ${(r.candidateNs / 1e6).toFixed(3).padStart(10)} ms/op`,
    );
}
