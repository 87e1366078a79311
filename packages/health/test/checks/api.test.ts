import { listenLoopback } from '@obs/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { apiConnectivityCheck, createHealthChecker, type HealthCheck } from '../../src/index.ts';

let api: Awaited<ReturnType<typeof listenLoopback>>;
const seen: { path: string; auth: string | undefined }[] = [];

beforeAll(async () => {
  api = await listenLoopback((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push({ path: url.pathname, auth: req.headers.authorization });
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    switch (url.pathname) {
      case '/ok':
        return json(200, [{ movie: 'Heat' }]);
      case '/401':
        return json(401, { error: 'invalid_grant' });
      case '/403':
        return json(403, { error: 'forbidden' });
      case '/429':
        return json(429, { error: 'rate limit' }, { 'retry-after': '30' });
      case '/429-date':
        return json(429, { error: 'rate limit' }, { 'retry-after': new Date(Date.now() + 120_000).toUTCString() });
      case '/503':
        return res.writeHead(503, { 'content-type': 'text/html' }).end('<html><h1>503 Service Unavailable</h1></html>');
      case '/html':
        return res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><p>Cloudflare</p>');
      case '/html-as-json':
        return res.writeHead(200, { 'content-type': 'application/json' }).end('<html>maintenance</html>');
      case '/bad-json':
        return res.writeHead(200, { 'content-type': 'application/json' }).end('{"truncated":');
      case '/404':
        return json(404, { error: 'not found' });
      case '/huge':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('[');
        for (let i = 0; i < 20_000; i++) res.write('{"movie":"Heat","year":1995},');
        return res.end('{}]');
      default:
        return json(500, {});
    }
  });
});

afterAll(() => api.close());

async function run(check: HealthCheck) {
  const checker = createHealthChecker({ checks: [check] });
  return (await checker.report()).checks[check.name]!;
}

const at = (path: string, extra = {}) =>
  apiConnectivityCheck({ url: new URL(path, api.url), label: 'Trakt API', ...extra });

describe('apiConnectivityCheck against a real HTTP server', () => {
  test('200 with JSON is healthy, with latency and the URL without its query', async () => {
    const result = await run(at('/ok?api_key=secret-in-query'));
    expect(result).toMatchObject({ status: 'healthy', message: 'Trakt API responding normally', critical: true });
    expect(result.details).toMatchObject({ http_status: 200, url: new URL('/ok', api.url).href.replace(/\/$/, '') });
    expect(JSON.stringify(result)).not.toContain('secret-in-query');
    expect(result.latencyMs).toBeGreaterThan(0);
  });

  test('sends the headers, from an object or a function, and never shows them', async () => {
    const result = await run(at('/ok', { headers: async () => ({ authorization: 'Bearer tok-123' }) }));
    expect(seen.at(-1)).toEqual({ path: '/ok', auth: 'Bearer tok-123' });
    expect(JSON.stringify(result)).not.toContain('tok-123');
  });

  test('401, 403, 404 and 5xx are unhealthy and told apart', async () => {
    const r401 = await run(at('/401'));
    expect(r401).toMatchObject({ status: 'unhealthy', details: { http_status: 401 } });
    expect(r401.message).toContain('401');
    const r403 = await run(at('/403'));
    expect(r403).toMatchObject({ status: 'unhealthy', details: { http_status: 403 } });
    expect(r403.message).toContain('403');
    expect(await run(at('/404'))).toMatchObject({ status: 'unhealthy', details: { http_status: 404 } });
    const r503 = await run(at('/503'));
    expect(r503).toMatchObject({ status: 'unhealthy', details: { http_status: 503 } });
    expect(r503.message).toContain('server error');
  });

  test('429 is degraded, with Retry-After in seconds or as a date', async () => {
    expect(await run(at('/429'))).toMatchObject({
      status: 'degraded',
      details: { http_status: 429, retry_after: '30s' },
    });
    const dated = await run(at('/429-date'));
    expect(dated.status).toBe('degraded');
    expect(dated.details!['retry_after']).toMatch(/^1m5\ds$|^2m$|^1m\d+(\.\d+)?s$/);
  });

  test('an HTML page or broken JSON where JSON was expected is unhealthy', async () => {
    const html = await run(at('/html'));
    expect(html).toMatchObject({ status: 'unhealthy', details: { content_type: 'text/html' } });
    expect(html.message).toContain('HTML');
    expect((await run(at('/html-as-json'))).message).toContain('HTML');
    expect((await run(at('/bad-json'))).message).toContain('invalid JSON');
    expect((await run(at('/html', { expectJson: false }))).status).toBe('healthy');
  });

  test('a large body is read only in part and still counts as reachable', async () => {
    expect((await run(at('/huge'))).status).toBe('healthy');
  });

  test('a network error is unhealthy with its code', async () => {
    const closed = await listenLoopback(() => {});
    const url = new URL('/ok', closed.url);
    await closed.close();
    const result = await run(apiConnectivityCheck({ url }));
    expect(result).toMatchObject({ status: 'unhealthy', details: { error: 'ECONNREFUSED' } });
    expect(result.message).toBe('API unreachable: ECONNREFUSED');
  });

  test('a response slower than slowAfter is degraded; one past the timeout is unhealthy', async () => {
    const slow = await listenLoopback((_req, res) => {
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'), 150);
    });
    try {
      expect((await run(apiConnectivityCheck({ url: slow.url, slowAfter: 20 }))).status).toBe('degraded');
      const timedOut = await run(apiConnectivityCheck({ url: slow.url, timeout: 30 }));
      expect(timedOut).toMatchObject({ status: 'unhealthy', message: 'timed out after 30ms' });
    } finally {
      await slow.close();
    }
  });

  test('bad options throw an ObsConfigError listing each', () => {
    try {
      apiConnectivityCheck({ url: 'ftp://x', name: 'bad name', slowAfter: -1 });
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'OBS_ERR_CONFIG_INVALID' });
      expect((err as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual(['url', 'name', 'slowAfter']);
    }
  });
});
