import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Attributes, Context, HrTime } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { otelApi } from './internal/otel.ts';

const { SpanStatusCode, TraceFlags } = otelApi;

/** A finished span as `/traces` serves it. */
export interface SpanRecord {
  readonly traceId: string;
  readonly spanId: string;
  /** Absent on a root span. */
  readonly parentSpanId?: string | undefined;
  readonly name: string;
  readonly kind: 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER';
  /** ISO 8601 start time. */
  readonly startTime: string;
  readonly durationMs: number;
  readonly status: { readonly code: 'UNSET' | 'OK' | 'ERROR'; readonly message?: string | undefined };
  readonly attributes: Attributes;
  readonly events: readonly { readonly name: string; readonly time: string; readonly attributes: Attributes }[];
  /** The `service.name` of the span's resource. */
  readonly service: string;
  /** The instrumentation scope (tracer name). */
  readonly scope: string;
  /**
   * Whether `sample_rate` sampled the trace (the W3C flag; what an exporter would send). The ring also keeps
   * unsampled traces that do not begin with an HTTP request: jobs and API calls.
   */
  readonly sampled: boolean;
}

/** Filters of {@link SpanStore.query}; all given filters must match. */
export interface SpanQuery {
  /** 32 lowercase hex digits. */
  readonly traceId?: string | undefined;
  /** The span name; a trailing `*` matches a prefix (`api.*`). */
  readonly name?: string | undefined;
  /** `true`: only spans with status ERROR; `false`: only the others. */
  readonly error?: boolean | undefined;
  /** Most spans returned, newest first. @default 100 */
  readonly limit?: number | undefined;
}

/** The `memory` exporter's bounded ring of recent finished spans. */
export interface SpanStore {
  /** How many spans the ring holds at most. */
  readonly capacity: number;
  /** How many spans it holds now. */
  readonly size: number;
  /** Matching spans, newest first. */
  query(filter?: SpanQuery): SpanRecord[];
  /** Forgets every span. */
  clear(): void;
}

const KINDS = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;
const STATUS = ['UNSET', 'OK', 'ERROR'] as const;

const hrToMs = (t: HrTime): number => t[0] * 1e3 + t[1] / 1e6;

function toRecord(span: ReadableSpan): SpanRecord {
  const context = span.spanContext();
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    name: span.name,
    kind: KINDS[span.kind] ?? 'INTERNAL',
    startTime: new Date(hrToMs(span.startTime)).toISOString(),
    durationMs: Math.round(hrToMs(span.duration) * 1000) / 1000,
    status: { code: STATUS[span.status.code] ?? 'UNSET', message: span.status.message },
    attributes: span.attributes,
    events: span.events.map((e) => ({
      name: e.name,
      time: new Date(hrToMs(e.time)).toISOString(),
      attributes: e.attributes ?? {},
    })),
    service: String(span.resource.attributes['service.name'] ?? ''),
    scope: span.instrumentationScope.name,
    sampled: (context.traceFlags & TraceFlags.SAMPLED) !== 0,
  };
}

/** @internal The ring, and the span processor that fills it as spans end (no batching: it does no I/O). */
export function createMemoryStore(capacity: number): SpanStore & SpanProcessor {
  const ring: (ReadableSpan | undefined)[] = new Array(capacity);
  let next = 0;
  let size = 0;

  function matches(span: ReadableSpan, filter: SpanQuery): boolean {
    if (filter.traceId !== undefined && span.spanContext().traceId !== filter.traceId) return false;
    if (filter.name !== undefined) {
      const { name } = filter;
      if (name.endsWith('*') ? !span.name.startsWith(name.slice(0, -1)) : span.name !== name) return false;
    }
    if (filter.error !== undefined && (span.status.code === SpanStatusCode.ERROR) !== filter.error) return false;
    return true;
  }

  return {
    capacity,
    get size() {
      return size;
    },
    query(filter = {}) {
      const limit = filter.limit ?? 100;
      const out: SpanRecord[] = [];
      for (let i = 1; i <= size && out.length < limit; i++) {
        const span = ring[(next - i + capacity) % capacity];
        if (span !== undefined && matches(span, filter)) out.push(toRecord(span));
      }
      return out;
    },
    clear() {
      ring.fill(undefined);
      next = 0;
      size = 0;
    },
    onStart(_span: Span, _context: Context) {},
    // Every span that ends here was recorded: the sampled ones, and (memorySampler) the unsampled traces
    // that did not begin with an HTTP request.
    onEnd(span) {
      ring[next] = span;
      next = (next + 1) % capacity;
      if (size < capacity) size++;
    },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}

const TRACE_ID = /^[0-9a-f]{32}$/;

/** @internal GET `/traces`: the ring as JSON, filtered by `trace_id`, `name` and `error`, newest first. */
export function tracesHandler(
  store: SpanStore,
  serviceName: string,
): (req: IncomingMessage & { query?: unknown }, res: ServerResponse) => void {
  return (req, res) => {
    const send = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(text);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      send(405, { error: 'method not allowed' });
      return;
    }
    const params = new URL(req.url ?? '/', 'http://localhost').searchParams;
    const traceId = params.get('trace_id')?.toLowerCase() ?? undefined;
    const error = params.get('error') ?? undefined;
    const limitText = params.get('limit') ?? undefined;
    const limit = limitText === undefined ? 100 : Number(limitText);
    const problems: string[] = [];
    if (traceId !== undefined && !TRACE_ID.test(traceId)) problems.push('trace_id must be 32 hex digits');
    if (error !== undefined && error !== 'true' && error !== 'false') problems.push('error must be true or false');
    if (!Number.isInteger(limit) || limit < 1) problems.push('limit must be a positive integer');
    if (problems.length > 0) {
      send(400, { error: problems.join('; ') });
      return;
    }
    const spans = store.query({
      traceId,
      name: params.get('name') ?? undefined,
      error: error === undefined ? undefined : error === 'true',
      limit: Math.min(limit, store.capacity),
    });
    send(200, { service: serviceName, capacity: store.capacity, stored: store.size, count: spans.length, spans });
  };
}
