import { gunzipSync } from 'node:zlib';
import { type ConfigInput, createMonitor, type Monitor, ObsConfigError, type ObsPlugin, silentLogger } from '@obs/core';
import { freePort, testPluginContract } from '@obs/testing';
import { describe, expect, test } from 'vitest';
import { type ConsoleSettings, consolePlugin } from '../src/index.ts';

const base: ConfigInput = { metrics_port: 0, health_port: 0, host: '127.0.0.1' };

// A stand-in for @obs/metrics and @obs/tracing: the two read APIs the page uses, on the metrics listener.
const fakeMetrics: ObsPlugin = {
  name: 'fake-metrics',
  setup(ctx) {
    ctx.endpoints.mount('metrics', '/api/v1', (req, res) => {
      res.json({ status: 'success', data: { path: req.path, query: req.query['query'] ?? null } });
    });
    ctx.endpoints.mount('metrics', '/traces', (_req, res) => void res.json({ spans: [] }));
  },
};

async function started(config: ConfigInput = {}, plugins: ObsPlugin[] = [fakeMetrics, consolePlugin()]) {
  const monitor = createMonitor({ config: { ...base, ...config }, plugins, logger: silentLogger });
  await monitor.start();
  return monitor;
}

const get = (monitor: Monitor, path: string, headers: Record<string, string> = {}) =>
  fetch(new URL(path, monitor.url('health')), { headers });

testPluginContract(() => consolePlugin(), { listeners: ['health'] });

describe('options', () => {
  test('bad options throw OBS_ERR_CONFIG_INVALID naming each', () => {
    try {
      consolePlugin({ path: 'console', refreshInterval: '10ms' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ObsConfigError);
      expect((err as ObsConfigError).issues.map((i) => i.path)).toEqual(['path', 'refreshInterval']);
    }
  });
});

describe('the page', () => {
  test('is served at / of the health listener under a strict CSP, gzipped, with ETags', async () => {
    await using monitor = await started();
    const res = await get(monitor, '/', { 'accept-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await res.text();
    expect(html).toContain('<script type="module" src="console.js"></script>');
    expect(html).not.toMatch(/<script>|<style|style="/);
    for (const [name, type] of [
      ['console.js', 'text/javascript; charset=utf-8'],
      ['console.css', 'text/css; charset=utf-8'],
    ] as const) {
      const asset = await get(monitor, `/${name}`);
      expect(asset.headers.get('content-type')).toBe(type);
      expect(asset.headers.get('x-content-type-options')).toBe('nosniff');
      const again = await get(monitor, `/${name}`, { 'if-none-match': asset.headers.get('etag')! });
      expect(again.status).toBe(304);
    }
  });

  test('the whole page (uPlot included) is under 150 KB gzipped', async () => {
    await using monitor = await started();
    let total = 0;
    for (const name of ['', 'console.js', 'console.css']) {
      const raw = await new Promise<Buffer>((resolve, reject) => {
        // fetch() decompresses: read the bytes on the wire with node:http.
        import('node:http').then(({ get: httpGet }) =>
          httpGet(new URL(`/${name}`, monitor.url('health')), { headers: { 'accept-encoding': 'gzip' } }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks)));
          }).on('error', reject),
        );
      });
      expect(gunzipSync(raw).length).toBeGreaterThan(raw.length);
      total += raw.length;
    }
    expect(total).toBeLessThan(150 * 1024);
  });

  test('console.json gives the page its settings: metric prefix from the namespace, the pass-through', async () => {
    await using monitor = await started({ prometheus: { namespace: 'trakt', subsystem: 'exporter' } });
    const settings = (await (await get(monitor, '/console.json')).json()) as ConsoleSettings;
    expect(settings).toMatchObject({
      health: '/health',
      metricsBase: '/api/metrics/',
      metricPrefix: 'trakt_exporter_',
      auth: 'none',
      refreshMs: 10_000,
    });
    expect(settings.versions['@obs/console']).toMatch(/^\d+\.\d+\.\d+/);
  });

  test('sharing one port with the metrics listener, it moves to /console/', async () => {
    const port = await freePort();
    await using monitor = await started({ metrics_port: port, health_port: port });
    const moved = await get(monitor, '/console', {});
    expect(moved.url.endsWith('/console/')).toBe(true);
    expect(moved.status).toBe(200);
    const settings = (await (await get(monitor, '/console/console.json')).json()) as ConsoleSettings;
    expect(settings.metricsBase).toBe('/');
    expect(await (await get(monitor, '/')).json()).toMatchObject({ endpoints: expect.arrayContaining(['/console']) });
  });
});

describe('the pass-through to the metrics listener', () => {
  test('forwards the query and trace GET APIs, nothing else', async () => {
    await using monitor = await started();
    const q = await get(monitor, '/api/metrics/api/v1/query?query=up');
    expect(q.status).toBe(200);
    expect(await q.json()).toEqual({ status: 'success', data: { path: '/query', query: 'up' } });
    expect((await get(monitor, '/api/metrics/traces')).status).toBe(200);
    expect((await get(monitor, '/api/metrics/metrics')).status).toBe(404);
    expect((await get(monitor, '/api/metrics/api/v1/admin/tsdb/delete_series')).status).toBe(404);
    const post = await fetch(new URL('/api/metrics/api/v1/query', monitor.url('health')), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(post.status).toBe(404);
  });

  test("the metrics listener's auth decides: the caller's credentials go along", async () => {
    await using monitor = await started({ auth: { metrics: { bearer_token: 'm-token' } } });
    const without = await get(monitor, '/api/metrics/api/v1/query?query=up');
    expect(without.status).toBe(401);
    expect(without.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const withToken = await get(monitor, '/api/metrics/api/v1/query?query=up', { authorization: 'Bearer m-token' });
    expect(withToken.status).toBe(200);
  });

  test('answers 503 when there is no metrics listener', async () => {
    await using monitor = await started({}, [consolePlugin()]);
    expect((await get(monitor, '/api/metrics/api/v1/query?query=up')).status).toBe(503);
  });
});

describe('auth on the health listener', () => {
  test('basic auth: the page itself asks, so the browser prompts once', async () => {
    await using monitor = await started({ auth: { health: { username: 'ops', password: 'pw' } } });
    const res = await get(monitor, '/');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic/);
    const ok = await get(monitor, '/', { authorization: `Basic ${Buffer.from('ops:pw').toString('base64')}` });
    expect(ok.status).toBe(200);
  });

  test('bearer auth: the page opens and asks for the token', async () => {
    await using monitor = await started({ auth: { health: { bearer_token: 'h-token' } } });
    expect((await get(monitor, '/')).status).toBe(200);
    const settings = (await (await get(monitor, '/console.json')).json()) as ConsoleSettings;
    expect(settings.auth).toBe('bearer');
  });
});
