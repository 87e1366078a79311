// Issue #20: at the seed's sample_rate 0.1, /traces shows every job and API call from the first minute, the
// failed attempts of a retried call are error spans, and API calls carry exemplars; the ratio still decides
// what is sampled (what a collector gets), and an unsampled HTTP request is still not recorded (#22).
import type { AddressInfo } from 'node:net';
import { metricsPlugin } from '@obs/metrics';
import { SpanKind, trace } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import express from 'express';
import { describe, expect, test } from 'vitest';
import { type SpanRecord, traceApiCall, tracingMiddleware, tracingPlugin, withSpan } from '../src/index.ts';
import { startMonitor } from './helpers.ts';

// A test double with the real SpanExporter interface: counts what it is given.
function countingExporter(): SpanExporter & { spans: number } {
  const exporter = {
    spans: 0,
    export(spans: ReadableSpan[], done: (r: ExportResult) => void) {
      exporter.spans += spans.length;
      done({ code: ExportResultCode.SUCCESS });
    },
    shutdown: () => Promise.resolve(),
  };
  return exporter;
}

async function traces(base: URL, query = ''): Promise<SpanRecord[]> {
  const res = await fetch(new URL(`traces${query}`, base));
  expect(res.status).toBe(200);
  return ((await res.json()) as { spans: SpanRecord[] }).spans;
}

describe('the in-memory ring at sample_rate 0.1', () => {
  test('keeps every job and API call whatever the ratio, with their failed attempts as error spans', async () => {
    const { monitor } = await startMonitor([tracingPlugin()], { sample_rate: 0.1 });
    try {
      for (let run = 1; run <= 20; run++) {
        await withSpan('export.run', { 'export.run': run }, () =>
          traceApiCall(monitor, 'history', async () => {
            // The client records each HTTP attempt: a 503, then the retry's 200.
            monitor.recordApiCall('history', 503, 4);
            monitor.recordApiCall('history', 200, 3);
            return { status: 200 };
          }),
        );
      }
      const base = monitor.url('metrics');
      const runs = await traces(base, '?name=export.run');
      expect(runs).toHaveLength(20);
      // The ratio still samples: about 2 in 20 (all 20 sampled would be 1e-20 likely at 0.1).
      expect(runs.filter((r) => r.sampled).length).toBeLessThan(20);
      const calls = await traces(base, '?name=api.*');
      expect(calls).toHaveLength(20);
      for (const call of calls) {
        expect(runs.map((r) => r.spanId)).toContain(call.parentSpanId);
        expect(call.events.map((e) => e.name)).toEqual(['api.attempt', 'api.attempt']);
      }
      // A retried 503 is an error span of its own, a CLIENT child of the call, though the call succeeded.
      const errors = await traces(base, '?error=true&limit=1000');
      expect(errors).toHaveLength(20);
      for (const attempt of errors) {
        expect(attempt).toMatchObject({
          name: 'GET',
          kind: 'CLIENT',
          status: { code: 'ERROR' },
          attributes: { 'http.response.status_code': 503, 'http.request.method': 'GET', 'error.type': '503' },
        });
        expect(calls.map((c) => c.spanId)).toContain(attempt.parentSpanId);
      }
      const retries = (await traces(base, '?limit=1000')).filter(
        (s) => s.kind === 'CLIENT' && s.status.code !== 'ERROR',
      );
      expect(retries).toHaveLength(20);
      expect(retries.every((s) => s.attributes['http.request.resend_count'] === 1)).toBe(true);
    } finally {
      await monitor.stop();
    }
  });

  test('API calls carry exemplars on /metrics from the first call', async () => {
    const { monitor } = await startMonitor([metricsPlugin(), tracingPlugin()], { sample_rate: 0.1 });
    try {
      let traceId = '';
      await traceApiCall(monitor, 'ratings', async (span) => {
        traceId = span.spanContext().traceId;
        monitor.recordApiCall('ratings', 200, 12);
        return { status: 200 };
      });
      const res = await fetch(new URL('metrics', monitor.url('metrics')), {
        headers: { accept: 'application/openmetrics-text; version=1.0.0' },
      });
      const text = await res.text();
      expect(text).toContain(`trace_id="${traceId}"`);
      expect((await traces(monitor.url('metrics'), `?trace_id=${traceId}`)).map((s) => s.name)).toContain(
        'api.ratings',
      );
    } finally {
      await monitor.stop();
    }
  });

  test('an unsampled HTTP server request is not recorded, nor is anything under it (the middleware stays cheap)', async () => {
    const { monitor } = await startMonitor([tracingPlugin()], { sample_rate: 0 });
    const app = express();
    app.use(tracingMiddleware());
    let recording: boolean[] = [];
    app.get('/users/:id', async (_req, res) => {
      recording = [trace.getActiveSpan()?.isRecording() ?? false];
      await traceApiCall(monitor, 'users', (span) => {
        recording.push(span.isRecording());
        return { status: 200 };
      });
      withSpan('inner', undefined, (span) => recording.push(span.isRecording()));
      res.send('ok');
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/users/7`);
      expect(await res.text()).toBe('ok');
      expect(recording).toEqual([false, false, false]);
      expect(await traces(monitor.url('metrics'))).toEqual([]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await monitor.stop();
    }
  });
});

describe('with a collector, sample_rate decides alone', () => {
  test('at 0 an unsampled job is not recorded and nothing is exported', async () => {
    const exporter = countingExporter();
    const { monitor } = await startMonitor([tracingPlugin({ spanExporter: exporter })], {
      sample_rate: 0,
      scheduled_delay: '10ms',
    });
    try {
      for (const kind of [SpanKind.INTERNAL, SpanKind.CLIENT]) {
        const span = monitor.service('tracing.tracer').startSpan('job', { kind });
        expect(span.isRecording()).toBe(false);
        span.end();
      }
      withSpan('export.run', undefined, (span) => expect(span.isRecording()).toBe(false));
    } finally {
      await monitor.stop(); // flushes whatever was queued
    }
    expect(exporter.spans).toBe(0);
  });
});
