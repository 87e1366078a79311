import { createRequire } from 'node:module';
import type { Exemplar } from './families.ts';

interface SpanLike {
  isRecording(): boolean;
  spanContext(): { traceId: string; spanId: string };
}
interface TraceApi {
  getActiveSpan(): SpanLike | undefined;
}

let api: TraceApi | null | undefined;

// @opentelemetry/api is an optional peer: without it there are simply no exemplars. The API keeps its
// state on globalThis, so whichever copy is found sees the spans of the app's tracer provider.
function traceApi(): TraceApi | null {
  if (api === undefined) {
    try {
      api = (createRequire(import.meta.url)('@opentelemetry/api') as { trace: TraceApi }).trace;
    } catch {
      api = null;
    }
  }
  return api;
}

/** The exemplar for an observation of `value`, if a span is recording in the current context. */
export function activeExemplar(value: number): Exemplar | undefined {
  const span = traceApi()?.getActiveSpan();
  if (span === undefined || !span.isRecording()) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId, value, timestamp: Date.now() / 1000 };
}
