import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, test } from 'vitest';
import { type ConfigInput, createMonitor, type ObsPlugin, silentLogger } from '../src/index.ts';

function routes(): ObsPlugin {
  return {
    name: 'routes',
    setup(ctx) {
      ctx.endpoints.mount('metrics', '/metrics', (_req, res) => void res.type('text/plain').send('up 1\n'));
      ctx.endpoints.mount('health', '/health', (_req, res) => void res.json({ status: 'healthy' }));
      ctx.endpoints.mount('health', '/boom', () => {
        throw new Error('handler bug');
      });
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function monitorWith(config: ConfigInput, plugins: ObsPlugin[] = [routes()]) {
  return createMonitor({ logger: silentLogger, config: { host: '127.0.0.1', ...config }, plugins });
}

describe('endpoint host', () => {
  test('port 0 binds ephemeral ports, one server per listener, and reports them', async () => {
    await using monitor = await monitorWith({ metrics_port: 0, health_port: 0 }).start();
    const metrics = monitor.url('metrics');
    const health = monitor.url('health');
    expect(metrics.port).not.toBe(health.port);
    expect(await (await fetch(new URL('/metrics', metrics))).text()).toBe('up 1\n');
    expect(await (await fetch(new URL('/health', health))).json()).toEqual({ status: 'healthy' });
    expect((await fetch(new URL('/health', metrics))).status).toBe(404);
    expect((await fetch(new URL('/metrics', health))).status).toBe(404);
  });

  test('equal ports share one server', async () => {
    const port = await freePort();
    await using monitor = await monitorWith({ metrics_port: port, health_port: port }).start();
    expect(monitor.url('metrics').href).toBe(monitor.url('health').href);
    const base = monitor.url('metrics');
    expect((await fetch(new URL('/metrics', base))).status).toBe(200);
    expect((await fetch(new URL('/health', base))).status).toBe(200);
    expect(await (await fetch(base)).json()).toEqual({ endpoints: ['/metrics', '/health', '/boom'] });
  });

  test('two routes on the same path of one server are a coded error', async () => {
    const port = await freePort();
    const clash: ObsPlugin = {
      name: 'clash',
      setup(ctx) {
        ctx.endpoints.mount('metrics', '/x', (_req, res) => void res.end());
        ctx.endpoints.mount('health', '/x', (_req, res) => void res.end());
      },
    };
    await expect(monitorWith({ metrics_port: port, health_port: port }, [clash]).start()).rejects.toMatchObject({
      code: 'OBS_ERR_ENDPOINT_CONFLICT',
    });
  });

  test('a listener nobody mounted on does not bind', async () => {
    const metricsOnly: ObsPlugin = {
      name: 'm',
      setup: (ctx) => ctx.endpoints.mount('metrics', '/metrics', (_q, r) => void r.end()),
    };
    await using monitor = await monitorWith({ metrics_port: 0, health_port: 0 }, [metricsOnly]).start();
    expect(() => monitor.url('health')).toThrow(expect.objectContaining({ code: 'OBS_ERR_ENDPOINT_NOT_BOUND' }));
  });

  test('a port in use fails start with a coded error naming the port, and frees what was bound', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const monitor = monitorWith({ metrics_port: 0, health_port: port });
      const error = (await monitor.start().catch((err: unknown) => err)) as Error & { code: string };
      expect(error.code).toBe('OBS_ERR_ENDPOINT_BIND');
      expect(error.message).toContain(String(port));
      expect(error.message).toContain('in use');
      expect(monitor.state).toBe('stopped');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  test('bearer auth per listener: the other listener stays open', async () => {
    const port = await freePort();
    await using monitor = await monitorWith({
      metrics_port: port,
      health_port: port,
      auth: { metrics: { bearer_token: 's3cret' } },
    }).start();
    const url = new URL('/metrics', monitor.url('metrics'));
    const denied = await fetch(url);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toContain('Bearer');
    expect((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
    expect((await fetch(new URL('/health', monitor.url('health')))).status).toBe(200);
  });

  test('a route mounted with optional auth lets everyone in and says who was authorized', async () => {
    const probe: ObsPlugin = {
      name: 'probe',
      setup(ctx) {
        ctx.endpoints.mount(
          'health',
          '/open',
          { auth: 'optional' },
          (_req, res) => void res.json({ authorized: res.locals['obsAuthorized'] }),
        );
        ctx.endpoints.mount(
          'health',
          '/closed',
          (_req, res) => void res.json({ authorized: res.locals['obsAuthorized'] }),
        );
      },
    };
    await using monitor = await monitorWith(
      { metrics_port: 0, health_port: 0, auth: { health: { bearer_token: 't0k' } } },
      [probe],
    ).start();
    const url = (p: string) => new URL(p, monitor.url('health'));
    const auth = { authorization: 'Bearer t0k' };
    expect(await (await fetch(url('/open'))).json()).toEqual({ authorized: false });
    expect(await (await fetch(url('/open'), { headers: auth })).json()).toEqual({ authorized: true });
    expect((await fetch(url('/closed'))).status).toBe(401);
    expect(await (await fetch(url('/closed'), { headers: auth })).json()).toEqual({ authorized: true });
  });

  test('basic auth', async () => {
    await using monitor = await monitorWith({
      metrics_port: 0,
      health_port: 0,
      auth: { health: { username: 'probe', password: 'pw' } },
    }).start();
    const url = new URL('/health', monitor.url('health'));
    expect((await fetch(url)).status).toBe(401);
    const good = `Basic ${Buffer.from('probe:pw').toString('base64')}`;
    const bad = `Basic ${Buffer.from('probe:nope').toString('base64')}`;
    expect((await fetch(url, { headers: { authorization: bad } })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: good } })).status).toBe(200);
  });

  test('a throwing handler answers 500 without a stack trace and becomes obs:error', async () => {
    const monitor = monitorWith({ metrics_port: 0, health_port: 0 });
    const errors: string[] = [];
    monitor.bus.on('obs:error', (e) => void errors.push(e.error.message));
    await monitor.start();
    const res = await fetch(new URL('/boom', monitor.url('health')));
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('{"error":"internal error"}');
    expect(errors).toEqual(['handler bug']);
    await monitor.stop();
  });

  test('request timeouts come from config', async () => {
    let seen: { request: number; headers: number } | undefined;
    const probe: ObsPlugin = {
      name: 'probe',
      setup(ctx) {
        ctx.endpoints.mount('metrics', '/t', (req, res) => {
          const server = (req.socket as unknown as { server: { requestTimeout: number; headersTimeout: number } })
            .server;
          seen = { request: server.requestTimeout, headers: server.headersTimeout };
          res.end();
        });
      },
    };
    await using monitor = await monitorWith(
      { metrics_port: 0, health_port: 0, request_timeout: '4s', headers_timeout: '2s' },
      [probe],
    ).start();
    await fetch(new URL('/t', monitor.url('metrics')));
    expect(seen).toEqual({ request: 4_000, headers: 2_000 });
  });

  test('a headers timeout longer than the request timeout is clamped, and said so', async () => {
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (m: string) => void warnings.push(m) };
    let seen: number | undefined;
    const probe: ObsPlugin = {
      name: 'probe',
      setup(ctx) {
        ctx.endpoints.mount('metrics', '/t', (req, res) => {
          seen = (req.socket as unknown as { server: { headersTimeout: number } }).server.headersTimeout;
          res.end();
        });
      },
    };
    const monitor = createMonitor({
      logger,
      config: { host: '127.0.0.1', metrics_port: 0, health_port: 0, request_timeout: '2s', headers_timeout: '5s' },
      plugins: [probe],
    });
    await monitor.start();
    await fetch(new URL('/t', monitor.url('metrics')));
    await monitor.stop();
    expect(seen).toBe(2_000);
    expect(warnings.some((w) => w.includes('headers_timeout'))).toBe(true);
  });

  test('stop closes keep-alive connections and frees the port', async () => {
    const port = await freePort();
    const monitor = await monitorWith({ metrics_port: port, health_port: 0 }).start();
    const res = await fetch(new URL('/metrics', monitor.url('metrics')), { keepalive: true });
    await res.text();
    await monitor.stop();
    const again = createServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => again.close(resolve));
  });
});
