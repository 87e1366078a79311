// pnpm bench: @obs/metrics' hot paths against prom-client and express-prom-bundle, measured in one run.
import { createMonitor, silentLogger } from '@obs/core';
import { type BenchCase, runBenchmarks } from '@obs/testing/bench';
import { Counter, Histogram, Registry } from 'prom-client';
import { createMetrics, metricsPlugin } from '../src/index.ts';
import { httpBench } from './http.ts';

const endpoints = ['watched_movies', 'history', 'ratings', 'watchlist'];
const statuses = [200, 200, 200, 429, 200, 503, 200, 200];

async function recordCase(): Promise<BenchCase> {
  const registry = new Registry();
  const counter = new Counter({
    name: 'trakt_api_requests_total',
    help: 'h',
    labelNames: ['endpoint', 'status'],
    registers: [registry],
  });
  const histogram = new Histogram({
    name: 'trakt_api_duration_seconds',
    help: 'h',
    labelNames: ['endpoint'],
    registers: [registry],
  });
  const monitor = await createMonitor({
    config: { metrics_port: 0, health_port: 0, host: '127.0.0.1', prometheus: { default_metrics: false } },
    plugins: [metricsPlugin()],
    logger: silentLogger,
  }).start();
  return {
    name: 'recordApiCall through the bus',
    baseline: {
      name: 'prom-client inc+observe',
      run(n) {
        for (let i = 0; i < n; i++) {
          const endpoint = endpoints[i & 3]!;
          counter.inc({ endpoint, status: statuses[i & 7]! });
          histogram.observe({ endpoint }, (i % 500) / 1000);
        }
      },
    },
    candidate: {
      name: 'monitor.recordApiCall',
      run(n) {
        for (let i = 0; i < n; i++) monitor.recordApiCall(endpoints[i & 3]!, statuses[i & 7]!, i % 500);
      },
    },
    maxRatio: 0.5,
    teardown: () => monitor.stop(),
  };
}

// 10,000 series: 2,000 endpoints x 5 statuses in a counter, the same data in both.
function scrapeCase(): BenchCase {
  const registry = new Registry();
  const counter = new Counter({
    name: 'trakt_api_requests_total',
    help: 'Total API requests',
    labelNames: ['endpoint', 'status'],
    registers: [registry],
  });
  const ours = createMetrics({
    namespace: 'trakt',
    defaultMetrics: false,
    exportKinds: [],
    cardinalityLimit: 100_000,
    exemplars: false,
  });
  for (let e = 0; e < 2_000; e++) {
    for (const status of [200, 201, 429, 500, 503]) {
      counter.inc({ endpoint: `endpoint_${e}`, status }, e);
    }
  }
  const family = ours.registry.getSingleMetric('trakt_api_requests_total') as unknown as {
    child(values: string[]): { value: number };
  };
  for (let e = 0; e < 2_000; e++)
    for (const status of [200, 201, 429, 500, 503]) family.child([`endpoint_${e}`, `${status}`]).value += e;
  // Keep only the counter in our registry, so both render the same 10,000 series.
  for (const metric of ours.registry.getMetricsAsArray())
    if (metric.name !== 'trakt_api_requests_total') ours.registry.removeSingleMetric(metric.name);
  let sink = 0;
  return {
    name: 'scrape of 10,000 series',
    baseline: {
      name: 'registry.metrics()',
      async run(n) {
        // byteLength flattens the string, as writing it to a socket would.
        for (let i = 0; i < n; i++) sink += Buffer.byteLength(await registry.metrics());
      },
    },
    candidate: {
      name: '@obs render',
      async run(n) {
        for (let i = 0; i < n; i++) sink += Buffer.byteLength(await ours.render());
      },
    },
    maxRatio: 1.05,
    teardown: () => {
      if (sink < 0) console.log(sink);
    },
  };
}

await runBenchmarks(
  '@obs/metrics',
  {
    'recordApiCall through the bus': recordCase,
    'scrape of 10,000 series': scrapeCase,
  },
  { rounds: 11, roundMs: 40 },
);
if (process.env['OBS_BENCH_CASE'] === undefined && !(await httpBench())) process.exitCode = 1;
