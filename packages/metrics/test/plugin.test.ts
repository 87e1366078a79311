import { type ConfigInput, createMonitor, type Monitor, ObsError, silentLogger } from '@obs/core';
import { testPluginContract } from '@obs/testing';
import { afterEach, describe, expect, test } from 'vitest';
import { metricsPlugin } from '../src/index.ts';

const base = { metrics_port: 0, health_port: 0, host: '127.0.0.1' };
// The seed's names, which the demo's config.toml sets: the defaults are neutral.
const SEED = { namespace: 'trakt', export_kinds: ['movies', 'ratings', 'watchlist'] };
const monitors: Monitor[] = [];
afterEach(async () => {
  for (const m of monitors.splice(0)) await m.stop();
});

async function started(config: ConfigInput = {}) {
  const plugin = metricsPlugin();
  const monitor = createMonitor({ config: { ...base, ...config }, plugins: [plugin], logger: silentLogger });
  monitors.push(monitor);
  await monitor.start();
  const scrape = async (headers: Record<string, string> = {}) => {
    const res = await fetch(new URL('/metrics', monitor.url('metrics')), { headers });
    return { res, text: await res.text() };
  };
  return { monitor, plugin, scrape };
}

testPluginContract(() => metricsPlugin(), {
  listeners: ['metrics'],
  config: { prometheus: { ...SEED, default_metrics: false } },
});

describe('a generic app (issue #13)', () => {
  test("never calling the seed's recorders, it gets no trakt_* name and no API, cache, export or worker series", async () => {
    const { monitor, scrape } = await started({ prometheus: { default_metrics: false, collect_interval: '20ms' } });
    const { text } = await scrape();
    expect(text).not.toContain('trakt');
    const series = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(series.filter((l) => /^(api|cache|export|worker)_/.test(l))).toEqual([]);
    const collected = await new Promise<readonly { name: string }[]>((resolve) => {
      const off = monitor.bus.on('metrics:collected', (e) => {
        off();
        resolve(e.samples);
      });
    });
    expect(collected.map((s) => s.name).filter((n) => /^(api|cache|export|worker)_/.test(n))).toEqual([]);
    // Once the app reports its work, the series appear under the neutral names.
    monitor.updateCacheStats(0.5, 10);
    monitor.setActiveWorkers(2);
    expect((await scrape()).text).toMatch(/^cache_hit_ratio 0\.5$/m);
    expect((await scrape()).text).toMatch(/^worker_pool_active 2$/m);
  });
});

describe('the seed metric set on /metrics', () => {
  test("the recorders' events become the seed's metrics, with the seed's names", async () => {
    const { monitor, scrape } = await started({ prometheus: { ...SEED, default_metrics: false } });
    monitor.recordApiCall('watched_movies', 200, 145);
    monitor.recordApiCall('watched_movies', 200, 80);
    monitor.recordApiCall('watched_movies', 429, 3);
    monitor.updateCacheStats(0.847, 1_258_291, 456);
    monitor.recordExport('movies', 'success', 150);
    monitor.setActiveWorkers(4);
    const { res, text } = await scrape();
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(text).toContain(
      '# HELP trakt_api_requests_total Total API requests\n# TYPE trakt_api_requests_total counter',
    );
    expect(text).toContain('trakt_api_requests_total{endpoint="watched_movies",status="200"} 2');
    expect(text).toContain('trakt_api_requests_total{endpoint="watched_movies",status="429"} 1');
    expect(text).toContain('trakt_api_duration_seconds_bucket{le="0.1",endpoint="watched_movies"} 2');
    expect(text).toContain('trakt_api_duration_seconds_bucket{le="0.25",endpoint="watched_movies"} 3');
    expect(text).toContain('trakt_api_duration_seconds_bucket{le="+Inf",endpoint="watched_movies"} 3');
    expect(Number(/trakt_api_duration_seconds_sum\{endpoint="watched_movies"\} (\S+)/.exec(text)?.[1])).toBeCloseTo(
      0.228,
      9,
    );
    expect(text).toContain('trakt_api_duration_seconds_count{endpoint="watched_movies"} 3');
    expect(text).toContain('trakt_cache_hit_ratio 0.847');
    expect(text).toContain('trakt_cache_size_bytes 1258291');
    expect(text).toContain('trakt_cache_entries 456');
    expect(text).toContain('trakt_export_operations_total{type="movies",status="success"} 1');
    expect(text).toContain('trakt_export_items_total{type="movies",status="success"} 150');
    expect(text).toContain('trakt_worker_pool_active 4');
    expect(text).toMatch(/trakt_system_memory_bytes\{type="heap_used"\} \d+/);
    expect(text).toMatch(/trakt_system_memory_bytes\{type="rss"\} \d+/);
    expect(text).not.toContain('process_cpu_user_seconds_total');
  });

  test('error series start at 0, so that a first error shows as an increase', async () => {
    const { scrape } = await started({ prometheus: { ...SEED, default_metrics: false } });
    const { text } = await scrape();
    for (const kind of ['movies', 'ratings', 'watchlist']) {
      expect(text).toContain(`trakt_export_operations_total{type="${kind}",status="error"} 0`);
    }
  });

  test('a new export kind gets its error series at 0 the first time it is seen', async () => {
    const { monitor, scrape } = await started({ prometheus: { ...SEED, default_metrics: false } });
    monitor.recordExport('shows', 'success', 3);
    expect((await scrape()).text).toContain('trakt_export_operations_total{type="shows",status="error"} 0');
  });

  test('namespace and subsystem build the names as Prometheus does', async () => {
    const { monitor, scrape } = await started({
      prometheus: { namespace: 'acme', subsystem: 'exporter', default_metrics: false },
    });
    monitor.recordApiCall('ratings', 200, 1);
    const { text } = await scrape();
    expect(text).toContain('acme_exporter_api_requests_total{endpoint="ratings",status="200"} 1');
    expect(text).toContain('# TYPE acme_exporter_worker_pool_active gauge');
    expect(text).not.toContain('trakt_');
  });

  test("Node's default metrics are on by default", async () => {
    const { text } = await (await started()).scrape();
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(text).toContain('nodejs_heap_size_total_bytes');
  });

  test('health changes, alerts, errors and drops from the bus', async () => {
    const { monitor, scrape } = await started({ prometheus: { ...SEED, default_metrics: false } });
    const result = { status: 'degraded' as const, latencyMs: 3 };
    monitor.bus.emit('health:changed', { check: 'cache', previous: 'healthy', current: 'degraded', result });
    monitor.bus.emit('health:changed', {
      check: 'overall',
      previous: undefined,
      current: 'healthy',
      result: { ...result, status: 'healthy' },
    });
    const labels = { severity: 'warning', endpoint: 'ratings' };
    monitor.bus.emit('alert:changed', { rule: 'APIErrorRateHigh', state: 'pending', labels, value: 0.2, activeAt: 1 });
    let text = (await scrape()).text;
    expect(text).toContain('trakt_health_status{check="cache"} 0.5');
    expect(text).toContain('trakt_health_status{check="overall"} 1');
    expect(text).toContain(
      'ALERTS{alertname="APIErrorRateHigh",alertstate="pending",endpoint="ratings",severity="warning"} 1',
    );
    monitor.bus.emit('alert:changed', { rule: 'APIErrorRateHigh', state: 'firing', labels, value: 0.3, activeAt: 1 });
    monitor.bus.emit('obs:error', {
      plugin: '@obs/tracing',
      error: new ObsError('OBS_ERR_TRACING_EXPORT', 'collector down'),
    });
    monitor.bus.emit('obs:dropped', { plugin: '@obs/tracing', what: 'spans', count: 12 });
    monitor.bus.emit('alert:notified', { channel: 'slack', outcome: 'sent', attempts: 2 });
    text = (await scrape()).text;
    expect(text).not.toContain('alertstate="pending"');
    expect(text).toContain(
      'ALERTS{alertname="APIErrorRateHigh",alertstate="firing",endpoint="ratings",severity="warning"} 1',
    );
    expect(text).toContain('obs_errors_total{plugin="@obs/tracing",code="OBS_ERR_TRACING_EXPORT"} 1');
    expect(text).toContain('obs_dropped_total{plugin="@obs/tracing",what="spans"} 12');
    expect(text).toContain('obs_alert_notifications_total{channel="slack",outcome="sent"} 1');
    monitor.bus.emit('alert:changed', {
      rule: 'APIErrorRateHigh',
      state: 'inactive',
      labels,
      value: 0,
      activeAt: undefined,
    });
    expect((await scrape()).text).not.toContain('ALERTS{');
  });

  test('the registry and the descriptors are services', async () => {
    const { monitor } = await started({ prometheus: { ...SEED, default_metrics: false } });
    const registry = monitor.service('metrics.registry');
    const { Counter } = await import('prom-client');
    new Counter({ name: 'app_jobs_total', help: 'Jobs', registers: [registry] }).inc(3);
    const names = monitor
      .service('metrics.descriptors')()
      .map((d) => d.name);
    expect(names).toEqual(
      expect.arrayContaining(['trakt_api_requests_total', 'trakt_api_duration_seconds', 'app_jobs_total']),
    );
    const duration = monitor
      .service('metrics.descriptors')()
      .find((d) => d.name === 'trakt_api_duration_seconds');
    expect(duration).toEqual({
      name: 'trakt_api_duration_seconds',
      type: 'histogram',
      help: 'API request duration',
      labelNames: ['endpoint'],
      unit: 'seconds',
    });
    const res = await fetch(new URL('/metrics', monitor.url('metrics')));
    expect(await res.text()).toContain('app_jobs_total 3');
  });

  test('the endpoint path comes from config; other methods get 405', async () => {
    const { monitor } = await started({ prometheus: { endpoint: '/prom', default_metrics: false } });
    const url = new URL('/prom', monitor.url('metrics'));
    expect((await fetch(url)).status).toBe(200);
    // Writes that pass core's guard (same host, JSON or no body) reach the route, which allows only reads.
    expect(
      (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status,
    ).toBe(405);
    expect((await fetch(url, { method: 'DELETE' })).status).toBe(405);
    expect((await fetch(new URL('/metrics', monitor.url('metrics')))).status).toBe(404);
  });

  test('disabled by [monitoring.prometheus] enabled = false', async () => {
    const plugin = metricsPlugin();
    const monitor = createMonitor({
      config: { ...base, prometheus: { enabled: false } },
      plugins: [plugin],
      logger: silentLogger,
    });
    monitors.push(monitor);
    await monitor.start();
    expect(() => monitor.url('metrics')).toThrow(expect.objectContaining({ code: 'OBS_ERR_ENDPOINT_NOT_BOUND' }));
  });

  test('bad plugin config is reported with the key path', () => {
    expect(() =>
      createMonitor({
        config: { ...base, prometheus: { buckets: [1, 0.5], cardinality_limit: 0 } },
        plugins: [metricsPlugin()],
      }),
    ).toThrow(
      expect.objectContaining({
        code: 'OBS_ERR_CONFIG_INVALID',
        issues: expect.arrayContaining([
          expect.objectContaining({ path: 'monitoring.prometheus.buckets' }),
          expect.objectContaining({ path: 'monitoring.prometheus.cardinality_limit' }),
        ]),
      }),
    );
  });
});

describe('metrics:collected', () => {
  test('snapshots every sample on the collection tick while someone listens', async () => {
    const { monitor } = await started({ prometheus: { ...SEED, default_metrics: false, collect_interval: '20ms' } });
    monitor.recordApiCall('history', 500, 12);
    const event = await new Promise<{
      at: number;
      samples: readonly { name: string; labels: Record<string, string>; value: number }[];
    }>((resolve) => {
      const off = monitor.bus.on('metrics:collected', (e) => {
        off();
        resolve(e);
      });
    });
    expect(event.at).toBeGreaterThan(Date.now() - 5_000);
    expect(event.samples).toEqual(
      expect.arrayContaining([
        { name: 'trakt_api_requests_total', labels: { endpoint: 'history', status: '500' }, value: 1 },
        { name: 'trakt_api_duration_seconds_bucket', labels: { endpoint: 'history', le: '0.025' }, value: 1 },
        { name: 'trakt_api_duration_seconds_count', labels: { endpoint: 'history' }, value: 1 },
      ]),
    );
  });
});
