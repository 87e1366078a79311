import { spawn } from 'node:child_process';
import {
  type ConfigInput,
  createMonitor,
  loadConfig,
  type Monitor,
  ObsConfigError,
  ObsError,
  silentLogger,
} from '@obs/core';
import { freePort, testPluginContract } from '@obs/testing';
import { Gauge } from 'prom-client';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { metricsPlugin } from '../src/index.ts';
import { type Receiver, startReceiver } from './fixtures/remote-write-receiver.ts';

const base = { metrics_port: 0, health_port: 0, host: '127.0.0.1' };

// The plugin with remote write on keeps the contract: no timer, socket or request outlives stop. Its
// receiver runs in another process, whose sockets and timers the contract must not count as ours.
const contractReceiver = spawn(
  process.execPath,
  [
    '-e',
    "require('node:http').createServer((q, s) => q.resume().on('end', () => s.writeHead(204).end())).listen(0, '127.0.0.1', function () { console.log(this.address().port) })",
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const contractPort = await new Promise<number>((resolve) =>
  contractReceiver.stdout?.once('data', (d: Buffer) => resolve(Number(d))),
);
afterAll(() => {
  contractReceiver.kill();
});
testPluginContract(() => metricsPlugin(), {
  listeners: ['metrics'],
  config: {
    prometheus: {
      default_metrics: false,
      remote_write_url: `http://127.0.0.1:${contractPort}/api/v1/write`,
      remote_write_interval: '20ms',
    },
  },
});
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  cleanup.push(() => r.close());
  return r;
}

function monitorWith(prometheus: ConfigInput['prometheus'], more: ConfigInput = {}) {
  const monitor = createMonitor({
    config: { ...base, ...more, prometheus: { default_metrics: false, namespace: 'trakt', ...prometheus } },
    plugins: [metricsPlugin()],
    logger: silentLogger,
  });
  const errors: ObsError[] = [];
  const dropped: number[] = [];
  monitor.bus.on('obs:error', (e) => {
    errors.push(e.error as ObsError);
  });
  monitor.bus.on('obs:dropped', (e) => {
    if (e.what === 'remote_write') dropped.push(e.count);
  });
  cleanup.push(() => monitor.stop());
  return { monitor, errors, dropped };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function scrape(monitor: Monitor): Promise<string> {
  return (await fetch(new URL('/metrics', monitor.url('metrics')))).text();
}

describe('remote write 1.0 to a loopback receiver', () => {
  test('a run that stops before one interval sends its samples with the protocol headers, metadata and external labels', async () => {
    const r = await receiver();
    const { monitor, errors } = monitorWith({
      remote_write_url: new URL('/api/v1/write', r.url).href,
      remote_write_interval: '1h',
      remote_write_headers: { 'X-Scope-OrgID': 'tenant-1' },
      push_job: 'batch',
      push_instance: 'host-1',
      external_labels: { region: 'eu', job: 'override' },
    });
    await monitor.start();
    monitor.recordApiCall('watched_movies', 200, 120);
    monitor.recordApiCall('watched_movies', 200, 80);
    monitor.recordExport('movies', 'success', 150);
    await monitor.stop();
    expect(errors).toEqual([]);
    expect(r.requests.length).toBeGreaterThan(0);
    const h = r.requests[0]!.headers;
    expect(h['content-encoding']).toBe('snappy');
    expect(h['content-type']).toBe('application/x-protobuf');
    expect(h['x-prometheus-remote-write-version']).toBe('0.1.0');
    expect(h['user-agent']).toMatch(/^@obs\/metrics\/\d+\.\d+\.\d+/);
    expect(h['x-scope-orgid']).toBe('tenant-1');
    // The last sample of each series is the value at stop.
    const calls = r.values('trakt_api_requests_total');
    expect(calls.at(-1)?.value).toBe(2);
    expect(r.values('trakt_export_items_total').some((s) => s.value === 150)).toBe(true);
    const series = r.requests.flatMap((q) => q.series).find((s) => s.labels['__name__'] === 'trakt_api_requests_total');
    expect(series?.labels).toEqual({
      __name__: 'trakt_api_requests_total',
      endpoint: 'watched_movies',
      status: '200',
      instance: 'host-1',
      job: 'override',
      region: 'eu',
    });
    // Labels are sorted by name, as Prometheus requires.
    const names = Object.keys(series!.labels);
    expect(names).toEqual([...names].sort());
    const metadata = r.requests.flatMap((q) => q.metadata);
    expect(metadata).toContainEqual({
      type: 1,
      family: 'trakt_api_requests_total',
      help: 'Total API requests',
      unit: '',
    });
    expect(metadata.find((m) => m.family === 'trakt_api_duration_seconds')).toMatchObject({ type: 3, unit: 'seconds' });
  });

  test('a series that ends gets a staleness marker (StaleNaN); batches hold at most max_samples_per_send samples', async () => {
    const r = await receiver();
    const { monitor } = monitorWith({
      remote_write_url: r.url.href,
      remote_write_interval: '50ms',
      collect_interval: '50ms',
      remote_write_max_samples_per_send: 7,
    });
    await monitor.start();
    const gauge = new Gauge({
      name: 'job_step',
      help: 'h',
      labelNames: ['step'],
      registers: [monitor.service('metrics.registry')],
    });
    gauge.set({ step: 'fetch' }, 1);
    await until(() => r.values('job_step').length > 0);
    gauge.remove({ step: 'fetch' });
    await until(() => r.values('job_step').some((s) => s.stale));
    const samples = r.values('job_step');
    expect(samples.at(-1)?.stale).toBe(true);
    expect(samples.slice(0, -1).every((s) => !s.stale && s.value === 1)).toBe(true);
    for (const q of r.requests) expect(q.series.reduce((n, s) => n + s.samples.length, 0)).toBeLessThanOrEqual(7);
  });

  test('5xx and 429 are retried with backoff (Retry-After honoured) and every sample arrives, in order', async () => {
    const r = await receiver();
    r.answer = { status: 503, body: 'overloaded' };
    const { monitor, errors } = monitorWith({
      remote_write_url: r.url.href,
      remote_write_interval: '30ms',
      collect_interval: '30ms',
    });
    let collections = 0;
    // The collections that hold the series (the first one, at start, may come before the first call).
    monitor.bus.on('metrics:collected', (e) => {
      if (e.samples.some((s) => s.name === 'trakt_api_requests_total')) collections++;
    });
    await monitor.start();
    monitor.recordApiCall('a', 200, 1);
    await until(() => errors.length > 0 && collections >= 5);
    r.answer = { status: 429, body: 'slow down', headers: { 'retry-after': '0' } };
    await new Promise((res) => setTimeout(res, 100));
    r.answer = { status: 204 };
    await monitor.stop();
    expect(errors).toHaveLength(1); // one outage, reported once
    expect(errors[0]).toBeInstanceOf(ObsError);
    expect(errors[0]?.code).toBe('OBS_ERR_METRICS_REMOTE_WRITE');
    expect(errors[0]?.message).toContain('503');
    expect(errors[0]?.message).toContain('overloaded');
    const t = r.values('trakt_api_requests_total').map((s) => s.t);
    // Every collection (and the final one at stop) arrived once, oldest first.
    expect(t.length).toBeGreaterThanOrEqual(collections + 1);
    expect(t).toEqual([...t].sort((a, b) => a - b));
    expect(new Set(t).size).toBe(t.length);
  });

  test('a 400 is not retried: one clear error naming the answer (never the credentials), later ones only counted', async () => {
    const r = await receiver();
    r.answer = { status: 400, body: 'out of order sample' };
    const url = new URL(r.url);
    url.username = 'user';
    url.password = 's3cret';
    url.searchParams.set('token', 'abc123');
    const { monitor, errors } = monitorWith({
      remote_write_url: url.href,
      remote_write_interval: '30ms',
      collect_interval: '30ms',
    });
    await monitor.start();
    await until(async () =>
      /obs_remote_write_samples_total\{outcome="rejected"\} [1-9]\d{2,}/.test(await scrape(monitor)),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).toBe('OBS_ERR_METRICS_REMOTE_WRITE');
    expect(errors[0]?.message).toMatch(/answered 400: out of order sample/);
    expect(errors[0]?.message).not.toMatch(/s3cret|abc123|user/);
    const text = await scrape(monitor);
    expect(text).toMatch(/obs_remote_write_samples_total\{outcome="retried"\} 0/);
    expect(text).toMatch(/obs_remote_write_samples_total\{outcome="sent"\} 0/);
  });

  test('an unreachable receiver is one clear error; the queue bound drops new samples, counted in obs_dropped_total', async () => {
    const port = await freePort(); // nothing listens there
    const { monitor, errors, dropped } = monitorWith(
      {
        remote_write_url: `http://127.0.0.1:${port}/api/v1/write`,
        remote_write_interval: '20ms',
        collect_interval: '20ms',
        remote_write_queue_capacity: 50,
      },
      { shutdown_timeout: '300ms' },
    );
    await monitor.start();
    await until(() => dropped.length > 0);
    await until(async () =>
      /obs_dropped_total\{plugin="@obs\/metrics",what="remote_write"\} [1-9]/.test(await scrape(monitor)),
    );
    expect(await scrape(monitor)).toMatch(/obs_remote_write_pending_samples 50/);
    await monitor.stop();
    expect(errors[0]?.code).toBe('OBS_ERR_METRICS_REMOTE_WRITE');
    expect(errors[0]?.message).toMatch(
      new RegExp(`remote write to http://127\\.0\\.0\\.1:${port}/api/v1/write failed: .*ECONNREFUSED`),
    );
    // At stop, what could not be sent within shutdown_timeout is dropped and said so.
    expect(errors.at(-1)?.message).toMatch(/samples were not sent .* within shutdown_timeout/);
    expect(errors.length).toBe(2);
  });

  test('a receiver down for a while and back gets every sample queued before the bound', async () => {
    const r = await receiver();
    r.answer = { status: 502 };
    const { monitor } = monitorWith({
      remote_write_url: r.url.href,
      remote_write_interval: '20ms',
      collect_interval: '20ms',
      remote_write_queue_capacity: 100_000,
    });
    let collections = 0;
    monitor.bus.on('metrics:collected', (e) => {
      if (e.samples.some((s) => s.name === 'trakt_worker_pool_active')) collections++;
    });
    await monitor.start();
    monitor.setActiveWorkers(3);
    await until(() => collections >= 20);
    r.answer = { status: 204 };
    await until(() => r.values('trakt_worker_pool_active').length >= 20);
    await monitor.stop();
    const text = r.values('trakt_worker_pool_active');
    expect(text.length).toBe(collections + 1);
    expect(text.every((s) => s.value === 3)).toBe(true);
  });
});

test('a 429 with Retry-After waits that long before trying again', async () => {
  const r = await receiver();
  r.answer = { status: 429, body: 'slow down', headers: { 'retry-after': '1' } };
  const { monitor } = monitorWith({ remote_write_url: r.url.href, remote_write_interval: '20ms' });
  await monitor.start();
  await until(() => r.attempts.length >= 2);
  r.answer = { status: 204 };
  // Backoff alone would try again within about 100 ms.
  expect(r.attempts[1]! - r.attempts[0]!).toBeGreaterThanOrEqual(900);
});

describe('remote write config', () => {
  const load = (prometheus: Record<string, unknown>) =>
    loadConfig({ env: {}, overrides: { prometheus } as ConfigInput, plugins: [metricsPlugin()] });

  test('a bad URL, a reserved header, half basic auth or a bad label name is a config error, every one reported', () => {
    let thrown: unknown;
    try {
      load({
        remote_write_url: 'ftp://x',
        remote_write_headers: { 'Content-Type': 'text/plain' },
        external_labels: { __bad: 'x' },
      });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ObsConfigError);
    const paths = (thrown as ObsConfigError).issues.map((i) => i.path).join(' ');
    for (const key of ['remote_write_url', 'remote_write_headers', 'external_labels']) expect(paths).toContain(key);
    // Checks across keys run once each key is valid on its own.
    expect(() => load({ remote_write_url: 'http://x', remote_write_password: 'x' })).toThrow(/remote_write_username/);
    expect(() =>
      load({
        remote_write_url: 'http://x',
        remote_write_bearer_token: 't',
        remote_write_username: 'u',
        remote_write_password: 'p',
      }),
    ).toThrow(ObsConfigError);
  });

  test('credentials never show when the config is printed', () => {
    const config = load({
      remote_write_url: 'https://user:pw@mimir.example/api/v1/push?token=abc',
      remote_write_headers: { Authorization: 'Bearer xyz', 'X-Api-Key': 'k1' },
      remote_write_bearer_token: '',
      remote_write_username: '',
      remote_write_password: '',
    });
    const printed = JSON.stringify(config);
    for (const secret of ['pw@', 'abc', 'xyz', 'k1']) expect(printed).not.toContain(secret);
    expect(config.prometheus.remote_write_interval).toBe(15_000);
    expect(config.prometheus.remote_write_max_samples_per_send).toBe(2000);
  });
});
