import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, test } from 'vitest';
import { traceApiCall, tracingPlugin, withSpan } from '../src/index.ts';
import { startCollector, startMonitor, type WireSpan } from './helpers.ts';

// One small trace: a root with two children, one failing through traceApiCall.
async function emitTrace(monitor: Parameters<typeof traceApiCall>[0]): Promise<string> {
  return withSpan('export.run', { 'export.kind': 'movies', 'export.items': 3 }, async (root) => {
    await traceApiCall(monitor, 'watched_movies', async () => ({ status: 200 }));
    await traceApiCall(monitor, 'ratings', async () => {
      throw Object.assign(new Error('Trakt ratings: HTTP 503'), { status: 503 });
    }).catch(() => {});
    withSpan('csv.write', undefined, (span) => span.setStatus({ code: SpanStatusCode.OK }));
    return root.spanContext().traceId;
  });
}

function checkTrace(spans: readonly WireSpan[], traceId: string, service: string): void {
  const byName = new Map(spans.map((s) => [s.name, s]));
  const root = byName.get('export.run')!;
  expect(root).toBeDefined();
  expect(root.traceId).toBe(traceId);
  expect(root.parentSpanId).toBe('');
  expect(root.attributes).toMatchObject({ 'export.kind': 'movies', 'export.items': 3 });
  const ok = byName.get('api.watched_movies')!;
  expect(ok).toMatchObject({ traceId, parentSpanId: root.spanId, status: 'UNSET' });
  expect(ok.attributes).toMatchObject({ 'api.endpoint': 'watched_movies', 'api.method': 'GET' });
  const failed = byName.get('api.ratings')!;
  expect(failed).toMatchObject({ traceId, parentSpanId: root.spanId, status: 'ERROR' });
  expect(failed.statusMessage).toBe('Trakt ratings: HTTP 503');
  expect(failed.attributes).toMatchObject({ 'api.endpoint': 'ratings', 'http.response.status_code': 503 });
  expect(failed.events).toContain('exception');
  expect(byName.get('csv.write')).toMatchObject({ parentSpanId: root.spanId, status: 'OK' });
  for (const span of spans) expect(span.service).toBe(service);
}

describe.each([
  ['otlp', 'http/json', 'application/json'],
  ['otlp', 'http/protobuf', 'application/x-protobuf'],
  ['jaeger', 'http/protobuf', 'application/x-thrift'],
] as const)('the %s exporter (%s) sends what a collector decodes', (exporter, protocol, contentType) => {
  test('span names, attributes, parent/child links, status and service name', async () => {
    await using collector = await startCollector();
    const path = exporter === 'jaeger' ? '/api/traces' : '/v1/traces';
    const plugin = tracingPlugin();
    const { monitor, events } = await startMonitor([plugin], {
      // auto picks jaeger from the path and otlp otherwise.
      endpoint: collector.url(path),
      otlp_protocol: protocol,
      sample_rate: 1,
      service_name: `svc-${exporter}`,
      scheduled_delay: '10ms',
    });
    try {
      expect(plugin.tracing?.exporter).toBe(exporter);
      const traceId = await emitTrace(monitor);
      const spans = await collector.waitForSpans(4);
      checkTrace(spans, traceId, `svc-${exporter}`);
      expect(collector.requests[0]?.path).toBe(path);
      expect(collector.requests[0]?.headers['content-type']).toContain(contentType);
      expect(events.errors).toEqual([]);
      expect(events.dropped).toEqual([]);
    } finally {
      await monitor.stop();
    }
  });
});

describe('collector endpoints and credentials', () => {
  test('a bare OTLP address gets /v1/traces; credentials in the URL become basic auth, headers are sent', async () => {
    await using collector = await startCollector();
    const bare = new URL(collector.url('/'));
    bare.username = 'user';
    bare.password = 's3cret';
    const { monitor } = await startMonitor([tracingPlugin()], {
      endpoint: bare.href,
      exporter: 'otlp',
      otlp_protocol: 'http/json',
      headers: { 'x-api-key': 'k-123' },
      sample_rate: 1,
      scheduled_delay: '10ms',
    });
    try {
      withSpan('one', undefined, () => {});
      await collector.waitForSpans(1);
      const request = collector.requests[0]!;
      expect(request.path).toBe('/v1/traces');
      expect(request.headers.authorization).toBe(`Basic ${Buffer.from('user:s3cret').toString('base64')}`);
      expect(request.headers['x-api-key']).toBe('k-123');
    } finally {
      await monitor.stop();
    }
  });

  test('jaeger: credentials in the endpoint become basic auth', async () => {
    await using collector = await startCollector();
    const url = new URL(collector.url('/api/traces'));
    url.username = 'jaeger';
    url.password = 'pw';
    const { monitor } = await startMonitor([tracingPlugin()], {
      endpoint: url.href,
      sample_rate: 1,
      scheduled_delay: '10ms',
    });
    try {
      withSpan('one', undefined, () => {});
      await collector.waitForSpans(1);
      expect(collector.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from('jaeger:pw').toString('base64')}`);
    } finally {
      await monitor.stop();
    }
  });

  test('console: spans are printed by the ConsoleSpanExporter (in a child process, on the real stdout)', () => {
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', '--conditions=@obs/source', join(import.meta.dirname, 'fixtures/console-export.ts')],
      { encoding: 'utf8', cwd: join(import.meta.dirname, '..') },
    );
    expect(out).toContain("name: 'printed.span'");
    expect(out).toContain("'service.name': 'console-svc'");
    expect(out).toContain('answer: 42');
  });
});
