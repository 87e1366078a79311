import { createEventBus, ObsConfigError, ObsError, type ObsEvents } from '@obs/core';
import { type ProxyTracerProvider, trace } from '@opentelemetry/api';
import { describe, expect, test } from 'vitest';
import { initTracing, parseTracingConfig, resolveExporterName, traceApiCall, withSpan } from '../src/index.ts';
import { startCollector } from './helpers.ts';

const delegate = () => (trace.getTracerProvider() as ProxyTracerProvider).getDelegate();

describe('initTracing, the seed InitTracing without a monitor', () => {
  test('the seed config (endpoint ending in /api/traces) picks the legacy jaeger exporter and sends thrift', async () => {
    await using collector = await startCollector();
    const bus = createEventBus();
    const calls: ObsEvents['api:called'][] = [];
    bus.on('api:called', (e) => void calls.push(e));
    const tracing = await initTracing(
      {
        enabled: true,
        service_name: 'export-trakt-4-letterboxd',
        endpoint: collector.url('/api/traces'),
        sample_rate: 1,
      },
      { bus },
    );
    try {
      expect(tracing.exporter).toBe('jaeger');
      expect(delegate()).toBe(tracing.provider);
      await traceApiCall({ bus }, 'watched_movies', async () => ({ status: 200 }));
      await tracing.forceFlush();
      const [span] = await collector.waitForSpans(1);
      expect(span).toMatchObject({ name: 'api.watched_movies', service: 'export-trakt-4-letterboxd' });
      expect(calls).toMatchObject([{ endpoint: 'watched_movies', status: 200 }]);
    } finally {
      await tracing.shutdown();
    }
    expect(delegate()).not.toBe(tracing.provider);
    // Shutdown is idempotent.
    await tracing.shutdown();
  });

  test('a second provider cannot take the globals while one is registered', async () => {
    const first = await initTracing({ sample_rate: 1 });
    try {
      const err = await initTracing({}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ObsError);
      expect((err as ObsError).code).toBe('OBS_ERR_TRACING_GLOBAL_CONFLICT');
      expect(delegate()).toBe(first.provider);
      // Without the globals, a second provider works on its own.
      const second = await initTracing({ sample_rate: 1 }, { registerGlobals: false });
      second.tracer.startSpan('own').end();
      expect(second.spans?.query().map((s) => s.name)).toEqual(['own']);
      await second.shutdown();
      expect(delegate()).toBe(first.provider);
    } finally {
      await first.shutdown();
    }
  });

  test('enabled = false gives a no-op handle and registers nothing', async () => {
    const tracing = await initTracing({ enabled: false });
    expect(tracing.enabled).toBe(false);
    expect(tracing.exporter).toBe('none');
    expect(withSpan('nothing', undefined, (span) => span.isRecording())).toBe(false);
    await tracing.shutdown();
  });

  test('a bad config throws ObsConfigError listing every problem with its key path', () => {
    let err: unknown;
    try {
      parseTracingConfig({
        sample_rate: 1.5,
        endpoint: 'ftp://x',
        exporter: 'zipkin' as never,
        scheduled_delay: 'soon',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ObsConfigError);
    expect((err as ObsConfigError).code).toBe('OBS_ERR_CONFIG_INVALID');
    expect((err as ObsConfigError).issues.map((i) => i.path).sort()).toEqual([
      'monitoring.tracing.endpoint',
      'monitoring.tracing.exporter',
      'monitoring.tracing.sample_rate',
      'monitoring.tracing.scheduled_delay',
    ]);
  });

  test('a batch larger than the queue is refused; initTracing rejects a bad config before any I/O', async () => {
    expect(() => parseTracingConfig({ max_queue_size: 10, max_export_batch_size: 20 })).toThrow(
      expect.objectContaining({
        code: 'OBS_ERR_CONFIG_INVALID',
        issues: [expect.objectContaining({ path: 'monitoring.tracing.max_export_batch_size' })],
      }),
    );
    await expect(initTracing({ sample_rate: -1 })).rejects.toBeInstanceOf(ObsConfigError);
  });

  test('auto resolves as the config reference says', () => {
    expect(resolveExporterName('auto', '')).toBe('memory');
    expect(resolveExporterName('auto', 'http://jaeger:14268/api/traces')).toBe('jaeger');
    expect(resolveExporterName('auto', 'http://jaeger:4318')).toBe('otlp');
    expect(resolveExporterName('auto', 'http://collector:4318/v1/traces')).toBe('otlp');
    expect(resolveExporterName('console', 'http://jaeger:14268/api/traces')).toBe('console');
  });
});
