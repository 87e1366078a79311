import { setTimeout as sleep } from 'node:timers/promises';
import { createMonitor, defaultServiceName, silentLogger } from '@obs/core';
import { context, type ProxyTracerProvider, SpanStatusCode, trace } from '@opentelemetry/api';
import { describe, expect, test } from 'vitest';
import { type SpanRecord, traceApiCall, tracingPlugin, withSpan } from '../src/index.ts';
import { loopback, startMonitor } from './helpers.ts';

async function traces(monitorUrl: URL, query = ''): Promise<{ spans: SpanRecord[]; service: string }> {
  const res = await fetch(new URL(`/traces${query}`, monitorUrl));
  expect(res.status).toBe(200);
  return (await res.json()) as { spans: SpanRecord[]; service: string };
}

describe('the plugin, with the embedded memory exporter', () => {
  test('provides tracing.tracer, registers the globals on start and removes them on stop', async () => {
    const plugin = tracingPlugin();
    const { monitor } = await startMonitor([plugin], { sample_rate: 1 });
    const tracer = monitor.service('tracing.tracer');
    expect(plugin.tracing?.exporter).toBe('memory');
    expect((trace.getTracerProvider() as ProxyTracerProvider).getDelegate()).toBe(plugin.tracing?.provider);
    tracer.startSpan('direct').end();
    expect(plugin.tracing?.spans?.query({ name: 'direct' })).toHaveLength(1);
    await monitor.stop();
    expect((trace.getTracerProvider() as ProxyTracerProvider).getDelegate()).not.toBe(plugin.tracing?.provider);
    // A second plugin in the same process can register again: stop undid what start did.
    const again = await startMonitor([tracingPlugin()]);
    await again.monitor.stop();
  });

  test('withSpan nests sync and async spans, carries context across await, and serves them at /traces', async () => {
    const { monitor } = await startMonitor([tracingPlugin()], { sample_rate: 1, service_name: 'svc-test' });
    try {
      const value = await withSpan('export.run', { 'export.kind': 'movies' }, async (outer) => {
        const inner = withSpan('csv.write', undefined, (span) => span.spanContext().spanId);
        await sleep(1);
        // Still in the outer span after the await.
        expect(trace.getSpan(context.active())?.spanContext().spanId).toBe(outer.spanContext().spanId);
        await withSpan('after.await', undefined, async () => sleep(1));
        return inner;
      });
      const { spans, service } = await traces(monitor.url('metrics'));
      expect(service).toBe('svc-test');
      const byName = Object.fromEntries(spans.map((s) => [s.name, s]));
      const outer = byName['export.run']!;
      expect(outer.attributes).toEqual({ 'export.kind': 'movies' });
      expect(outer.parentSpanId).toBeUndefined();
      expect(byName['csv.write']).toMatchObject({ spanId: value, traceId: outer.traceId, parentSpanId: outer.spanId });
      expect(byName['after.await']).toMatchObject({ traceId: outer.traceId, parentSpanId: outer.spanId });
      expect(outer.service).toBe('svc-test');
    } finally {
      await monitor.stop();
    }
  });

  test('withSpan records a throw or a rejection as an ERROR and rethrows it', async () => {
    const { monitor } = await startMonitor([tracingPlugin()], { sample_rate: 1 });
    try {
      const boom = new Error('boom');
      expect(() =>
        withSpan('sync.fail', undefined, () => {
          throw boom;
        }),
      ).toThrow(boom);
      await expect(withSpan('async.fail', undefined, async () => Promise.reject(boom))).rejects.toBe(boom);
      const { spans } = await traces(monitor.url('metrics'), '?error=true');
      expect(spans.map((s) => s.name).sort()).toEqual(['async.fail', 'sync.fail']);
      for (const span of spans) {
        expect(span.status).toEqual({ code: 'ERROR', message: 'boom' });
        expect(span.events.map((e) => e.name)).toEqual(['exception']);
      }
    } finally {
      await monitor.stop();
    }
  });

  test('/traces filters by trace id, name (exact or prefix) and error, and rejects bad filters', async () => {
    const { monitor } = await startMonitor([tracingPlugin()], { sample_rate: 1 });
    try {
      const first = withSpan('api.watched_movies', undefined, (s) => s.spanContext().traceId);
      withSpan('api.ratings', undefined, () => {});
      withSpan('db.query', undefined, (s) => s.setStatus({ code: SpanStatusCode.ERROR }));
      const base = monitor.url('metrics');
      expect((await traces(base, `?trace_id=${first}`)).spans.map((s) => s.name)).toEqual(['api.watched_movies']);
      expect((await traces(base, '?name=api.ratings')).spans.map((s) => s.name)).toEqual(['api.ratings']);
      expect((await traces(base, '?name=api.*')).spans.map((s) => s.name)).toEqual([
        'api.ratings',
        'api.watched_movies',
      ]);
      expect((await traces(base, '?error=true')).spans.map((s) => s.name)).toEqual(['db.query']);
      expect((await traces(base, '?error=false&limit=1')).spans.map((s) => s.name)).toEqual(['api.ratings']);
      for (const bad of ['?trace_id=xyz', '?error=maybe', '?limit=0']) {
        expect((await fetch(new URL(`/traces${bad}`, base))).status).toBe(400);
      }
    } finally {
      await monitor.stop();
    }
  });

  test('the ring is bounded: the oldest spans go first', async () => {
    const plugin = tracingPlugin();
    const { monitor } = await startMonitor([plugin], { sample_rate: 1, memory_max_spans: 5 });
    try {
      for (let i = 0; i < 12; i++) withSpan(`span.${i}`, undefined, () => {});
      const { spans } = await traces(monitor.url('metrics'), '?limit=100');
      expect(spans.map((s) => s.name)).toEqual(['span.11', 'span.10', 'span.9', 'span.8', 'span.7']);
      expect(plugin.tracing?.spans?.size).toBe(5);
    } finally {
      await monitor.stop();
    }
  });

  test('the resource carries service name, version and instance id', async () => {
    const plugin = tracingPlugin({
      serviceVersion: '1.2.3',
      resourceAttributes: { 'deployment.environment.name': 'test' },
    });
    const { monitor } = await startMonitor([plugin], { sample_rate: 1, service_instance_id: 'worker-7' });
    try {
      const span = monitor.service('tracing.tracer').startSpan('x');
      span.end();
      const resource = (span as unknown as { resource: { attributes: Record<string, unknown> } }).resource.attributes;
      expect(resource).toMatchObject({
        // No name in the config: the app's package name (npm sets it for a script), else unknown_service:node.
        'service.name': defaultServiceName(),
        'service.version': '1.2.3',
        'service.instance.id': 'worker-7',
        'deployment.environment.name': 'test',
        'telemetry.sdk.language': 'nodejs',
      });
    } finally {
      await monitor.stop();
    }
  });

  test('enabled = false skips the plugin: nothing is mounted and no tracer is provided', async () => {
    const monitor = createMonitor({
      config: { ...loopback, tracing: { enabled: false } },
      plugins: [tracingPlugin()],
      logger: silentLogger,
    });
    await monitor.start();
    try {
      expect(() => monitor.service('tracing.tracer')).toThrow(
        expect.objectContaining({ code: 'OBS_ERR_SERVICE_MISSING' }),
      );
    } finally {
      await monitor.stop();
    }
  });
});

describe('traceApiCall', () => {
  test('names the span api.<endpoint>, sets api.endpoint and api.method, and emits api:called once', async () => {
    const { monitor, events } = await startMonitor([tracingPlugin()], { sample_rate: 1 });
    try {
      const result = await traceApiCall(monitor, 'watched_movies', async () => ({ status: 200, items: [1, 2] }));
      expect(result.items).toEqual([1, 2]);
      const [span] = (await traces(monitor.url('metrics'), '?name=api.watched_movies')).spans;
      expect(span).toMatchObject({
        name: 'api.watched_movies',
        attributes: { 'api.endpoint': 'watched_movies', 'api.method': 'GET', 'http.response.status_code': 200 },
        status: { code: 'UNSET' },
      });
      expect(span?.scope).toBe('trakt-api');
      expect(events.apiCalls).toEqual([
        { endpoint: 'watched_movies', status: 200, durationMs: expect.any(Number), method: 'GET' },
      ]);
    } finally {
      await monitor.stop();
    }
  });

  test('an error is recorded, the status set to ERROR and the error rethrown; the event carries its status', async () => {
    const { monitor, events } = await startMonitor([tracingPlugin()], { sample_rate: 1 });
    try {
      const failure = Object.assign(new Error('Trakt ratings: HTTP 503'), { status: 503 });
      await expect(
        traceApiCall({ bus: monitor.bus, method: 'POST' }, 'ratings', async () => {
          throw failure;
        }),
      ).rejects.toBe(failure);
      const [span] = (await traces(monitor.url('metrics'), '?name=api.ratings')).spans;
      expect(span?.status).toEqual({ code: 'ERROR', message: 'Trakt ratings: HTTP 503' });
      expect(span?.attributes).toMatchObject({ 'api.method': 'POST', 'http.response.status_code': 503 });
      expect(span?.events.map((e) => e.name)).toContain('exception');
      expect(events.apiCalls).toMatchObject([{ endpoint: 'ratings', status: 503, method: 'POST' }]);
    } finally {
      await monitor.stop();
    }
  });

  test('with monitor.recordApiCall inside (one per attempt), the call is counted by the recorder only', async () => {
    const { monitor, events } = await startMonitor([tracingPlugin()], { sample_rate: 1 });
    try {
      await traceApiCall(monitor, 'history', async () => {
        monitor.recordApiCall('history', 503, 4);
        await sleep(1);
        monitor.recordApiCall('history', 200, 3);
        return { status: 200 };
      });
      expect(events.apiCalls.map((e) => e.status)).toEqual([503, 200]);
      const [span] = (await traces(monitor.url('metrics'), '?name=api.history')).spans;
      expect(span?.events.map((e) => [e.name, e.attributes['http.response.status_code']])).toEqual([
        ['api.attempt', 503],
        ['api.attempt', 200],
      ]);
    } finally {
      await monitor.stop();
    }
  });

  test('nested and concurrent calls each count once; the seed form takes an OTel context', async () => {
    const { monitor, events } = await startMonitor([tracingPlugin()], { sample_rate: 1 });
    try {
      await withSpan('export.run', undefined, () =>
        Promise.all([
          traceApiCall(monitor, 'outer', () => traceApiCall(monitor, 'inner', async () => ({ status: 201 }))),
          // The seed's signature: a context first; the event goes to the running plugin's bus.
          traceApiCall(context.active(), 'watchlist', async () => 'ok'),
          traceApiCall(monitor, 'watched_movies', async () => {
            monitor.recordApiCall('watched_movies', 200, 1);
          }),
        ]),
      );
      expect(events.apiCalls.map((e) => `${e.endpoint}:${e.status}`).sort()).toEqual([
        'inner:201',
        'watched_movies:200',
        'watchlist:200',
      ]);
      const spans = (await traces(monitor.url('metrics'))).spans;
      const root = spans.find((s) => s.name === 'export.run')!;
      const outer = spans.find((s) => s.name === 'api.outer')!;
      expect(outer.parentSpanId).toBe(root.spanId);
      expect(spans.find((s) => s.name === 'api.inner')?.parentSpanId).toBe(outer.spanId);
      expect(spans.find((s) => s.name === 'api.watchlist')?.parentSpanId).toBe(root.spanId);
    } finally {
      await monitor.stop();
    }
  });

  test('emit: false leaves counting to the recorders inside (a cache hit is traced, not counted)', async () => {
    const { monitor, events } = await startMonitor([tracingPlugin()], { sample_rate: 1 });
    try {
      const cache = new Map<string, string>();
      const get = (key: string) =>
        traceApiCall({ bus: monitor.bus, emit: false }, 'watchlist', async () => {
          const hit = cache.get(key);
          if (hit !== undefined) return hit;
          monitor.recordApiCall('watchlist', 200, 2);
          cache.set(key, 'page');
          return 'page';
        });
      await get('/sync/watchlist');
      await get('/sync/watchlist');
      expect(events.apiCalls.map((e) => e.status)).toEqual([200]);
      expect((await traces(monitor.url('metrics'), '?name=api.watchlist')).spans).toHaveLength(2);
    } finally {
      await monitor.stop();
    }
  });

  test('without the tracing plugin, monitor.recordApiCall inside is still not double counted', async () => {
    const monitor = createMonitor({ config: loopback, logger: silentLogger });
    const calls: string[] = [];
    monitor.bus.on('api:called', (e) => void calls.push(`${e.endpoint}:${e.status}`));
    await monitor.start();
    try {
      await traceApiCall(monitor, 'a', async () => monitor.recordApiCall('a', 429, 1));
      await traceApiCall(monitor, 'b', async () => ({ status: 204 }));
      expect(calls).toEqual(['a:429', 'b:204']);
    } finally {
      await monitor.stop();
    }
  });
});
