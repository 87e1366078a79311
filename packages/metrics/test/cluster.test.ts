import cluster, { type Worker } from 'node:cluster';
import { join } from 'node:path';
import { createMonitor, type ObsError, silentLogger } from '@obs/core';
import { afterAll, describe, expect, test } from 'vitest';
import { CONTENT_TYPES, metricsPlugin } from '../src/index.ts';
import { bucketKey } from '../src/internal/native-histogram.ts';
import { decodeMetricFamilies } from './fixtures/metric-family-decoder.ts';

// The seed's names, which the demo's config.toml sets: the defaults are neutral.
const SEED = { namespace: 'trakt', export_kinds: ['movies', 'ratings', 'watchlist'] };
const workers: Worker[] = [];
afterAll(async () => {
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.isDead()) return resolve();
          w.once('exit', () => resolve());
          w.process.kill('SIGTERM');
        }),
    ),
  );
});

async function fork(env: Record<string, string>): Promise<Worker> {
  const worker = cluster.fork(env);
  workers.push(worker);
  await new Promise<void>((resolve, reject) => {
    worker.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(String(m)))));
    worker.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  });
  return worker;
}

describe('Node cluster', () => {
  test("the primary's /metrics is the aggregate of its real forked workers", async () => {
    cluster.setupPrimary({
      exec: join(import.meta.dirname, 'fixtures/cluster-worker.ts'),
      execArgv: ['--import', 'tsx', '--conditions=@obs/source'],
      silent: true,
    });
    await Promise.all([
      fork({ CALLS: '1', RATIO: '0.2' }),
      fork({ CALLS: '2', RATIO: '0.4' }),
      fork({ CALLS: '3', RATIO: '0.6' }),
    ]);
    const monitor = createMonitor({
      config: { metrics_port: 0, health_port: 0, host: '127.0.0.1', prometheus: { ...SEED, default_metrics: false } },
      plugins: [metricsPlugin({ cluster: 'primary' })],
      logger: silentLogger,
    });
    await monitor.start();
    try {
      const text = await (await fetch(new URL('/metrics', monitor.url('metrics')))).text();
      expect(text).toContain('trakt_api_requests_total{endpoint="watched_movies",status="200"} 6');
      expect(text).toContain('trakt_api_duration_seconds_count{endpoint="watched_movies"} 6');
      expect(text).toContain('trakt_api_duration_seconds_bucket{le="0.1",endpoint="watched_movies"} 6');
      expect(text).toContain('trakt_worker_pool_active 3');
      expect(Number(/^trakt_cache_hit_ratio (\S+)$/m.exec(text)?.[1])).toBeCloseTo(0.4, 9);
      expect(text).toContain('trakt_cache_entries 30');
    } finally {
      await monitor.stop();
    }
  });

  test('a worker that does not answer is left out and reported, and the scrape still answers', async () => {
    const hung = cluster.fork({ CALLS: '0', RATIO: '0' });
    workers.push(hung);
    // Not waited for: it is still starting (its listener is not installed), so it cannot answer in time.
    const codes: string[] = [];
    const monitor = createMonitor({
      config: { metrics_port: 0, health_port: 0, host: '127.0.0.1', prometheus: { ...SEED, default_metrics: false } },
      plugins: [metricsPlugin({ cluster: 'primary', clusterTimeoutMs: 1 })],
      logger: silentLogger,
    });
    monitor.bus.on('obs:error', (e) => void codes.push((e.error as ObsError).code));
    await monitor.start();
    await new Promise<void>((resolve) => hung.once('online', () => resolve()));
    try {
      const res = await fetch(new URL('/metrics', monitor.url('metrics')));
      expect(res.status).toBe(200);
      expect(codes).toContain('OBS_ERR_METRICS_CLUSTER');
    } finally {
      await monitor.stop();
    }
  });

  test("issue #18: the primary's protobuf /metrics sums the workers' native histograms, at the lowest schema", async () => {
    // Only the native workers of this test answer.
    for (const w of workers.splice(0))
      if (!w.isDead())
        await new Promise<void>((resolve) => {
          w.once('exit', () => resolve());
          w.process.kill('SIGTERM');
        });
    await Promise.all([
      fork({ CALLS: '1', RATIO: '0', NATIVE: '1', MS: '100' }),
      fork({ CALLS: '2', RATIO: '0', NATIVE: '1', MS: '3000' }),
      // Factor 2: schema 0, so the sum is at schema 0.
      fork({ CALLS: '3', RATIO: '0', NATIVE: '1', MS: '100', FACTOR: '2' }),
    ]);
    const monitor = createMonitor({
      config: { metrics_port: 0, health_port: 0, host: '127.0.0.1', prometheus: { ...SEED, default_metrics: false } },
      plugins: [metricsPlugin({ cluster: 'primary' })],
      logger: silentLogger,
    });
    await monitor.start();
    try {
      const res = await fetch(new URL('/metrics', monitor.url('metrics')), {
        headers: { accept: CONTENT_TYPES.protobuf },
      });
      const families = decodeMetricFamilies(new Uint8Array(await res.arrayBuffer()));
      const h = families.find((f) => f.name === 'trakt_api_duration_seconds')!.metrics[0]!.histogram!;
      expect(h).toMatchObject({ sampleCount: 6, schema: 0, zeroCount: 0 });
      expect(h.sampleSum).toBeCloseTo(6.4, 9);
      // 0.1 s in bucket key(0.1) of schema 0, 3 s in key(3): four and two observations.
      const k1 = bucketKey(0.1, 0);
      const k2 = bucketKey(3, 0);
      expect(h.positiveSpans).toEqual([
        { offset: k1, length: 1 },
        { offset: k2 - k1 - 1, length: 1 },
      ]);
      expect(h.positiveDeltas).toEqual([4, -2]);
      // Classic buckets summed alongside.
      expect(h.buckets.find((b) => b.upperBound === 0.1)!.cumulativeCount).toBe(4);
    } finally {
      await monitor.stop();
    }
  });
});
