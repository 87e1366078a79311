import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ObsError } from '@obs/core';
import { metricsPlugin } from '@obs/metrics';
import { waitUntil } from '@obs/testing';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, test } from 'vitest';
import { traceApiCall, tracingPlugin, withSpan } from '../src/index.ts';
import { eventually, startCollector, startMonitor } from './helpers.ts';

const total = (dropped: { count: number }[]): number => dropped.reduce((sum, d) => sum + d.count, 0);

describe('a collector that is down, failing or slow never reaches the app', () => {
  test.each(['otlp', 'jaeger'] as const)(
    '%s: collector down: the export fails, is reported and its spans counted as dropped',
    async (kind) => {
      const gone = await startCollector();
      const url = new URL(gone.url(kind === 'jaeger' ? '/api/traces' : '/v1/traces'));
      await gone.close();
      url.username = 'user';
      url.password = 'hunter2';
      const { monitor, events } = await startMonitor([tracingPlugin()], {
        endpoint: url.href,
        sample_rate: 1,
        scheduled_delay: '10ms',
        export_timeout: '300ms',
      });
      try {
        await withSpan('job', undefined, () => traceApiCall(monitor, 'watched_movies', async () => ({ status: 200 })));
        await eventually(() => events.errors.length > 0);
        const [{ plugin, error }] = events.errors as [{ plugin: string; error: Error }];
        expect(plugin).toBe('@obs/tracing');
        expect(error).toBeInstanceOf(ObsError);
        expect((error as ObsError).code).toBe('OBS_ERR_TRACING_EXPORT');
        expect(error.message).not.toContain('hunter2');
        await eventually(() => total(events.dropped) >= 2);
        expect(events.dropped.every((d) => d.plugin === '@obs/tracing' && d.what === 'spans')).toBe(true);
        expect(total(events.dropped)).toBe(2);
        // The app's own work carries on.
        expect(withSpan('still.works', undefined, () => 42)).toBe(42);
      } finally {
        await monitor.stop();
      }
    },
  );

  test.each(['otlp', 'jaeger'] as const)(
    '%s: a collector answering 500: reported, spans counted as dropped',
    async (kind) => {
      await using collector = await startCollector({ status: 500 });
      const { monitor, events } = await startMonitor([tracingPlugin()], {
        endpoint: collector.url(kind === 'jaeger' ? '/api/traces' : '/v1/traces'),
        sample_rate: 1,
        scheduled_delay: '10ms',
      });
      try {
        for (let i = 0; i < 3; i++) withSpan(`span.${i}`, undefined, () => {});
        await eventually(() => total(events.dropped) >= 3);
        expect(total(events.dropped)).toBe(3);
        expect(events.errors.map((e) => (e.error as ObsError).code)).toContain('OBS_ERR_TRACING_EXPORT');
        expect(collector.requests.length).toBeGreaterThan(0);
      } finally {
        await monitor.stop();
      }
    },
  );

  test('a collector that never answers: the app is not blocked, and stop gives up after flush_timeout', async () => {
    await using collector = await startCollector({ hang: true });
    const { monitor, events } = await startMonitor([tracingPlugin()], {
      endpoint: collector.url('/v1/traces'),
      otlp_protocol: 'http/json',
      sample_rate: 1,
      scheduled_delay: '10ms',
      export_timeout: '30s',
      flush_timeout: '200ms',
    });
    withSpan('first', undefined, () => {});
    await collector.waitForRequests(1);
    // The export is stuck; tracing goes on regardless.
    const answer = await traceApiCall(monitor, 'history', async () => ({ status: 200, page: 1 }));
    expect(answer.page).toBe(1);
    for (let i = 0; i < 10; i++) withSpan(`queued.${i}`, undefined, () => {});
    await monitor.stop();
    const codes = events.errors.map((e) => (e.error as ObsError).code);
    expect(codes).toContain('OBS_ERR_TRACING_FLUSH_TIMEOUT');
  });
});

// A test double with the real SpanExporter interface: holds every export until released.
function heldExporter(): SpanExporter & { exported: number; release(): void; calls: number } {
  const held: { spans: ReadableSpan[]; done: (r: ExportResult) => void }[] = [];
  let released = false;
  const exporter = {
    exported: 0,
    calls: 0,
    export(spans: ReadableSpan[], done: (r: ExportResult) => void) {
      exporter.calls++;
      if (released) {
        exporter.exported += spans.length;
        done({ code: 0 });
      } else held.push({ spans, done });
    },
    release() {
      released = true;
      for (const { spans, done } of held.splice(0)) {
        exporter.exported += spans.length;
        done({ code: 0 });
      }
    },
    shutdown: () => Promise.resolve(),
  };
  return exporter;
}

describe('the export queue is bounded', () => {
  test('past max_queue_size new spans are dropped and counted; the rest are flushed on stop', async () => {
    const exporter = heldExporter();
    const { monitor, events } = await startMonitor([tracingPlugin({ spanExporter: exporter })], {
      sample_rate: 1,
      max_queue_size: 10,
      max_export_batch_size: 5,
      scheduled_delay: '1h',
    });
    // 5 fill a batch, which goes to the (stuck) exporter; 10 more fill the queue; 20 overflow.
    for (let i = 0; i < 35; i++) withSpan(`span.${i}`, undefined, () => {});
    expect(exporter.calls).toBe(1);
    expect(total(events.dropped)).toBe(20);
    expect(events.dropped.every((d) => d.what === 'spans' && d.plugin === '@obs/tracing')).toBe(true);
    exporter.release();
    await monitor.stop();
    expect(exporter.exported).toBe(15);
    expect(events.errors).toEqual([]);
  });

  test('unsampled spans never enter the queue', async () => {
    const exporter = heldExporter();
    const { monitor, events } = await startMonitor([tracingPlugin({ spanExporter: exporter })], {
      sample_rate: 0,
      max_queue_size: 1,
      max_export_batch_size: 1,
    });
    for (let i = 0; i < 50; i++) withSpan(`span.${i}`, undefined, () => {});
    expect(exporter.calls).toBe(0);
    expect(events.dropped).toEqual([]);
    exporter.release();
    await monitor.stop();
  });
});

describe('dropped spans reach /metrics through the bus', () => {
  test('with @obs/metrics installed, obs_dropped_total counts the spans a dead collector lost', async () => {
    const gone = await startCollector();
    const url = gone.url('/v1/traces');
    await gone.close();
    const { monitor } = await startMonitor([metricsPlugin(), tracingPlugin()], {
      endpoint: url,
      sample_rate: 1,
      scheduled_delay: '10ms',
      export_timeout: '300ms',
    });
    try {
      await withSpan('job', undefined, () => traceApiCall(monitor, 'watched_movies', async () => ({ status: 200 })));
      const dropped = /obs_dropped_total\{plugin="@obs\/tracing",what="spans"\} 2$/m;
      const text = await waitUntil(
        async () => {
          const scraped = await (await fetch(new URL('/metrics', monitor.url('metrics')))).text();
          return dropped.test(scraped) ? scraped : undefined;
        },
        { what: 'the dropped spans on /metrics', intervalMs: 10 },
      );
      expect(text).toMatch(/obs_errors_total\{plugin="@obs\/tracing",code="OBS_ERR_TRACING_EXPORT"\} [1-9]/);
    } finally {
      await monitor.stop();
    }
  });
});

describe('issue #19: stop is bounded with a collector that never answers', () => {
  // The process must end soon after stop, whatever export_timeout says: no socket or timer may keep it alive.
  test.each([
    ['the defaults (export_timeout 10s, flush_timeout 5s)', '10s', '5s'],
    ['export_timeout = "30s"', '30s', '5s'],
  ])(
    '%s: stop and process exit come within shutdown_timeout',
    async (_name, exportTimeout, flushTimeout) => {
      await using collector = await startCollector({ hang: true });
      const started = performance.now();
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--conditions=@obs/source',
          join(import.meta.dirname, 'fixtures/stop-with-hanging-collector.ts'),
          collector.url('/v1/traces'),
          exportTimeout,
          '1s',
          flushTimeout,
        ],
        { cwd: join(import.meta.dirname, '..'), stdio: ['pipe', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      await collector.waitForRequests(1);
      const stopAt = performance.now();
      child.stdin.write('stop\n');
      const code = await exited;
      const exitMs = performance.now() - stopAt;
      expect(code).toBe(0);
      const result = JSON.parse(out) as { stopMs: number; errors: string[] };
      // shutdown_timeout is 1s: generous bounds, far below export_timeout.
      expect(result.stopMs).toBeLessThan(2_500);
      expect(exitMs).toBeLessThan(4_000);
      expect(result.errors).toContain('OBS_ERR_TRACING_FLUSH_TIMEOUT');
      expect(performance.now() - started).toBeLessThan(20_000);
    },
    60_000,
  );
});
