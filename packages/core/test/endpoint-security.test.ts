import { request } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { describe, expect, test } from 'vitest';
import { type ConfigInput, createMonitor, type ObsLogger, type ObsPlugin, silentLogger } from '../src/index.ts';

// A write route as @obs/alerts mounts /silences, an optional-auth one, and a read-by-POST one (a query API).
function routes(): ObsPlugin {
  const echo = (req: { method: string }, res: { json(body: unknown): void }) =>
    void res.json({ ok: true, method: req.method });
  return {
    name: 'routes',
    setup(ctx) {
      ctx.endpoints.mount('health', '/silences', echo);
      ctx.endpoints.mount('health', '/open', { auth: 'optional' }, echo);
      ctx.endpoints.mount('health', '/query', { postIsRead: true }, echo);
      ctx.endpoints.mount('health', '/decode', (req, res) => {
        decodeURIComponent(req.path);
        res.json({ ok: true });
      });
      ctx.endpoints.mount('health', '/too-large', () => {
        throw Object.assign(new Error('request entity too large'), { status: 413, type: 'entity.too.large' });
      });
    },
  };
}

function monitorWith(config: ConfigInput, logger: ObsLogger = silentLogger) {
  return createMonitor({
    logger,
    config: { host: '127.0.0.1', metrics_port: 0, health_port: 0, ...config },
    plugins: [routes()],
  });
}

const json = { 'content-type': 'application/json' };

interface Raw {
  status: number;
  body: string;
}

// node:http sends the path exactly as written (fetch would normalize it).
function raw(url: URL, method: string, path: string, headers: Record<string, string> = {}, body = ''): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.once('error', reject);
    req.end(body);
  });
}

// What the server answers to bytes written on a bare socket, up to its close.
function rawSocket(url: URL, send: (write: (text: string) => void) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    let text = '';
    socket.on('data', (c: Buffer) => {
      text += c.toString();
    });
    socket.once('close', () => resolve(text));
    socket.once('error', reject);
    socket.once('connect', () => send((t) => socket.write(t)));
  });
}

describe('issue #19: writes are protected on every route', () => {
  test('a cross-origin text/plain POST (the curl of the issue) is refused; a same-origin JSON one from loopback passes', async () => {
    await using monitor = await monitorWith({}).start();
    const url = new URL('/silences', monitor.url('health'));
    const evil = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'http://evil.example' },
      body: '{"matchers":[]}',
    });
    expect(evil.status).toBe(403);
    expect(await evil.json()).toMatchObject({ error: 'cross-origin request refused' });
    const plain = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    expect(plain.status).toBe(415);
    const form = await fetch(url, { method: 'POST', body: new URLSearchParams({ a: '1' }) });
    expect(form.status).toBe(415);
    const ok = await fetch(url, { method: 'POST', headers: { ...json, origin: url.origin }, body: '{}' });
    expect(ok.status).toBe(200);
    const charset = await fetch(url, {
      method: 'PUT',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: '{}',
    });
    expect(charset.status).toBe(200);
    // A DELETE without a body needs no content type (amtool and curl send none).
    expect((await fetch(new URL('/silences/abc', url), { method: 'DELETE' })).status).toBe(200);
    // Reads are untouched.
    expect((await fetch(url, { headers: { origin: 'http://evil.example' } })).status).toBe(200);
  });

  test('Sec-Fetch-Site other than same-origin or none is refused, as is Origin: null', async () => {
    await using monitor = await monitorWith({}).start();
    const url = new URL('/silences', monitor.url('health'));
    for (const site of ['cross-site', 'same-site']) {
      const res = await fetch(url, { method: 'DELETE', headers: { 'sec-fetch-site': site } });
      expect(res.status, site).toBe(403);
    }
    for (const site of ['same-origin', 'none']) {
      const res = await fetch(url, { method: 'POST', headers: { ...json, 'sec-fetch-site': site }, body: '{}' });
      expect(res.status, site).toBe(200);
    }
    expect((await fetch(url, { method: 'POST', headers: { ...json, origin: 'null' }, body: '{}' })).status).toBe(403);
    // Same host, other port: another origin.
    const other = `http://127.0.0.1:${Number(url.port) === 65_535 ? 1 : Number(url.port) + 1}`;
    expect((await fetch(url, { method: 'POST', headers: { ...json, origin: other }, body: '{}' })).status).toBe(403);
  });

  test('with the listener auth configured, writes need it even on routes mounted with auth: optional', async () => {
    await using monitor = await monitorWith({ auth: { health: { bearer_token: 'w-token' } } }).start();
    const url = (p: string) => new URL(p, monitor.url('health'));
    expect((await fetch(url('/open'))).status).toBe(200);
    const anonymous = await fetch(url('/open'), { method: 'POST', headers: json, body: '{}' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('Bearer');
    const signed = { ...json, authorization: 'Bearer w-token' };
    expect((await fetch(url('/open'), { method: 'POST', headers: signed, body: '{}' })).status).toBe(200);
    expect((await fetch(url('/silences'), { method: 'POST', headers: signed, body: '{}' })).status).toBe(200);
    const wrongType = { 'content-type': 'text/plain', authorization: 'Bearer w-token' };
    expect((await fetch(url('/open'), { method: 'POST', headers: wrongType, body: '{}' })).status).toBe(415);
  });

  test('postIsRead: a form-encoded POST reads like a GET, but never cross-origin; other writes stay guarded', async () => {
    await using monitor = await monitorWith({}).start();
    const url = new URL('/query', monitor.url('health'));
    const form = await fetch(url, { method: 'POST', body: new URLSearchParams({ query: 'up' }) });
    expect(form.status).toBe(200);
    const evil = await fetch(url, {
      method: 'POST',
      headers: { origin: 'http://evil.example' },
      body: new URLSearchParams({ query: 'up' }),
    });
    expect(evil.status).toBe(403);
    expect((await fetch(url, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'x' })).status).toBe(
      415,
    );
  });

  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i !== undefined && !i.internal && i.family === 'IPv4')?.address;

  test.skipIf(external === undefined)(
    'without auth, writes from a client that is not on loopback get 403; reads do not',
    async () => {
      await using monitor = await monitorWith({ host: external! }).start();
      const url = new URL('/silences', monitor.url('health'));
      expect(url.hostname).toBe(external);
      const res = await fetch(url, { method: 'POST', headers: json, body: '{}' });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error: 'forbidden' });
      expect((await fetch(url)).status).toBe(200);
    },
  );
});

describe('issue #19: client errors get 4xx, not 500 and not obs:error', () => {
  test('a malformed percent-encoding in the path answers 400 and reports nothing', async () => {
    const monitor = monitorWith({});
    const errors: unknown[] = [];
    monitor.bus.on('obs:error', (e) => void errors.push(e.error));
    await monitor.start();
    try {
      const base = monitor.url('health');
      expect((await raw(base, 'DELETE', '/silences/%E0%A4%A')).status).toBe(400);
      expect((await raw(base, 'GET', '/decode/%E0%A4%A')).status).toBe(400);
      const tooLarge = await raw(base, 'GET', '/too-large');
      expect(tooLarge.status).toBe(413);
      expect(JSON.parse(tooLarge.body)).toEqual({ error: 'payload too large' });
      expect(errors).toEqual([]);
    } finally {
      await monitor.stop();
    }
  });

  test('oversized headers answer 431, a request that never completes 408, garbage 400', async () => {
    await using monitor = await monitorWith({ request_timeout: '1s', headers_timeout: '1s' }).start();
    const base = monitor.url('health');
    const big = await rawSocket(base, (write) =>
      write(`GET /silences HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`),
    );
    expect(big).toMatch(/^HTTP\/1\.1 431 /);
    const slow = await rawSocket(base, (write) => write('GET /silences HTTP/1.1\r\nHost: x\r\n'));
    expect(slow).toMatch(/^HTTP\/1\.1 408 /);
    const garbage = await rawSocket(base, (write) => write('NOT HTTP AT ALL\r\n\r\n'));
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
  });
});

test('issue #19: a bind on 0.0.0.0 is logged as such, with a URL that works from this host', async () => {
  const lines: string[] = [];
  const logger: ObsLogger = { ...silentLogger, info: (m) => void lines.push(m) };
  await using monitor = await monitorWith({ host: '0.0.0.0' }, logger).start();
  const url = monitor.url('health');
  expect(url.hostname).toBe('127.0.0.1');
  expect((await fetch(new URL('/silences', url))).status).toBe(200);
  expect(lines).toContain(`@obs: health listening on 0.0.0.0:${url.port} (${url.href} from this host)`);
});
