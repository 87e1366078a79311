import type { Exemplar } from './families.ts';

interface SpanLike {
  isRecording(): boolean;
  spanContext(): { traceId: string; spanId: string };
}
interface ContextLike {
  getValue(key: symbol): unknown;
}
interface ApiGlobal {
  context?: { active(): ContextLike };
}

// @opentelemetry/api 1.x keeps what a tracer setup registers (the context manager) on globalThis under
// this key, and keys the active span with Symbol.for, so that several copies of the API see one another.
// Reading them directly costs nothing when no tracing is set up, and loads no copy of the API on the
// first recordApiCall (that require took 20 to 60 ms; #22). The API is an optional peer: without it
// there is no global and simply no exemplars.
const API_GLOBAL = Symbol.for('opentelemetry.js.api.1');
const SPAN_KEY = Symbol.for('OpenTelemetry Context Key SPAN');

// The API creates its global object once and then only sets and deletes its fields (registerGlobal,
// unregisterGlobal): once seen, it is kept, which spares a lookup on the global object per observation.
let api: ApiGlobal | undefined;

/** The exemplar for an observation of `value`, if a span is recording in the current context. */
export function activeExemplar(value: number): Exemplar | undefined {
  if (api === undefined) {
    api = (globalThis as { [API_GLOBAL]?: ApiGlobal })[API_GLOBAL];
    if (api === undefined) return undefined;
  }
  const manager = api.context;
  if (manager === undefined) return undefined;
  const span = manager.active().getValue(SPAN_KEY) as SpanLike | undefined;
  if (span === undefined || !span.isRecording()) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId, value, timestamp: Date.now() / 1000 };
}
