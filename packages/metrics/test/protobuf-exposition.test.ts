import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createMonitor, loadConfig, ObsConfigError, silentLogger } from '@obs/core';
import { listenLoopback } from '@obs/testing';
import { context } from '@opentelemetry/api';
import { AsyncHooksContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import express from 'express';
import { Counter, Gauge, Histogram, Summary } from 'prom-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CONTENT_TYPES, createMetrics, metricsPlugin, negotiateFormat } from '../src/index.ts';
import { decodeMetricFamilies } from './fixtures/metric-family-decoder.ts';

// Prometheus 2.42's Accept header with --enable-feature=native-histograms (scrape/scrape.go).
const PROMETHEUS_PROTOBUF =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

describe('protobuf exposition', () => {
  test('is negotiated from Accept as Prometheus sends it, and only for delimited MetricFamily', () => {
    expect(negotiateFormat(PROMETHEUS_PROTOBUF)).toBe('protobuf');
    expect(
      negotiateFormat('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text'),
    ).toBe('prometheus');
    expect(
      negotiateFormat(
        'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,application/openmetrics-text;version=1.0.0',
      ),
    ).toBe('openmetrics');
    expect(negotiateFormat('application/vnd.google.protobuf;proto=other.Message;encoding=delimited')).toBe(
      'prometheus',
    );
  });

  const manager = new AsyncHooksContextManager();
  beforeAll(() => {
    context.setGlobalContextManager(manager.enable());
  });
  afterAll(() => {
    context.disable();
  });

  test('every metric type, ours and prom-client ones, with exemplars and native histograms, gzipped or not', async () => {
    const metrics = createMetrics({
      namespace: 'trakt',
      defaultMetrics: false,
      exportKinds: ['movies'],
      nativeHistograms: { bucketFactor: 1.1 },
    });
    const provider = new BasicTracerProvider();
    let ids = { traceId: '', spanId: '' };
    provider.getTracer('test').startActiveSpan('api', (span) => {
      ids = span.spanContext();
      metrics.recordApiCall('watched_movies', 200, 42);
      span.end();
    });
    metrics.recordApiCall('watched_movies', 503, 1500);
    metrics.updateCacheStats(0.75, 1024, 3);
    const reg = metrics.registry;
    new Counter({ name: 'app_jobs_total', help: 'Jobs', labelNames: ['kind'], registers: [reg] }).inc({ kind: 'a' }, 2);
    new Gauge({ name: 'app_queue', help: 'Queue', registers: [reg] }).set(7);
    const h = new Histogram({ name: 'app_latency_seconds', help: 'Latency', buckets: [0.1, 1], registers: [reg] });
    h.observe(0.05);
    h.observe(3);
    const s = new Summary({ name: 'app_size_bytes', help: 'Size', percentiles: [0.5], registers: [reg] });
    s.observe(10);

    const app = express();
    app.use('/metrics', metrics.handler());
    await using server = await listenLoopback(app);
    const url = new URL('/metrics', server.url);
    const res = await fetch(url, { headers: { accept: PROMETHEUS_PROTOBUF, 'accept-encoding': 'identity' } });
    expect(res.headers.get('content-type')).toBe(CONTENT_TYPES.protobuf);
    const body = new Uint8Array(await res.arrayBuffer());
    const families = Object.fromEntries(decodeMetricFamilies(body).map((f) => [f.name, f]));

    const requests = families['trakt_api_requests_total']!;
    expect(requests).toMatchObject({ type: 0, help: 'Total API requests' });
    const ok = requests.metrics.find((m) => m.labels['status'] === '200')!;
    expect(ok.labels).toEqual({ endpoint: 'watched_movies', status: '200' });
    expect(ok.counter).toMatchObject({
      value: 1,
      exemplar: { labels: { trace_id: ids.traceId, span_id: ids.spanId }, value: 1 },
    });
    expect(ok.counter!.exemplar!.timestamp).toBeGreaterThan(1e9);

    const duration = families['trakt_api_duration_seconds']!.metrics[0]!.histogram!;
    expect(duration).toMatchObject({ sampleCount: 2, schema: 3, zeroCount: 0, zeroThreshold: 2 ** -128 });
    expect(duration.sampleSum).toBeCloseTo(1.542, 9);
    // Classic buckets alongside, the exemplar on the bucket of 0.042 s, and in the native exemplars.
    expect(duration.buckets.map((b) => [b.upperBound, b.cumulativeCount])).toContainEqual([0.05, 1]);
    expect(duration.buckets.find((b) => b.upperBound === 0.05)!.exemplar!.labels['trace_id']).toBe(ids.traceId);
    expect(duration.exemplars.map((e) => e.value)).toEqual([0.042]);
    // 0.042 and 1.5 at schema 3: keys ceil(8*log2(v)).
    const k1 = Math.ceil(8 * Math.log2(0.042));
    const k2 = Math.ceil(8 * Math.log2(1.5));
    expect(duration.positiveSpans).toEqual([
      { offset: k1, length: 1 },
      { offset: k2 - k1 - 1, length: 1 },
    ]);
    expect(duration.positiveDeltas).toEqual([1, 0]);

    expect(families['trakt_cache_hit_ratio']!).toMatchObject({ type: 1, metrics: [{ gauge: { value: 0.75 } }] });
    expect(families['trakt_export_operations_total']!.metrics).toHaveLength(2);
    expect(families['trakt_system_memory_bytes']!.metrics.map((m) => m.labels['type'])).toContain('rss');

    expect(families['app_jobs_total']).toMatchObject({
      type: 0,
      metrics: [{ labels: { kind: 'a' }, counter: { value: 2 } }],
    });
    expect(families['app_queue']).toMatchObject({ type: 1, metrics: [{ gauge: { value: 7 } }] });
    const latency = families['app_latency_seconds']!.metrics[0]!.histogram!;
    expect(latency).toMatchObject({ sampleCount: 2, sampleSum: 3.05 });
    expect(latency.buckets).toEqual([
      { cumulativeCount: 1, upperBound: 0.1 },
      { cumulativeCount: 1, upperBound: 1 },
    ]);
    expect(latency.schema).toBeUndefined();
    expect(families['app_size_bytes']).toMatchObject({
      type: 2,
      metrics: [{ summary: { sampleCount: 1, sampleSum: 10, quantiles: [[0.5, 10]] } }],
    });

    // The text formats are unchanged: classic only.
    const text = await (await fetch(url)).text();
    expect(text).toContain('trakt_api_duration_seconds_bucket{le="0.05",endpoint="watched_movies"} 1');
    const { request } = await import('node:http');
    const zipped = await new Promise<Buffer>((resolve, reject) => {
      request(url, { headers: { accept: PROMETHEUS_PROTOBUF, 'accept-encoding': 'gzip' } }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => resolve(Buffer.concat(chunks)));
      })
        .on('error', reject)
        .end();
    });
    expect(decodeMetricFamilies(gunzipSync(zipped)).length).toBe(Object.keys(families).length);
  });
});

describe('native histograms in config', () => {
  /** A started monitor with these `[monitoring.prometheus]` keys; its HTTP middleware has served one request. */
  async function servedOnce(prometheus: Record<string, unknown>) {
    const monitor = await createMonitor({
      config: { metrics_port: 0, health_port: 0, host: '127.0.0.1', prometheus },
      plugins: [metricsPlugin()],
      logger: silentLogger,
    }).start();
    const metrics = monitor.service('metrics');
    const app = express();
    app.use(metrics.httpMiddleware());
    app.get('/x', (_req, res) => void res.end('ok'));
    const server = await listenLoopback(app);
    await fetch(new URL('/x', server.url)).then((r) => r.text());
    return {
      monitor,
      metrics,
      async [Symbol.asyncDispose]() {
        await server[Symbol.asyncDispose]();
        await monitor.stop();
      },
    };
  }

  test('[monitoring.prometheus] native_histograms makes the API and HTTP histograms native, with the keys given', async () => {
    await using run = await servedOnce({
      namespace: 'trakt',
      default_metrics: false,
      native_histograms: true,
      bucket_factor: 2,
      zero_threshold: 0.001,
    });
    const { monitor, metrics } = run;
    monitor.recordApiCall('history', 200, 0.5);
    monitor.recordApiCall('history', 200, 3000);
    const families = Object.fromEntries(decodeMetricFamilies(await metrics.encode()).map((f) => [f.name, f]));
    const api = families['trakt_api_duration_seconds']!.metrics[0]!.histogram!;
    // 0.0005 s lies within the zero bucket; 3 s in bucket 2 of schema 0: (2, 4].
    expect(api).toMatchObject({
      schema: 0,
      zeroThreshold: 0.001,
      zeroCount: 1,
      positiveSpans: [{ offset: 2, length: 1 }],
    });
    for (const name of ['http_server_request_duration_seconds', 'http_server_response_size_bytes'])
      expect(families[name]!.metrics[0]!.histogram!.schema).toBe(0);
  });

  test('a per-metric option overrides the config, and bad options throw with their path', async () => {
    const metrics = createMetrics({ namespace: 'trakt', defaultMetrics: false, nativeHistograms: true });
    metrics.httpMiddleware({ nativeHistograms: false });
    metrics.recordApiCall('history', 200, 5);
    const families = decodeMetricFamilies(await metrics.encode());
    expect(families.find((f) => f.name === 'trakt_api_duration_seconds')!.metrics[0]!.histogram!.schema).toBe(3);
    expect(() => createMetrics({ nativeHistograms: { bucketFactor: 1, maxBuckets: -1 } })).toThrow(ObsConfigError);
    try {
      createMetrics({ nativeHistograms: { bucketFactor: 1, maxBuckets: 1.5 } });
    } catch (err) {
      expect((err as ObsConfigError).issues.map((i) => i.path)).toEqual([
        'nativeHistograms.bucketFactor',
        'nativeHistograms.maxBuckets',
      ]);
    }
    expect(() => createMetrics().httpMiddleware({ nativeHistograms: { zeroThreshold: -1 } })).toThrow(ObsConfigError);
  });

  test('classicBuckets: false leaves only +Inf, _sum and _count in text, as client_golang native-only histograms', async () => {
    const metrics = createMetrics({
      namespace: 'trakt',
      defaultMetrics: false,
      nativeHistograms: { classicBuckets: false },
    });
    metrics.recordApiCall('history', 200, 5);
    const text = await metrics.render();
    expect(text).toContain('trakt_api_duration_seconds_bucket{le="+Inf",endpoint="history"} 1');
    expect(text).not.toContain('le="0.005"');
    const [h] = decodeMetricFamilies(await metrics.encode())
      .filter((f) => f.name === 'trakt_api_duration_seconds')
      .map((f) => f.metrics[0]!.histogram!);
    expect(h).toMatchObject({ sampleCount: 1, buckets: [], schema: 3 });
    expect(() => createMetrics({ nativeHistograms: { classicBuckets: 'no' as never } })).toThrow(ObsConfigError);
  });

  test('[monitoring.prometheus] classic_buckets = false: native buckets only, for the API and the HTTP histograms', async () => {
    await using run = await servedOnce({
      namespace: 'trakt',
      default_metrics: false,
      native_histograms: true,
      classic_buckets: false,
    });
    const { monitor, metrics } = run;
    monitor.recordApiCall('history', 200, 5);
    const text = await metrics.render();
    expect(text).toContain('trakt_api_duration_seconds_bucket{le="+Inf",endpoint="history"} 1');
    expect(text).not.toMatch(/trakt_api_duration_seconds_bucket\{le="0\.005"/);
    expect(text).not.toMatch(/http_server_request_duration_seconds_bucket\{le="0\.005"/);
    const families = Object.fromEntries(decodeMetricFamilies(await metrics.encode()).map((f) => [f.name, f]));
    expect(families['trakt_api_duration_seconds']!.metrics[0]!.histogram).toMatchObject({ buckets: [], schema: 3 });
    expect(families['http_server_request_duration_seconds']!.metrics[0]!.histogram).toMatchObject({
      buckets: [],
      schema: 3,
    });
  });

  test('bad keys in the TOML file are config errors naming key and line, every one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'obs-native-'));
    try {
      const file = join(dir, 'config.toml');
      writeFileSync(
        file,
        [
          '[monitoring.prometheus]',
          'native_histograms = "yes"',
          'bucket_factor = 1.0',
          'max_buckets = -3',
          'zero_threshold = -1.0',
          'min_reset_duration = "soon"',
          'classic_buckets = 0',
          '',
        ].join('\n'),
      );
      let thrown: unknown;
      try {
        loadConfig({ file, env: {}, plugins: [metricsPlugin()] });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ObsConfigError);
      const issues = (thrown as ObsConfigError).issues.map((i) => [
        i.path.replace(/^monitoring\.prometheus\./, ''),
        i.line,
      ]);
      expect(issues).toEqual(
        expect.arrayContaining([
          ['native_histograms', 2],
          ['bucket_factor', 3],
          ['max_buckets', 4],
          ['zero_threshold', 5],
          ['min_reset_duration', 6],
          ['classic_buckets', 7],
        ]),
      );
      const config = loadConfig({ env: {}, plugins: [metricsPlugin()] });
      expect(config.prometheus).toMatchObject({
        native_histograms: false,
        bucket_factor: 1.1,
        max_buckets: 160,
        zero_threshold: 2 ** -128,
        max_zero_threshold: 0,
        min_reset_duration: 0,
        classic_buckets: true,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
