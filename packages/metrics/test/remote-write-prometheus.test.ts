import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMonitor, type ObsError, silentLogger } from '@obs/core';
import { debianTool, freePort, type RunningTool, startPrometheus, waitUntil } from '@obs/testing';
import { Gauge } from 'prom-client';
import { afterAll, describe, expect, test } from 'vitest';
import { metricsPlugin } from '../src/index.ts';

// A real Prometheus 2.42 as the remote write receiver (--web.enable-remote-write-receiver).
const prometheus = debianTool('prometheus');
const dir = mkdtempSync(join(tmpdir(), 'obs-remote-write-'));
const servers: RunningTool[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

// A remote write receiver on `port`, its TSDB in a folder of its own.
async function receiver(port: number, name: string, flags: readonly string[] = []): Promise<string> {
  const server = await startPrometheus(prometheus!, {
    dir,
    name,
    port,
    scrapeInterval: '1m',
    flags: ['--web.enable-remote-write-receiver', ...flags],
  });
  servers.push(server);
  return server.url;
}

type Vector = { metric: Record<string, string>; value: [number, string] }[];
async function query(url: string, expr: string, time?: number): Promise<Vector> {
  const params = new URLSearchParams({ query: expr });
  if (time !== undefined) params.set('time', `${time / 1000}`);
  const body = (await (await fetch(`${url}/api/v1/query?${params}`)).json()) as { data: { result: Vector } };
  return body.data.result;
}

function monitorFor(url: string, prometheus: Record<string, unknown> = {}) {
  const monitor = createMonitor({
    config: {
      metrics_port: 0,
      health_port: 0,
      host: '127.0.0.1',
      prometheus: {
        namespace: 'trakt',
        default_metrics: false,
        push_job: 'trakt-export',
        push_instance: 'batch-1',
        remote_write_url: `${url}/api/v1/write`,
        ...prometheus,
      },
    },
    plugins: [metricsPlugin()],
    logger: silentLogger,
  });
  const errors: ObsError[] = [];
  monitor.bus.on('obs:error', (e) => {
    errors.push(e.error as ObsError);
  });
  return { monitor, errors };
}

describe.skipIf(prometheus === undefined)('remote write to a real Prometheus 2.42', () => {
  test('a --once style run (start, work, stop within one interval) lands in Prometheus with the right values', async () => {
    const url = await receiver(await freePort(), 'once');
    const { monitor, errors } = monitorFor(url, { external_labels: { env: 'test' } });
    await monitor.start();
    monitor.recordApiCall('watched_movies', 200, 120);
    monitor.recordApiCall('watched_movies', 200, 80);
    monitor.recordApiCall('watched_movies', 429, 5);
    monitor.recordExport('movies', 'success', 150);
    monitor.updateCacheStats(0.75, 2048, 12);
    await monitor.stop();
    expect(errors).toEqual([]);
    const calls = await query(url, 'trakt_api_requests_total');
    expect(calls.map((r) => [r.metric['status'], r.value[1]]).sort()).toEqual([
      ['200', '2'],
      ['429', '1'],
    ]);
    expect(calls[0]?.metric).toMatchObject({
      job: 'trakt-export',
      instance: 'batch-1',
      env: 'test',
      endpoint: 'watched_movies',
    });
    expect((await query(url, 'trakt_export_items_total{type="movies",status="success"}'))[0]?.value[1]).toBe('150');
    expect((await query(url, 'trakt_cache_hit_ratio'))[0]?.value[1]).toBe('0.75');
    expect((await query(url, 'trakt_api_duration_seconds_count{endpoint="watched_movies"}'))[0]?.value[1]).toBe('3');
    expect((await query(url, 'trakt_api_duration_seconds_bucket{le="0.1"}'))[0]?.value[1]).toBe('2');
    // The error series of the seed's alerts exist at 0 from the start, in Prometheus too.
    expect((await query(url, 'trakt_export_operations_total{type="movies",status="error"}'))[0]?.value[1]).toBe('0');

    // A wrong path: Prometheus answers 404, which no retry can change. One clear error, nothing retried.
    const wrong = monitorFor(url, { remote_write_url: `${url}/api/v1/wirte` });
    await wrong.monitor.start();
    await wrong.monitor.stop();
    expect(wrong.errors).toHaveLength(1);
    expect(wrong.errors[0]?.code).toBe('OBS_ERR_METRICS_REMOTE_WRITE');
    expect(wrong.errors[0]?.message).toMatch(/at http:\/\/127\.0\.0\.1:\d+\/api\/v1\/wirte answered 404/);
  });

  test('native histograms arrive as native histograms, equal to the ones our own query API holds', async () => {
    const url = await receiver(await freePort(), 'native', ['--enable-feature=native-histograms']);
    const { monitor, errors } = monitorFor(url, { native_histograms: true });
    await monitor.start();
    for (const ms of [3, 40, 41, 250, 1800, 0]) monitor.recordApiCall('history', 200, ms);
    // Collected once for the store (the query API reads it), then sent by the final flush at stop.
    const ours = new URL('/api/v1/query', monitor.url('metrics'));
    ours.searchParams.set('query', 'trakt_api_duration_seconds');
    const mine = await waitUntil(
      async () => {
        const body = (await (await fetch(ours)).json()) as { data: { result: { histogram?: [number, unknown] }[] } };
        return body.data.result[0]?.histogram?.[1];
      },
      { what: 'the store to collect the histogram', timeoutMs: 20_000, intervalMs: 100 },
    );
    await monitor.stop();
    expect(errors).toEqual([]);
    const params = new URLSearchParams({ query: 'trakt_api_duration_seconds' });
    const body = (await (await fetch(`${url}/api/v1/query?${params}`)).json()) as {
      data: { result: { metric: Record<string, string>; histogram: [number, { count: string; sum: string }] }[] };
    };
    const [theirs] = body.data.result;
    expect(theirs?.metric).toMatchObject({ job: 'trakt-export', instance: 'batch-1', endpoint: 'history' });
    expect(theirs?.histogram[1]).toMatchObject({ count: '6', sum: '2.134' });
    expect(theirs?.histogram[1]).toEqual(mine);
    // The classic series go along as before.
    expect((await query(url, 'trakt_api_duration_seconds_count'))[0]?.value[1]).toBe('6');
  });

  test('a long run: a series that ends is stale in Prometheus at once; a Prometheus down for a while gets every sample', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const { monitor, errors } = monitorFor(url, { collect_interval: '100ms', remote_write_interval: '100ms' });
    let collections = 0;
    monitor.bus.on('metrics:collected', (e) => {
      if (e.samples.some((s) => s.name === 'trakt_worker_pool_active')) collections++;
    });
    await monitor.start();
    monitor.setActiveWorkers(4);
    const step = new Gauge({
      name: 'batch_step',
      help: 'h',
      labelNames: ['step'],
      registers: [monitor.service('metrics.registry')],
    });
    step.set({ step: 'fetch' }, 1);
    // Prometheus is not there yet: the samples wait in the queue.
    await waitUntil(() => collections >= 10, { what: 'ten collections' });
    const beforeEnd = Date.now();
    step.remove({ step: 'fetch' });
    await new Promise((r) => setTimeout(r, 300));
    expect(errors[0]?.message).toMatch(/ECONNREFUSED/);
    await receiver(port, 'down-and-back');
    await waitUntil(
      async () => {
        const text = await (await fetch(new URL('/metrics', monitor.url('metrics')))).text();
        return /obs_remote_write_pending_samples 0$/m.test(text) && /outcome="sent"\} [1-9]/.test(text);
      },
      { what: 'the queue to drain into Prometheus', intervalMs: 100 },
    ).catch(() => {}); // what was sent is asserted below
    await monitor.stop();
    const sent = collections + 1; // and the final collection at stop
    const [count] = await query(url, 'count_over_time(trakt_worker_pool_active[10m])');
    expect(Number(count?.value[1])).toBe(sent);
    expect((await query(url, 'max_over_time(trakt_worker_pool_active[10m])'))[0]?.value[1]).toBe('4');
    // The step series: present before its end, gone right after (the StaleNaN marker), not 5 minutes later.
    expect((await query(url, 'batch_step', beforeEnd - 50))[0]?.value[1]).toBe('1');
    expect(await query(url, 'batch_step')).toEqual([]);
    expect(Number((await query(url, 'count_over_time(batch_step[10m])'))[0]?.value[1])).toBeGreaterThanOrEqual(10);
  }, 60_000);
});
