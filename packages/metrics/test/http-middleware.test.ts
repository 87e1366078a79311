import { listenLoopback } from '@obs/testing';
import express, { Router } from 'express';
import { describe, expect, test } from 'vitest';
import { createMetrics } from '../src/index.ts';

async function app(metrics = createMetrics({ namespace: 'trakt', defaultMetrics: false }), options = {}) {
  const app = express();
  app.use(metrics.httpMiddleware(options));
  app.get('/movies/:id', (_req, res) => void res.json({ ok: true }));
  app.post('/movies', express.json(), (_req, res) => void res.status(201).send('created'));
  const users = Router({ mergeParams: true });
  users.get('/movies/:movieId', (_req, res) => void res.send('x'));
  app.use('/users/:userId', users);
  const api = Router();
  const v1 = Router();
  v1.get('/ratings', (_req, res) => void res.status(500).send('boom'));
  api.use('/v1', v1);
  app.use('/api', api);
  const admin = express();
  admin.get('/stats/:kind', (_req, res) => void res.send('s'));
  app.use('/admin', admin);
  app.get('/metrics', metrics.handler());
  return { metrics, server: await listenLoopback(app) };
}

const line = (text: string, labels: string) =>
  new RegExp(`^http_server_requests_total\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1];

describe('HTTP server middleware', () => {
  test('labels by method, route template (sub-routers and sub-apps included) and status', async () => {
    const { metrics, server } = await app();
    await using _ = server;
    const get = (path: string, init?: RequestInit) => fetch(new URL(path, server.url), init).then((r) => r.text());
    await get('/movies/1');
    await get('/movies/2');
    await get('/movies', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    await get('/users/42/movies/7');
    await get('/api/v1/ratings');
    await get('/admin/stats/daily');
    await get('/nope/123');
    await get('/nope/456');
    const text = await metrics.render();
    expect(line(text, 'method="GET",route="/movies/:id",status="200"')).toBe('2');
    expect(line(text, 'method="POST",route="/movies",status="201"')).toBe('1');
    expect(line(text, 'method="GET",route="/users/:userId/movies/:movieId",status="200"')).toBe('1');
    expect(line(text, 'method="GET",route="/api/v1/ratings",status="500"')).toBe('1');
    expect(line(text, 'method="GET",route="/admin/stats/:kind",status="200"')).toBe('1');
    expect(line(text, 'method="GET",route="unmatched",status="404"')).toBe('2');
    expect(text).not.toMatch(/route="\/movies\/1"/);
    expect(text).toMatch(
      /http_server_request_duration_seconds_count\{method="GET",route="\/movies\/:id",status="200"\} 2/,
    );
    expect(text).toMatch(/http_server_request_size_bytes_sum\{method="POST",route="\/movies",status="201"\} 7/);
    expect(text).toMatch(/http_server_response_size_bytes_sum\{method="POST",route="\/movies",status="201"\} 7/);
  });

  test('status classes and ignored requests', async () => {
    const { metrics, server } = await app(undefined, {
      status: 'class',
      ignore: (req: express.Request) => req.path === '/metrics',
    });
    await using _ = server;
    await fetch(new URL('/movies/1', server.url)).then((r) => r.text());
    await fetch(new URL('/api/v1/ratings', server.url)).then((r) => r.text());
    await fetch(new URL('/metrics', server.url)).then((r) => r.text());
    const text = await metrics.render();
    expect(line(text, 'method="GET",route="/movies/:id",status="2xx"')).toBe('1');
    expect(line(text, 'method="GET",route="/api/v1/ratings",status="5xx"')).toBe('1');
    expect(text).not.toContain('route="/metrics"');
  });

  test('past the cardinality limit, new label sets fold into one overflow series, counted, warned once', async () => {
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (m: string) => void warnings.push(m) };
    const metrics = createMetrics({ namespace: 'trakt', defaultMetrics: false, cardinalityLimit: 3, logger });
    for (let i = 0; i < 10; i++) metrics.recordApiCall(`endpoint_${i}`, 200, 1);
    const text = await metrics.render();
    expect(text.match(/^trakt_api_requests_total\{/gm)).toHaveLength(4);
    expect(text).toContain('trakt_api_requests_total{endpoint="__overflow__",status="__overflow__"} 7');
    expect(text).toContain('obs_series_overflow_total{metric="trakt_api_requests_total"} 7');
    expect(warnings.filter((w) => w.includes('trakt_api_requests_total'))).toHaveLength(1);
  });

  // #20: the README's monitor-free form answered 404 (the handler only answered when req.path was '/').
  test.each([
    ['get', (app: express.Express, h: express.RequestHandler) => void app.get('/metrics', h)],
    ['use', (app: express.Express, h: express.RequestHandler) => void app.use('/metrics', h)],
  ])('metrics.handler() mounted with %s answers /metrics, counted under route="/metrics"', async (_how, mount) => {
    const metrics = createMetrics({ namespace: 'trakt', defaultMetrics: false });
    const app = express();
    app.use(metrics.httpMiddleware());
    mount(app, metrics.handler());
    await using server = await listenLoopback(app);
    const first = await fetch(new URL('/metrics', server.url));
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await first.text()).toContain('# TYPE http_server_requests_total counter');
    const second = await fetch(new URL('/metrics', server.url));
    expect(await second.text()).toMatch(
      /^http_server_requests_total\{method="GET",route="\/metrics",status="200"\} 1$/m,
    );
    expect((await fetch(new URL('/metrics/nope', server.url))).status).toBe(404);
    const text = await metrics.render();
    expect(line(text, 'method="GET",route="/metrics",status="200"')).toBe('2');
    expect(line(text, 'method="GET",route="unmatched",status="404"')).toBe('1');
  });
});
