import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ConfigInput,
  createMonitor,
  defaultServiceName,
  loadConfig,
  type Monitor,
  ObsConfigError,
  type ObsEvents,
  type ObsPlugin,
  silentLogger,
} from '@obs/core';
import { testPluginContract } from '@obs/testing';
import { describe, expect, test } from 'vitest';
import {
  cacheCheck,
  type HealthCheck,
  type HealthPluginOptions,
  healthPlugin,
  memoryCheck,
  type SeedHealthJson,
} from '../src/index.ts';

const base: ConfigInput = { metrics_port: 0, health_port: 0, host: '127.0.0.1' };

async function started(options: HealthPluginOptions, config: ConfigInput = {}, extra: ObsPlugin[] = []) {
  const monitor = createMonitor({
    config: { ...base, ...config },
    // The default checks (test/default-checks.test.ts) would add to every report here.
    plugins: [healthPlugin({ defaultChecks: false, ...options }), ...extra],
    logger: silentLogger,
  });
  await monitor.start();
  return monitor;
}

const get = (monitor: Monitor, path: string, headers: Record<string, string> = {}) =>
  fetch(new URL(path, monitor.url('health')), { headers });

const check = (name: string, status: 'healthy' | 'degraded' | 'unhealthy', extra: Partial<HealthCheck> = {}) =>
  ({
    name,
    check: () => ({ status, message: `${name} is ${status}`, details: { seen: true } }),
    ...extra,
  }) as HealthCheck;

testPluginContract(() => healthPlugin({ checks: [memoryCheck(), cacheCheck(), check('db', 'healthy')] }), {
  listeners: ['health'],
});

describe('/health', () => {
  test("answers the seed's JSON shape", async () => {
    await using monitor = await started({
      checks: [check('api_connectivity', 'healthy'), check('cache', 'degraded', { critical: false })],
    });
    const res = await get(monitor, '/health');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as SeedHealthJson;
    expect(Object.keys(body)).toEqual(['status', 'timestamp', 'uptime', 'checks']);
    expect(body.status).toBe('degraded');
    expect(body.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(body.uptime).toMatch(/^(\d+h)?(\d+m)?(\d+s)?$/);
    expect(Object.keys(body.checks)).toEqual(['api_connectivity', 'cache']);
    expect(body.checks['api_connectivity']).toEqual({
      status: 'healthy',
      latency: expect.stringMatching(/^\d+ms$/),
      message: 'api_connectivity is healthy',
      details: { seen: true },
    });
  });

  test('503 when a critical check is unhealthy, 200 when only a non-critical one is', async () => {
    await using down = await started({ checks: [check('db', 'unhealthy'), check('cache', 'healthy')] });
    const res = await get(down, '/health');
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'unhealthy', checks: { db: { message: 'db is unhealthy' } } });
    await using degraded = await started({ checks: [check('cache', 'unhealthy', { critical: false })] });
    expect((await get(degraded, '/health')).status).toBe(200);
  });

  test('the status rule comes from config, and options override it', async () => {
    const checks = [check('cache', 'unhealthy', { critical: false })];
    await using strict = await started({ checks }, { health: { non_critical_unhealthy: 'unhealthy' } });
    expect((await get(strict, '/health')).status).toBe(503);
    await using overridden = await started(
      { checks, rule: { nonCriticalUnhealthy: 'healthy' } },
      { health: { non_critical_unhealthy: 'unhealthy' } },
    );
    expect(await (await get(overridden, '/health')).json()).toMatchObject({ status: 'healthy' });
  });

  test('the IETF health format on request', async () => {
    await using monitor = await started({ checks: [check('db', 'unhealthy'), check('cache', 'degraded')] });
    const res = await get(monitor, '/health', { accept: 'application/health+json' });
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/^application\/health\+json/);
    const body = await res.json();
    expect(body).toMatchObject({
      status: 'fail',
      serviceId: defaultServiceName(), // no service_name configured: the app's package name
      checks: {
        'db:responseTime': [{ componentId: 'db', status: 'fail', observedUnit: 'ms', output: 'db is unhealthy' }],
        'cache:responseTime': [{ componentId: 'cache', status: 'warn' }],
      },
    });
    const viaQuery = (await (await get(monitor, '/health?format=ietf')).json()) as { status: string };
    expect(viaQuery.status).toBe('fail');
  });

  test('the endpoint path comes from config; other methods get 405', async () => {
    await using monitor = await started({ checks: [] }, { health: { endpoint: '/status' } });
    expect((await get(monitor, '/status')).status).toBe(200);
    expect((await get(monitor, '/health')).status).toBe(404);
    // A write that passes core's guard (same host, JSON) reaches the route, which allows only reads.
    const post = await fetch(new URL('/status', monitor.url('health')), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await get(monitor, '/status/deeper')).status).toBe(404);
  });

  test('results are cached between requests; ?refresh runs the checks again', async () => {
    let calls = 0;
    await using monitor = await started({
      checks: [{ name: 'counted', check: () => ({ status: 'healthy', details: { calls: ++calls } }) }],
    });
    await get(monitor, '/health');
    await get(monitor, '/health');
    const cached = (await (await get(monitor, '/health')).json()) as SeedHealthJson;
    expect(cached.checks['counted']!.details).toEqual({ calls: 1 });
    const fresh = (await (await get(monitor, '/health?refresh')).json()) as SeedHealthJson;
    expect(fresh.checks['counted']!.details).toEqual({ calls: 2 });
  });
});

describe('detail visibility', () => {
  const checks = [check('db', 'unhealthy')];

  test('never: status and latency only', async () => {
    await using monitor = await started({ checks }, { health: { show_details: 'never' } });
    const body = (await (await get(monitor, '/health')).json()) as SeedHealthJson;
    expect(body.checks['db']).toEqual({ status: 'unhealthy', latency: expect.stringMatching(/ms$/) });
    const ietf = await (await get(monitor, '/health', { accept: 'application/health+json' })).json();
    expect(ietf).toEqual({ status: 'fail', serviceId: defaultServiceName() });
    const ready = await (await get(monitor, '/readyz')).text();
    expect(ready).toContain('[-]db failed: reason withheld');
  });

  test('when-authorized: details for valid credentials (bearer or basic), never echoing them', async () => {
    const token = 'health-secret-token';
    await using monitor = await started(
      { checks },
      { health: { show_details: 'when-authorized' }, auth: { health: { bearer_token: token } } },
    );
    const authorized = await get(monitor, '/health', { authorization: `Bearer ${token}` });
    const text = await authorized.text();
    expect(JSON.parse(text).checks.db.details).toEqual({ seen: true });
    expect(text).not.toContain(token);
    // Without valid credentials: the status, without details; the probes answer too (issue #19).
    for (const headers of [{}, { authorization: 'Bearer wrong' }] as Record<string, string>[]) {
      const plain = await get(monitor, '/health', headers);
      expect(plain.status).toBe(503);
      const json = (await plain.json()) as SeedHealthJson;
      expect(json.checks['db']).toEqual({ status: 'unhealthy', latency: expect.stringMatching(/ms$/) });
    }
    const probe = await get(monitor, '/readyz?verbose');
    expect(probe.status).toBe(503);
    expect(await probe.text()).toContain('[-]db failed: reason withheld');
    await using basic = await started(
      { checks },
      { health: { show_details: 'when-authorized' }, auth: { health: { username: 'ops', password: 'pw' } } },
    );
    const creds = Buffer.from('ops:pw').toString('base64');
    const body = (await (await get(basic, '/health', { authorization: `Basic ${creds}` })).json()) as SeedHealthJson;
    expect(body.checks['db']!.message).toBe('db is unhealthy');
  });

  test('when-authorized without [monitoring.auth.health] is a config error at start', async () => {
    const monitor = createMonitor({
      config: { ...base, health: { show_details: 'when-authorized' } },
      plugins: [healthPlugin()],
      logger: silentLogger,
    });
    await expect(monitor.start()).rejects.toMatchObject({ code: 'OBS_ERR_CONFIG_INVALID' });
  });
});

describe('issue #19: probes and health auth', () => {
  test('/livez and /readyz answer without credentials when [monitoring.auth.health] is set; /health does not', async () => {
    await using monitor = await started(
      { checks: [check('db', 'healthy')] },
      { auth: { health: { bearer_token: 'hb' } } },
    );
    expect((await get(monitor, '/livez')).status).toBe(200);
    expect((await get(monitor, '/readyz')).status).toBe(200);
    expect((await get(monitor, '/health')).status).toBe(401);
    expect((await get(monitor, '/health', { authorization: 'Bearer hb' })).status).toBe(200);
  });

  test('probes_auth = true puts the probes behind the listener auth as well', async () => {
    await using monitor = await started(
      { checks: [check('db', 'healthy')] },
      { health: { probes_auth: true }, auth: { health: { bearer_token: 'hb' } } },
    );
    expect((await get(monitor, '/livez')).status).toBe(401);
    expect((await get(monitor, '/readyz')).status).toBe(401);
    expect((await get(monitor, '/readyz', { authorization: 'Bearer hb' })).status).toBe(200);
  });

  test('the when-authorized config error names the file and line of show_details', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'health-config-'));
    const file = join(dir, 'config.toml');
    writeFileSync(
      file,
      '[monitoring]\nhealth_port = 0\nmetrics_port = 0\n\n[monitoring.health]\nshow_details = "when-authorized"\n',
    );
    const plugins = [healthPlugin()];
    const config = loadConfig({ file, env: {}, plugins });
    const monitor = createMonitor({ config, plugins, logger: silentLogger });
    const error = await monitor.start().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ObsConfigError);
    expect((error as ObsConfigError).issues[0]).toMatchObject({
      path: 'monitoring.health.show_details',
      file,
      line: 6,
    });
    expect((error as Error).message).toContain(`${file}:6:1: monitoring.health.show_details:`);
    const fromEnv = loadConfig({ env: { MONITORING_HEALTH_SHOW_DETAILS: 'when-authorized' }, plugins });
    const envError = await createMonitor({ config: fromEnv, plugins: [healthPlugin()], logger: silentLogger })
      .start()
      .catch((err: unknown) => err);
    expect((envError as Error).message).toContain(
      'env MONITORING_HEALTH_SHOW_DETAILS: monitoring.health.show_details:',
    );
  });
});

describe('/livez and /readyz', () => {
  test('/livez never runs a check', async () => {
    let calls = 0;
    await using monitor = await started(
      { checks: [{ name: 'db', check: () => ({ status: calls++ >= 0 ? 'unhealthy' : 'healthy' }) }] },
      { health: { checks_interval: '1h' } },
    );
    const before = calls;
    const res = await get(monitor, '/livez');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok\n');
    expect(await (await get(monitor, '/livez?verbose')).text()).toBe('[+]ping ok\nlivez check passed\n');
    expect(calls).toBe(before);
  });

  test('/readyz follows the critical checks only; ?verbose lists them', async () => {
    await using ready = await started({
      checks: [check('db', 'degraded'), check('cache', 'unhealthy', { critical: false })],
    });
    const ok = await get(ready, '/readyz');
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('ok\n');
    expect(await (await get(ready, '/readyz?verbose')).text()).toBe(
      '[+]shutdown ok\n[+]db ok (degraded)\nreadyz check passed\n',
    );
    await using notReady = await started({ checks: [check('db', 'unhealthy'), check('api', 'healthy')] });
    const failed = await get(notReady, '/readyz');
    expect(failed.status).toBe(503);
    expect(await failed.text()).toBe('[+]shutdown ok\n[-]db failed: db is unhealthy\n[+]api ok\nreadyz check failed\n');
  });

  test('/readyz fails as soon as shutdown begins', async () => {
    let release: () => void = () => {};
    let stopping: () => void = () => {};
    const stopBegan = new Promise<void>((resolve) => {
      stopping = resolve;
    });
    // Stops before health (reverse order) and holds the shutdown open while we probe.
    const slowToStop: ObsPlugin = {
      name: 'slow-to-stop',
      setup() {},
      stop: () =>
        new Promise<void>((resolve) => {
          release = resolve;
          stopping();
        }),
    };
    const monitor = await started({ checks: [check('db', 'healthy')] }, {}, [slowToStop]);
    const url = new URL('/readyz?verbose', monitor.url('health'));
    expect((await fetch(url)).status).toBe(200);
    const stopped = monitor.stop();
    await stopBegan;
    const res = await fetch(url);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('[-]shutdown failed');
    expect((await fetch(new URL('/livez', monitor.url('health')))).status).toBe(200);
    release();
    await stopped;
  });
});

describe('in the monitor', () => {
  test('provides health.checker: the app registers its own checks after start', async () => {
    await using monitor = await started({ checks: [] });
    const checker = monitor.service('health.checker');
    checker.register(check('queue', 'degraded'));
    const body = (await (await get(monitor, '/health')).json()) as SeedHealthJson;
    expect(body.checks['queue']!.status).toBe('degraded');
  });

  test('emits health:changed on the monitor bus, per check and overall', async () => {
    const events: ObsEvents['health:changed'][] = [];
    const listener: ObsPlugin = {
      name: 'listener',
      setup: (ctx) => void ctx.bus.on('health:changed', (e) => void events.push(e)),
    };
    const monitor = createMonitor({
      config: base,
      plugins: [listener, healthPlugin({ checks: [check('db', 'unhealthy')], defaultChecks: false })],
      logger: silentLogger,
    });
    await monitor.start();
    await monitor.service('health.checker').report();
    await monitor.stop();
    expect(events.map((e) => [e.check, e.current])).toEqual([
      ['db', 'unhealthy'],
      ['overall', 'unhealthy'],
    ]);
  });

  test('the cache check reads monitor.updateCacheStats', async () => {
    await using monitor = await started({ checks: [cacheCheck({ minHitRatio: 0.8 })] });
    monitor.updateCacheStats(0.847, 1.2 * 1024 * 1024, 456);
    const body = (await (await get(monitor, '/health?refresh')).json()) as SeedHealthJson;
    expect(body.checks['cache']).toMatchObject({
      status: 'healthy',
      details: { hit_ratio: 0.847, size: '1.2MB', entries: 456 },
    });
    monitor.updateCacheStats(0.5, 1024, 3);
    const low = (await (await get(monitor, '/health?refresh')).json()) as SeedHealthJson;
    expect(low.checks['cache']!.status).toBe('degraded');
    expect(low.status).toBe('degraded');
  });

  test('a cold cache is not judged before minLookups lookups', async () => {
    await using monitor = await started({ checks: [cacheCheck({ minHitRatio: 0.5, minLookups: 20 })] });
    monitor.updateCacheStats(0, 2048, 3, 3);
    const cold = (await (await get(monitor, '/health?refresh')).json()) as SeedHealthJson;
    expect(cold.checks['cache']).toMatchObject({
      status: 'healthy',
      message: 'cache hit ratio 0.0% over 3 lookups, judged from 20',
      details: { hit_ratio: 0, lookups: 3 },
    });
    monitor.updateCacheStats(0.1, 2048, 3, 20);
    const judged = (await (await get(monitor, '/health?refresh')).json()) as SeedHealthJson;
    expect(judged.checks['cache']!.status).toBe('degraded');
  });

  test('disabled by [monitoring.health] enabled = false: nothing mounted', async () => {
    await using monitor = await started({ checks: [] }, { health: { enabled: false } });
    expect(() => monitor.url('health')).toThrow();
  });

  test('bad plugin options throw at once', () => {
    expect(() => healthPlugin({ checks: 'db' as unknown as HealthCheck[] })).toThrow(
      expect.objectContaining({ code: 'OBS_ERR_CONFIG_INVALID' }),
    );
    expect(() => healthPlugin({ checks: [check('a', 'healthy'), check('a', 'healthy')] })).toThrow(
      expect.objectContaining({ code: 'OBS_ERR_HEALTH_CHECK_DUPLICATE' }),
    );
  });
});
