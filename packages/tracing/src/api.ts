import { AsyncLocalStorage } from 'node:async_hooks';
import type { ObsError, ObsEvents } from '@obs/core';
import { redact } from '@obs/core';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import { tracingError } from './errors.ts';
import { type ApiBus, activeBus, apiTracer, scopeTracer } from './internal/active.ts';
import { otelApi } from './internal/otel.ts';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
} from './internal/semconv.ts';

const { context, SpanKind, SpanStatusCode, trace } = otelApi;

/**
 * Where `traceApiCall` runs: a Monitor or a PluginContext (anything with a `bus`), optionally with
 * the parent context, the tracer and the HTTP method.
 */
export interface ApiCallScope {
  /** Receives `api:called`. @default the bus of the running tracing plugin */
  readonly bus?: ApiBus | undefined;
  /** The parent context. @default context.active() */
  readonly context?: Context | undefined;
  /** @default the global tracer named "trakt-api", as in the seed */
  readonly tracer?: Tracer | undefined;
  /** The `api.method` attribute and the event's method. @default "GET" */
  readonly method?: string | undefined;
  /**
   * Whether traceApiCall emits `api:called` when `fn` did not report the call itself. Set it to false
   * when `fn` may answer without calling the API (a cache hit) and records its real calls on its own.
   * @default true
   */
  readonly emit?: boolean | undefined;
}

/** The first argument of {@link traceApiCall}: an OpenTelemetry `Context` (as in the seed) or an {@link ApiCallScope}. */
export type TraceApiCallContext = Context | ApiCallScope;

interface CallRecord {
  readonly span: Span;
  readonly tracer: Tracer;
  readonly context: Context;
  readonly method: string;
  attempts: number;
  reported: boolean;
  last: unknown;
}

// The call that traceApiCall is running, if any: a recorder (monitor.recordApiCall) that fires
// inside it is seen by the observer below, synchronously and in the same async context.
const calls = new AsyncLocalStorage<CallRecord>();
// How many traceApiCalls are running: with none, the observer returns before reading the async context, which
// is most of what a recorder call costs before V8 has optimised it (the first 1,000 calls of a batch run, #22).
let running = 0;
const observed = new WeakSet<object>();

/**
 * Marks the traceApiCall in progress as already counted when `api:called` is emitted inside it, and
 * adds the attempt to its span. Subscribed once per bus.
 */
function onApiCalled(event: ObsEvents['api:called']): void {
  if (running === 0) return;
  const record = calls.getStore();
  // The same event can arrive twice when one bus is observed through two handles (a monitor and a plugin context).
  if (record === undefined || record.last === event) return;
  record.last = event;
  record.reported = true;
  record.span.addEvent('api.attempt', {
    [ATTR_HTTP_RESPONSE_STATUS_CODE]: event.status,
    'api.duration_ms': event.durationMs,
  });
  record.span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, event.status);
  if (record.span.isRecording()) attemptSpan(record, event);
}

/**
 * Each HTTP attempt reported inside a call becomes a CLIENT child span, as OpenTelemetry's HTTP conventions
 * have it (one span per resend, `http.request.resend_count`): an attempt answered 4xx or 5xx, or not at all
 * (status 0), is an error span, so `/traces?error=true` shows the 503 that a retry then turned into a success.
 */
function attemptSpan(record: CallRecord, event: ObsEvents['api:called']): void {
  const ended = Date.now();
  const method = event.method ?? record.method;
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: method,
    [ATTR_HTTP_RESPONSE_STATUS_CODE]: event.status,
    'api.endpoint': event.endpoint,
  };
  if (record.attempts > 0) attributes[ATTR_HTTP_REQUEST_RESEND_COUNT] = record.attempts;
  record.attempts++;
  const span = record.tracer.startSpan(
    method,
    { kind: SpanKind.CLIENT, attributes, startTime: ended - event.durationMs },
    trace.setSpan(record.context, record.span),
  );
  if (event.status === 0 || event.status >= 400) {
    span.setStatus({ code: SpanStatusCode.ERROR });
    span.setAttribute(ATTR_ERROR_TYPE, event.status === 0 ? 'no_response' : String(event.status));
  }
  span.end(ended);
}

/** @internal Subscribes the observer that keeps traceApiCall and the recorders from counting one call twice. */
export function observeApiCalls(bus: ApiBus): void {
  if (observed.has(bus)) return;
  observed.add(bus);
  bus.on('api:called', onApiCalled);
}

function usage(message: string): ObsError {
  return tracingError('OBS_ERR_TRACING_USAGE', `[@obs/tracing] ${message}`);
}

const isContext = (value: TraceApiCallContext): value is Context =>
  typeof (value as Context).getValue === 'function' && typeof (value as Context).setValue === 'function';

function statusOf(value: unknown): number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { status, statusCode } = value as { status?: unknown; statusCode?: unknown };
  const found = typeof status === 'number' ? status : statusCode;
  return typeof found === 'number' && Number.isInteger(found) && found >= 0 ? found : undefined;
}

function recordFailure(span: Span, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  const message = redact(err.message);
  span.recordException({ name: err.name, message, stack: err.stack === undefined ? undefined : redact(err.stack) });
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.setAttribute(ATTR_ERROR_TYPE, err.name === 'Error' ? (err.constructor?.name ?? 'Error') : err.name);
}

/**
 * The seed's TraceAPICall: runs `fn` in a span `api.<endpoint>` with `api.endpoint` and `api.method`;
 * an error is recorded, the status set to ERROR and the error rethrown. Emits `api:called` once,
 * unless `fn` already reported the call itself (through `monitor.recordApiCall`), so nothing is counted twice.
 * Never throws: an empty endpoint or a missing function rejects with ObsError `OBS_ERR_TRACING_USAGE`.
 */
export function traceApiCall<T>(
  ctx: TraceApiCallContext,
  endpoint: string,
  fn: (span: Span) => T | Promise<T>,
): Promise<T> {
  // It returns a Promise, so misuse is a rejection too: a caller's .catch() or try/await sees it (#20).
  if (typeof endpoint !== 'string' || endpoint === '')
    return Promise.reject(usage('traceApiCall needs a non-empty endpoint'));
  if (typeof fn !== 'function') return Promise.reject(usage('traceApiCall needs a function to run'));
  const scope: ApiCallScope = ctx !== undefined && ctx !== null && isContext(ctx) ? { context: ctx } : (ctx ?? {});
  const bus = scope.bus ?? activeBus();
  if (bus !== undefined) observeApiCalls(bus);
  const method = scope.method ?? 'GET';
  const parent = scope.context ?? context.active();
  const tracer = scope.tracer ?? apiTracer();
  const span = tracer.startSpan(
    `api.${endpoint}`,
    { attributes: { 'api.endpoint': endpoint, 'api.method': method } },
    parent,
  );
  const record: CallRecord = { span, tracer, context: parent, method, attempts: 0, reported: false, last: undefined };
  const started = performance.now();
  const finish = (status: number | undefined): void => {
    if (status !== undefined) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    span.end();
    // Emitted outside the call's own scope: an enclosing traceApiCall sees it and does not count it again.
    if (!record.reported && bus !== undefined && scope.emit !== false) {
      bus.emit('api:called', { endpoint, status: status ?? 200, durationMs: performance.now() - started, method });
    }
  };
  const run = async (): Promise<T> => fn(span);
  running++;
  let result: Promise<T>;
  try {
    result = calls.run(record, () => context.with(trace.setSpan(parent, span), run));
  } catch (error) {
    running--;
    throw error;
  }
  return result.then(
    (value) => {
      running--;
      finish(statusOf(value));
      return value;
    },
    (error: unknown) => {
      running--;
      recordFailure(span, error);
      finish(statusOf(error) ?? 0);
      throw error;
    },
  );
}

/**
 * Runs `fn` in a new active span (sync or async): the span ends when `fn` returns or its promise
 * settles; a throw or rejection is recorded, sets status ERROR and is rethrown. The context follows `await`.
 * @throws ObsError `OBS_ERR_TRACING_USAGE` for an empty name or a missing function.
 */
export function withSpan<T>(name: string, attributes: Attributes | undefined, fn: (span: Span) => T): T {
  if (typeof fn !== 'function') throw usage('withSpan needs a function to run');
  if (typeof name !== 'string' || name === '') throw usage('withSpan needs a non-empty span name');
  const parent = context.active();
  const span = scopeTracer().startSpan(name, attributes === undefined ? undefined : { attributes }, parent);
  let result: T;
  try {
    result = context.with(trace.setSpan(parent, span), fn, undefined, span);
  } catch (error) {
    recordFailure(span, error);
    span.end();
    throw error;
  }
  const thenable = result as unknown as PromiseLike<unknown> | null | undefined;
  if (thenable !== null && typeof thenable === 'object' && typeof thenable.then === 'function') {
    return thenable.then(
      (value) => {
        span.end();
        return value;
      },
      (error: unknown) => {
        recordFailure(span, error);
        span.end();
        throw error;
      },
    ) as T;
  }
  span.end();
  return result;
}
