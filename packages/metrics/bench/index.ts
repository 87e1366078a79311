// pnpm bench: @obs/metrics' hot paths against prom-client and express-prom-bundle, measured in one run.

import { EventEmitter } from 'node:events';
import { gzipSync } from 'node:zlib';
import { createMonitor, silentLogger } from '@obs/core';
import { type BenchCase, middlewareSides, runBenchmarks } from '@obs/testing/bench';
import { Counter, Histogram, Registry } from 'prom-client';
import { createMetrics, DEFAULT_BUCKETS, metricsPlugin } from '../src/index.ts';
import { HistogramFamily } from '../src/internal/families.ts';
import { nativeConfig } from '../src/internal/native-histogram.ts';
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

// Durations from 1 ms to 5 s, spread evenly on a log scale (a golden-ratio sequence), the same for every side.
const DURATIONS = Float64Array.from({ length: 1024 }, (_, i) => 0.001 * 5000 ** ((i * 0.6180339887) % 1));

function apiHistogram(native: boolean): HistogramFamily {
  return new HistogramFamily({
    name: 'trakt_api_duration_seconds',
    help: 'API request duration',
    labelNames: ['endpoint'],
    buckets: DEFAULT_BUCKETS,
    native: native ? nativeConfig({}) : undefined,
  });
}

// Native observe (client_golang's defaults: factor 1.1, 160 buckets, classic buckets kept) against our classic one.
function nativeObserveCase(): BenchCase {
  const classic = apiHistogram(false);
  const native = apiHistogram(true);
  const c = classic.child(['watched_movies']);
  const n = native.child(['watched_movies']);
  return {
    name: 'native observe vs our classic',
    baseline: {
      name: 'classic observe',
      run(count) {
        for (let i = 0; i < count; i++) classic.observe(c, DURATIONS[i & 1023]!);
      },
    },
    candidate: {
      name: 'native observe',
      run(count) {
        for (let i = 0; i < count; i++) native.observe(n, DURATIONS[i & 1023]!);
      },
    },
    maxRatio: 1.5,
  };
}

// The same against prom-client's classic histogram (a resolved child, so no label hashing).
function nativeVsPromClientCase(): BenchCase {
  const registry = new Registry();
  const histogram = new Histogram({
    name: 'trakt_api_duration_seconds',
    help: 'h',
    labelNames: ['endpoint'],
    registers: [registry],
  });
  const child = histogram.labels('watched_movies');
  const native = apiHistogram(true);
  const n = native.child(['watched_movies']);
  return {
    name: 'native observe vs prom-client classic',
    baseline: {
      name: 'prom-client observe',
      run(count) {
        for (let i = 0; i < count; i++) child.observe(DURATIONS[i & 1023]!);
      },
    },
    candidate: {
      name: 'native observe',
      run(count) {
        for (let i = 0; i < count; i++) native.observe(n, DURATIONS[i & 1023]!);
      },
    },
  };
}

// 10,000 counter series in our registry (2,000 endpoints x 5 statuses).
function tenThousandSeries(): ReturnType<typeof createMetrics> {
  const ours = createMetrics({
    namespace: 'trakt',
    defaultMetrics: false,
    exportKinds: [],
    cardinalityLimit: 100_000,
    exemplars: false,
  });
  const family = ours.registry.getSingleMetric('trakt_api_requests_total') as unknown as {
    child(values: string[]): { value: number };
  };
  for (let e = 0; e < 2_000; e++)
    for (const status of [200, 201, 429, 500, 503]) family.child([`endpoint_${e}`, `${status}`]).value += e;
  for (const metric of ours.registry.getMetricsAsArray())
    if (metric.name !== 'trakt_api_requests_total') ours.registry.removeSingleMetric(metric.name);
  return ours;
}

function protobufScrapeCase(): BenchCase {
  const ours = tenThousandSeries();
  let sink = 0;
  return {
    name: 'protobuf vs text, 10,000 series',
    baseline: {
      name: 'text render',
      async run(n) {
        for (let i = 0; i < n; i++) sink += Buffer.byteLength(await ours.render());
      },
    },
    candidate: {
      name: 'protobuf encode',
      async run(n) {
        for (let i = 0; i < n; i++) sink += (await ours.encode()).length;
      },
    },
    maxRatio: 1,
    teardown: () => {
      if (sink < 0) console.log(sink);
    },
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
  for (let e = 0; e < 2_000; e++) {
    for (const status of [200, 201, 429, 500, 503]) {
      counter.inc({ endpoint: `endpoint_${e}`, status }, e);
    }
  }
  // The same 10,000 series in ours.
  const ours = tenThousandSeries();
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

// The HTTP middleware's own cost per request, without the HTTP stack around it (#22): an express-like request
// whose route the app's router knows, and a response that closes at once, against the same dispatch without it.
// Under autocannon (below) a bare express request costs some hundred times more.
async function middlewareCase(): Promise<BenchCase> {
  const middleware = createMetrics({ defaultMetrics: false }).httpMiddleware();
  const route = { path: '/movies/:id' };
  const req = {
    method: 'GET',
    url: '/movies/42',
    headers: { host: '127.0.0.1:8080' },
    route,
    baseUrl: '',
    app: { router: { stack: [{ route }] } },
  } as unknown as Parameters<typeof middleware>[0];
  const response = () =>
    Object.assign(new EventEmitter(), {
      statusCode: 200,
      getHeader: (name: string) => (name === 'content-length' ? '48' : undefined),
    }) as unknown as Parameters<typeof middleware>[1];
  return { name: 'httpMiddleware, per request', ...middlewareSides('httpMiddleware', middleware, req, response) };
}

await runBenchmarks(
  '@obs/metrics',
  {
    'recordApiCall through the bus': recordCase,
    'scrape of 10,000 series': scrapeCase,
    'native observe vs our classic': nativeObserveCase,
    'native observe vs prom-client classic': nativeVsPromClientCase,
    'protobuf vs text, 10,000 series': protobufScrapeCase,
    'httpMiddleware, per request': middlewareCase,
  },
  { rounds: 11, roundMs: 40 },
);
if (process.env['OBS_BENCH_CASE'] === undefined) {
  const ours = tenThousandSeries();
  const text = Buffer.from(await ours.render());
  const proto = await ours.encode();
  const kb = (n: number): string => `${(n / 1024).toFixed(0)} KiB`;
  console.log(
    `bytes of one scrape of 10,000 series: text ${kb(text.length)} (gzip ${kb(gzipSync(text).length)}), protobuf ${kb(proto.length)} (gzip ${kb(gzipSync(proto).length)})`,
  );
}
if (process.env['OBS_BENCH_CASE'] === undefined && !(await httpBench())) process.exitCode = 1;
