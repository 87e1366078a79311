// Trace and span ids from a pool of random bytes, and the root sampling decision taken on those bytes before
// any span is built (#22: id generation was a third of an unsampled span, the ratio sampler's hex parsing a fifth).
import { randomFillSync } from 'node:crypto';
import type {
  Attributes,
  Exception,
  Link,
  Span,
  SpanContext,
  SpanOptions,
  SpanStatus,
  TimeInput,
  Tracer,
} from '@opentelemetry/api';
import type { IdGenerator } from '@opentelemetry/sdk-trace-base';
import { otelApi } from './otel.ts';

const { ROOT_CONTEXT, TraceFlags } = otelApi;

// One randomFillSync per 8 KB (341 trace and span id pairs) instead of Math.random per 4 bytes of each id.
const POOL_BYTES = 8192;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;

function take(bytes: number): number {
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const at = offset;
  offset += bytes;
  return at;
}

// An all-zero id is invalid in W3C trace context: it becomes ...01, as the SDK's RandomIdGenerator does.
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

// Set by startServerRoot for the span it lets the SDK build: the trace id it already drew and decided on.
let drawn: string | undefined;

function generateTraceId(): string {
  if (drawn !== undefined) {
    const id = drawn;
    drawn = undefined;
    return id;
  }
  const at = take(16);
  const id = pool.toString('hex', at, at + 16);
  return id === ZERO_TRACE ? `${ZERO_TRACE.slice(1)}1` : id;
}

function generateSpanId(): string {
  const at = take(8);
  const id = pool.toString('hex', at, at + 8);
  return id === ZERO_SPAN ? `${ZERO_SPAN.slice(1)}1` : id;
}

/** @internal The provider's id generator: ids sliced from a pool of crypto-random bytes. */
export const pooledIdGenerator: IdGenerator = { generateTraceId, generateSpanId };

/** @internal TraceIdRatioBasedSampler's bound: a trace is sampled when its id's accumulated words fall below it. */
export function ratioUpperBound(ratio: number): number {
  const r = Number.isNaN(ratio) ? 0 : Math.min(1, Math.max(0, ratio));
  return r === 1 ? 0x100000000 : Math.floor(r * 0xffffffff);
}

const hex8 = (word: number): string => word.toString(16).padStart(8, '0');

/**
 * An unsampled root span, which the sampler would drop: no attributes, no end, only its ids for propagation
 * (a child span, `traceparent`). Its ids are kept as words and written as hex only when someone asks.
 */
class UnsampledRootSpan implements Span {
  readonly #t0: number;
  readonly #t1: number;
  readonly #t2: number;
  readonly #t3: number;
  readonly #s0: number;
  readonly #s1: number;
  #context: SpanContext | undefined;

  constructor(t0: number, t1: number, t2: number, t3: number, s0: number, s1: number) {
    this.#t0 = t0;
    this.#t1 = t1;
    this.#t2 = t2;
    this.#t3 = t3;
    this.#s0 = s0;
    this.#s1 = s1;
  }

  spanContext(): SpanContext {
    this.#context ??= {
      traceId: hex8(this.#t0) + hex8(this.#t1) + hex8(this.#t2) + hex8(this.#t3),
      spanId: hex8(this.#s0) + hex8(this.#s1),
      traceFlags: TraceFlags.NONE,
    };
    return this.#context;
  }
  setAttribute(_key: string, _value: unknown): this {
    return this;
  }
  setAttributes(_attributes: Attributes): this {
    return this;
  }
  addEvent(_name: string, _attributesOrStartTime?: Attributes | TimeInput, _startTime?: TimeInput): this {
    return this;
  }
  addLink(_link: Link): this {
    return this;
  }
  addLinks(_links: Link[]): this {
    return this;
  }
  setStatus(_status: SpanStatus): this {
    return this;
  }
  updateName(_name: string): this {
    return this;
  }
  end(_endTime?: TimeInput): void {}
  isRecording(): boolean {
    return false;
  }
  recordException(_exception: Exception, _time?: TimeInput): void {}
}

/**
 * Starts a root span whose only sampler is the trace id ratio (a SERVER span: memorySampler drops it when the
 * ratio does, as ParentBased(TraceIdRatioBased) does): the trace id is drawn and decided on here, with the
 * sampler's own arithmetic. An unsampled one becomes a non-recording span without the SDK; a sampled one is built
 * by `tracer`, whose sampler sees the same id and takes the same decision.
 */
export function startRootByRatio(tracer: Tracer, name: string, options: SpanOptions, upperBound: number): Span {
  const at = take(16);
  const t0 = pool.readUInt32BE(at);
  const t1 = pool.readUInt32BE(at + 4);
  const t2 = pool.readUInt32BE(at + 8);
  const t3 = pool.readUInt32BE(at + 12);
  const zero = (t0 | t1 | t2 | t3) === 0;
  if ((t0 ^ t1 ^ t2 ^ t3 ^ (zero ? 1 : 0)) >>> 0 >= upperBound) {
    const span = take(8);
    const s0 = pool.readUInt32BE(span);
    const s1 = pool.readUInt32BE(span + 4);
    return new UnsampledRootSpan(t0, t1, t2, zero ? 1 : t3, s0, (s0 | s1) === 0 ? 1 : s1);
  }
  // Written from the pool before the SDK draws the span id (which may refill it): a flat string, as the sampler reads it.
  drawn = zero ? `${ZERO_TRACE.slice(1)}1` : pool.toString('hex', at, at + 16);
  try {
    return tracer.startSpan(name, options, ROOT_CONTEXT);
  } finally {
    drawn = undefined;
  }
}
