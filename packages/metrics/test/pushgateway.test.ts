import { createMonitor, type ObsError, silentLogger } from '@obs/core';
import { debianTool, freePort, type RunningTool, startTool, waitUntil } from '@obs/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CONTENT_TYPES, createMetrics, metricsPlugin } from '../src/index.ts';
import { decodeMetricFamilies } from './fixtures/metric-family-decoder.ts';

const binary = debianTool('prometheus-pushgateway');
let gateway: RunningTool | undefined;
let url = '';

beforeAll(async () => {
  if (binary === undefined) return;
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  gateway = await startTool(
    binary,
    // Debian's build persists to /var/lib/prometheus/pushgateway.data by default, shared by every gateway started.
    [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file='],
    async () => (await fetch(`${url}/-/ready`)).ok,
  );
});
afterAll(async () => {
  await gateway?.stop();
});

async function pushed(): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

describe.skipIf(binary === undefined)('pushing to the real Pushgateway', () => {
  test('a batch job pushes while it runs and once more when it stops, grouped by job and instance', async () => {
    const monitor = createMonitor({
      config: {
        metrics_port: 0,
        health_port: 0,
        host: '127.0.0.1',
        prometheus: {
          pushgateway_url: url,
          namespace: 'trakt',
          push_job: 'trakt-export',
          push_instance: 'batch-1',
          push_interval: '50ms',
          default_metrics: false,
        },
      },
      plugins: [metricsPlugin()],
      logger: silentLogger,
    });
    await monitor.start();
    monitor.recordApiCall('watched_movies', 200, 120);
    let text = await waitUntil(
      async () => {
        const got = await pushed();
        // This job's own group: the Pushgateway also holds the groups of the tests before.
        return /^trakt_api_requests_total\{[^}]*instance="batch-1"/m.test(got) ? got : undefined;
      },
      { what: 'the first push of batch-1 to reach the Pushgateway' },
    );
    expect(text).toContain(
      'trakt_api_requests_total{endpoint="watched_movies",instance="batch-1",job="trakt-export",status="200"} 1',
    );
    monitor.recordExport('movies', 'success', 42);
    monitor.recordApiCall('watched_movies', 200, 80);
    await monitor.stop();
    text = await pushed();
    expect(text).toContain(
      'trakt_api_requests_total{endpoint="watched_movies",instance="batch-1",job="trakt-export",status="200"} 2',
    );
    expect(text).toContain(
      'trakt_export_items_total{instance="batch-1",job="trakt-export",status="success",type="movies"} 42',
    );
    expect(text).toMatch(/push_time_seconds\{instance="batch-1",job="trakt-export"\} \d/);
  });

  test('issue #18: native histograms are pushed as protobuf and the Pushgateway serves them back', async () => {
    const metrics = createMetrics({ namespace: 'trakt', defaultMetrics: false, nativeHistograms: true });
    for (const ms of [3, 45, 45, 800, 2_500]) metrics.recordApiCall('history', 200, ms);
    await metrics.push({ url, job: 'native-job', instance: 'n1' });
    const res = await fetch(`${url}/metrics`, { headers: { accept: CONTENT_TYPES.protobuf } });
    expect(res.headers.get('content-type')).toContain('application/vnd.google.protobuf');
    const family = decodeMetricFamilies(new Uint8Array(await res.arrayBuffer())).find(
      (f) => f.name === 'trakt_api_duration_seconds',
    )!;
    const metric = family.metrics.find((m) => m.labels['job'] === 'native-job')!;
    expect(metric.labels).toMatchObject({ endpoint: 'history', instance: 'n1' });
    const ours = decodeMetricFamilies(await metrics.encode()).find((f) => f.name === 'trakt_api_duration_seconds')!;
    const sent = ours.metrics[0]!.histogram!;
    expect(metric.histogram).toMatchObject({
      sampleCount: 5,
      schema: 3,
      zeroCount: 0,
      positiveSpans: sent.positiveSpans,
      positiveDeltas: sent.positiveDeltas,
    });
    // The classic buckets travel alongside.
    expect(metric.histogram!.buckets.find((b) => b.upperBound === 0.05)!.cumulativeCount).toBe(3);
  });

  test('grouping values with a slash are encoded as the Pushgateway expects', async () => {
    const metrics = createMetrics({ namespace: 'trakt', defaultMetrics: false });
    metrics.setActiveWorkers(3);
    await metrics.push({ url, job: 'jobs/nightly', instance: '', groupings: { region: 'eu' } });
    expect(await pushed()).toContain('trakt_worker_pool_active{instance="",job="jobs/nightly",region="eu"} 3');
  });
});

describe('a Pushgateway that is down', () => {
  test('push() rejects with a coded error naming the place, without credentials', async () => {
    const port = await freePort();
    const metrics = createMetrics({ namespace: 'trakt', defaultMetrics: false });
    const error = (await metrics
      .push({ url: `http://user:s3cret@127.0.0.1:${port}`, job: 'j', instance: 'i' })
      .catch((e) => e)) as ObsError;
    expect(error.code).toBe('OBS_ERR_METRICS_PUSH');
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).not.toContain('s3cret');
  });

  test('issue #19: a token in the query string of pushgateway_url is not printed either', async () => {
    const port = await freePort();
    const metrics = createMetrics({ namespace: 'trakt', defaultMetrics: false });
    const error = (await metrics
      .push({ url: `http://user:s3cret@127.0.0.1:${port}/?access_token=PGTOKEN-1`, job: 'j', instance: 'i' })
      .catch((e) => e)) as ObsError;
    expect(error.code).toBe('OBS_ERR_METRICS_PUSH');
    expect(error.message).not.toMatch(/s3cret|PGTOKEN-1|user:/);
  });

  test('the plugin reports obs:error and the app never sees a throw', async () => {
    const port = await freePort();
    const monitor = createMonitor({
      config: {
        metrics_port: 0,
        health_port: 0,
        host: '127.0.0.1',
        prometheus: { pushgateway_url: `http://127.0.0.1:${port}`, default_metrics: false },
      },
      plugins: [metricsPlugin()],
      logger: silentLogger,
    });
    const codes: string[] = [];
    monitor.bus.on('obs:error', (e) => void codes.push((e.error as ObsError).code));
    await monitor.start();
    await expect(monitor.stop()).resolves.toBeUndefined();
    expect(codes).toEqual(['OBS_ERR_METRICS_PUSH']);
  });
});
