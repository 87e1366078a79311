import { EventEmitter } from 'node:events';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listenLoopback, readBody } from '@obs/testing';
import { context, type Span, TraceFlags, trace } from '@opentelemetry/api';
import express from 'express';
import { describe, expect, test } from 'vitest';
import {
  type SpanRecord,
  tracedFetch,
  traceHeaders,
  tracingMiddleware,
  tracingPlugin,
  withSpan,
} from '../src/index.ts';
import { eventually, startMonitor } from './helpers.ts';

async function withApp(configure: (app: express.Express) => void, run: (base: URL) => Promise<void>): Promise<void> {
  const app = express();
  app.use(tracingMiddleware());
  configure(app);
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  try {
    await run(new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`));
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const serverSpans = (spans: readonly SpanRecord[]): SpanRecord[] => spans.filter((s) => s.kind === 'SERVER');

describe('tracingMiddleware', () => {
  test('server.address and server.port come from the Host header, IPv6 without brackets', async () => {
    const plugin = tracingPlugin();
    const { monitor } = await startMonitor([plugin], { sample_rate: 1 });
    try {
      await withApp(
        (app) => app.get('/', (_req, res) => res.end('ok')),
        async (base) => {
          for (const host of ['[::1]:8443', 'example.test', 'example.test:99999'])
            await new Promise<void>((resolve, reject) =>
              request(base, { headers: { host } }, (res) => res.resume().on('end', resolve))
                .on('error', reject)
                .end(),
            );
          await eventually(() => serverSpans(plugin.tracing!.spans!.query()).length === 3);
          const attrs = serverSpans(plugin.tracing!.spans!.query())
            .reverse()
            .map((s) => [s.attributes['server.address'], s.attributes['server.port']]);
          expect(attrs).toEqual([
            ['::1', 8443],
            ['example.test', undefined],
            ['example.test', undefined],
          ]);
        },
      );
    } finally {
      await monitor.stop();
    }
  });

  test('a SERVER span per request with the HTTP semantic conventions and the route template', async () => {
    const plugin = tracingPlugin();
    const { monitor } = await startMonitor([plugin], { sample_rate: 1 });
    try {
      const users = express.Router();
      users.get('/:id', (req, res) => {
        // Handlers run inside the server span.
        res.json({ id: req.params.id, span: trace.getSpan(context.active())?.spanContext().spanId });
      });
      await withApp(
        (app) => {
          app.use('/users', users);
          app.get('/boom', () => {
            throw new Error('handler failed');
          });
        },
        async (base) => {
          const res = await fetch(new URL('/users/42?verbose=1', base), { headers: { 'user-agent': 'test-agent' } });
          const body = (await res.json()) as { id: string; span: string };
          expect((await fetch(new URL('/boom', base))).status).toBe(500);
          expect((await fetch(new URL('/nowhere', base))).status).toBe(404);
          await eventually(() => serverSpans(plugin.tracing!.spans!.query()).length === 3);
          const spans = serverSpans(plugin.tracing!.spans!.query());
          const user = spans.find((s) => s.name === 'GET /users/:id')!;
          expect(user.spanId).toBe(body.span);
          expect(user.parentSpanId).toBeUndefined();
          expect(user.attributes).toMatchObject({
            'http.request.method': 'GET',
            'http.route': '/users/:id',
            'http.response.status_code': 200,
            'url.path': '/users/42',
            'url.scheme': 'http',
            'server.address': '127.0.0.1',
            'server.port': Number(base.port),
            'network.protocol.version': '1.1',
            'user_agent.original': 'test-agent',
            'client.address': '127.0.0.1',
          });
          expect(user.status.code).toBe('UNSET');
          const boom = spans.find((s) => s.name === 'GET /boom')!;
          expect(boom.status.code).toBe('ERROR');
          expect(boom.attributes).toMatchObject({ 'http.response.status_code': 500, 'error.type': '500' });
          // No route matched: no http.route, and the name stays the method alone.
          const missing = spans.find((s) => s.attributes['url.path'] === '/nowhere')!;
          expect(missing.name).toBe('GET');
          expect(missing.attributes['http.route']).toBeUndefined();
        },
      );
    } finally {
      await monitor.stop();
    }
  });

  test('an incoming sampled traceparent is continued and honoured even at sample_rate 0', async () => {
    const plugin = tracingPlugin();
    const { monitor } = await startMonitor([plugin], { sample_rate: 0 });
    try {
      await withApp(
        (app) => app.get('/ping', (_req, res) => void res.send('pong')),
        async (base) => {
          const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
          const parentId = '00f067aa0ba902b7';
          await (
            await fetch(new URL('/ping', base), { headers: { traceparent: `00-${traceId}-${parentId}-01` } })
          ).text();
          // An unsampled parent is honoured too: nothing is recorded.
          await (
            await fetch(new URL('/ping', base), {
              headers: { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-00` },
            })
          ).text();
          // And a root request at rate 0 is not sampled.
          await (await fetch(new URL('/ping', base))).text();
          await eventually(() => serverSpans(plugin.tracing!.spans!.query()).length > 0);
          const spans = serverSpans(plugin.tracing!.spans!.query());
          expect(spans).toHaveLength(1);
          expect(spans[0]).toMatchObject({ name: 'GET /ping', traceId, parentSpanId: parentId });
        },
      );
    } finally {
      await monitor.stop();
    }
  });
});

describe('propagation on outgoing calls', () => {
  test('tracedFetch sends traceparent and baggage-free W3C headers from a CLIENT span in the active trace', async () => {
    const plugin = tracingPlugin();
    const { monitor } = await startMonitor([plugin], { sample_rate: 1 });
    const seen: (string | undefined)[] = [];
    await using upstream = await listenLoopback(async (req, res) => {
      await readBody(req);
      seen.push(req.headers.traceparent as string | undefined);
      res.writeHead(req.url === '/missing' ? 404 : 200).end('ok');
    });
    try {
      const traceId = await withSpan('export.run', undefined, async (root) => {
        expect(
          (await tracedFetch(new URL('/sync?x=1', upstream.url), { headers: { accept: 'text/plain' } })).status,
        ).toBe(200);
        expect((await tracedFetch(new URL('/missing', upstream.url))).status).toBe(404);
        return root.spanContext().traceId;
      });
      const spans = plugin.tracing!.spans!.query();
      const root = spans.find((s) => s.name === 'export.run')!;
      const clients = spans.filter((s) => s.kind === 'CLIENT').reverse();
      expect(clients).toHaveLength(2);
      for (const [i, client] of clients.entries()) {
        expect(client).toMatchObject({ name: 'GET', traceId, parentSpanId: root.spanId });
        expect(seen[i]).toBe(`00-${traceId}-${client.spanId}-01`);
      }
      expect(clients[0]?.attributes).toMatchObject({
        'http.request.method': 'GET',
        'url.full': new URL('/sync?x=1', upstream.url).href,
        'server.address': '127.0.0.1',
        'server.port': upstream.port,
        'http.response.status_code': 200,
      });
      expect(clients[1]?.status.code).toBe('ERROR');
    } finally {
      await monitor.stop();
    }
  });

  test('issue #19: url.full keeps no secret: query tokens and userinfo are redacted in the spans at /traces', async () => {
    const plugin = tracingPlugin();
    const { monitor } = await startMonitor([plugin], { sample_rate: 1 });
    await using upstream = await listenLoopback((_req, res) => void res.writeHead(200).end('{}'));
    try {
      const withToken = new URL('/users/1?access_token=QSECRET-TOKEN-42&page=2&api_key=QAPIKEY-7', upstream.url);
      expect((await tracedFetch(withToken)).status).toBe(200);
      const withUser = new URL(upstream.url);
      withUser.username = 'quser';
      withUser.password = 'QPASS-99';
      // fetch refuses credentials in a URL; the span still records the attempt.
      await expect(tracedFetch(withUser)).rejects.toThrow();
      const body = await (await fetch(new URL('/traces', monitor.url('metrics')))).text();
      for (const secret of ['QSECRET-TOKEN-42', 'QAPIKEY-7', 'quser', 'QPASS-99']) expect(body).not.toContain(secret);
      const fulls = plugin.tracing!.spans!.query().map((s) => s.attributes['url.full']);
      expect(fulls).toContain(`${upstream.url.origin}/users/1?access_token=[redacted]&page=2&api_key=[redacted]`);
      expect(fulls).toContain(`http://[redacted]:[redacted]@127.0.0.1:${upstream.port}/`);
    } finally {
      await monitor.stop();
    }
  });

  test('a network error is recorded on the client span and rethrown', async () => {
    const plugin = tracingPlugin();
    const { monitor } = await startMonitor([plugin], { sample_rate: 1 });
    const gone = await listenLoopback(() => {});
    await gone.close();
    try {
      await expect(tracedFetch(gone.url)).rejects.toThrow();
      const [client] = plugin.tracing!.spans!.query();
      expect(client?.kind).toBe('CLIENT');
      expect(client?.status.code).toBe('ERROR');
      expect(client?.events.map((e) => e.name)).toEqual(['exception']);
    } finally {
      await monitor.stop();
    }
  });

  test('traceHeaders gives the headers for a client of your own', async () => {
    const { monitor } = await startMonitor([tracingPlugin()], { sample_rate: 1 });
    try {
      withSpan('outer', undefined, (span) => {
        const { traceId, spanId } = span.spanContext();
        expect(traceHeaders()).toEqual({ traceparent: `00-${traceId}-${spanId}-01` });
      });
    } finally {
      await monitor.stop();
    }
  });
});

describe('sampling: ParentBased(TraceIdRatioBased(sample_rate))', () => {
  // #22: the middleware decides a new trace by the ratio before building a span; an unsampled request gets a
  // non-recording span that still carries its own ids downstream, and nothing under it is recorded.
  test('tracingMiddleware samples about 0.1 of new traces; an unsampled request still propagates its own trace', async () => {
    const plugin = tracingPlugin();
    const { monitor } = await startMonitor([plugin], { sample_rate: 0.1, memory_max_spans: 100_000 });
    try {
      const middleware = tracingMiddleware();
      const n = 20_000;
      const seen = new Set<string>();
      let sampled = 0;
      for (let i = 0; i < n; i++) {
        const req = { method: 'GET', url: '/users/7', headers: {}, httpVersion: '1.1', socket: {} };
        const res = Object.assign(new EventEmitter(), { statusCode: 200, writableFinished: true });
        middleware(req as never, res as never, () => {
          const span = trace.getActiveSpan()!;
          const { traceId, spanId, traceFlags } = span.spanContext();
          expect(traceId).toMatch(/^[0-9a-f]{32}$/);
          expect(spanId).toMatch(/^[0-9a-f]{16}$/);
          expect(traceId).not.toBe('0'.repeat(32));
          expect(seen.has(traceId)).toBe(false);
          seen.add(traceId);
          const flag = span.isRecording() ? '01' : '00';
          if (span.isRecording()) sampled++;
          expect(traceFlags & TraceFlags.SAMPLED).toBe(span.isRecording() ? TraceFlags.SAMPLED : 0);
          expect(traceHeaders().traceparent).toBe(`00-${traceId}-${spanId}-${flag}`);
          withSpan('child', undefined, (child) => {
            expect(child.isRecording()).toBe(span.isRecording());
            expect(child.spanContext().traceId).toBe(traceId);
          });
        });
        res.emit('close');
      }
      const sigma = Math.sqrt(n * 0.1 * 0.9);
      expect(Math.abs(sampled - n * 0.1)).toBeLessThan(5 * sigma);
      const spans = plugin.tracing!.spans!.query({ limit: 100_000 });
      expect(serverSpans(spans)).toHaveLength(sampled);
      expect(spans.filter((s) => s.name === 'child')).toHaveLength(sampled);
      expect(spans.every((s) => s.sampled)).toBe(true);
    } finally {
      await monitor.stop();
    }
  });

  test.each([0.1, 0.5])('about %s of root traces are sampled, and their children follow the root', async (rate) => {
    const plugin = tracingPlugin();
    const { monitor } = await startMonitor([plugin], { sample_rate: rate, memory_max_spans: 100_000 });
    try {
      const n = 20_000;
      let sampled = 0;
      let childMismatch = 0;
      const isSampled = (span: Span): boolean => (span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0;
      for (let i = 0; i < n; i++) {
        withSpan('root', undefined, (root) => {
          if (isSampled(root)) sampled++;
          withSpan('child', undefined, (child) => {
            if (root.isRecording() !== child.isRecording() || isSampled(root) !== isSampled(child)) childMismatch++;
          });
        });
      }
      const sigma = Math.sqrt(n * rate * (1 - rate));
      // Five standard deviations: a false failure is about one in 1.7 million runs.
      expect(Math.abs(sampled - n * rate)).toBeLessThan(5 * sigma);
      expect(childMismatch).toBe(0);
      // The ring keeps them all whatever the ratio (#20): the flag says which ones the ratio sampled.
      const roots = plugin.tracing!.spans!.query({ name: 'root', limit: 100_000 });
      expect(roots).toHaveLength(n);
      expect(roots.filter((r) => r.sampled)).toHaveLength(sampled);
    } finally {
      await monitor.stop();
    }
  });
});
