// Query limits around @obs/promql's engine: a deadline and a sample budget enforced inside the selectors, a
// bounded number of queries at once, and range queries evaluated in slices of steps that yield to the event loop.
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  createInstantEvaluation,
  createRangeEvaluation,
  type Expr,
  latestSamples,
  type ParsedExpr,
  type QueryResult,
  type SampleSource,
  type SelectedSeries,
} from '@obs/promql';

/** Why a query stopped: Prometheus's error types `timeout`, `canceled`, `execution`, `unavailable`. */
export class QueryStopped extends Error {
  override name = 'QueryStopped';
  readonly type: 'timeout' | 'canceled' | 'execution' | 'unavailable';
  constructor(type: QueryStopped['type'], message: string) {
    super(message);
    this.type = type;
  }
}

/** Limits of {@link createQueryRunner}. */
export interface QueryLimits {
  readonly timeoutMs: number;
  /** Samples one instant query, or one step of a range query, may load. */
  readonly maxSamples: number;
  readonly concurrency: number;
  /** Queries waiting for a slot before new ones are refused with 503. @default 64 */
  readonly maxQueued?: number;
  /** The time one slice of a range query aims at before yielding. @default 20 */
  readonly sliceMs?: number;
}

/** Per query: a shorter timeout, the request's abort signal, and the lookback of instant selectors. */
export interface RunOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** How far back an instant selector looks for a sample (`lookback_delta`). @default 300000 (5m) */
  readonly lookbackMs?: number;
}

/** Runs queries under the limits. */
export interface QueryRunner {
  instant(query: ParsedExpr, timeMs: number, options?: RunOptions): Promise<QueryResult>;
  range(
    query: ParsedExpr,
    range: { readonly startMs: number; readonly endMs: number; readonly stepMs: number },
    options?: RunOptions,
  ): Promise<QueryResult>;
  /** Queries running and waiting. */
  load(): { readonly running: number; readonly queued: number };
}

const TIMEOUT = 'query timed out in expression evaluation';
const CANCELED = 'query was canceled in expression evaluation';
const TOO_MANY = 'query processing would load too many samples into memory in query execution';

// `@ start()`, `@ end()` and the start()/end()/range() functions name the whole query's range: a slice must not
// see its own bounds there, so they become numbers before slicing.
function pin(expr: Expr, startMs: number, endMs: number): Expr {
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (typeof node !== 'object' || node === null || !('kind' in node)) return node;
    const n = node as Record<string, unknown> & { kind: string };
    if (n['kind'] === 'call' && Array.isArray(n['args']) && n['args'].length === 0) {
      const f = n['func'];
      const value =
        f === 'start'
          ? startMs / 1000
          : f === 'end'
            ? endMs / 1000
            : f === 'range'
              ? (endMs - startMs) / 1000
              : undefined;
      if (value !== undefined) return { kind: 'number', value, from: n['from'], to: n['to'] };
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(n)) out[k] = visit(v);
    if (out['at'] === 'start') out['at'] = startMs;
    else if (out['at'] === 'end') out['at'] = endMs;
    return out;
  };
  return visit(expr) as Expr;
}

interface Guard {
  readonly source: SampleSource;
  /** Starts a new budget of `samples`. */
  budget(samples: number): void;
  check(): void;
}

// The engine evaluates synchronously: the selectors are where a query can be stopped from inside.
function guard(store: SampleSource, deadline: number, signal: AbortSignal | undefined): Guard {
  let left = 0;
  const check = (): void => {
    if (signal?.aborted === true) throw new QueryStopped('canceled', CANCELED);
    if (performance.now() > deadline) throw new QueryStopped('timeout', TIMEOUT);
  };
  return {
    budget(samples) {
      left = samples;
    },
    check,
    source: {
      *select(matchers, minT, maxT): Iterable<SelectedSeries> {
        check();
        for (const s of store.select(matchers, minT, maxT)) {
          left -= s.t.length;
          if (left < 0) throw new QueryStopped('execution', TOO_MANY);
          check();
          yield s;
        }
      },
      *selectLatest(matchers, minT, maxT) {
        check();
        for (const s of latestSamples(store, matchers, minT, maxT)) {
          if (--left < 0) throw new QueryStopped('execution', TOO_MANY);
          yield s;
        }
      },
    },
  };
}

/** @internal Creates the runner of the query API over a sample source. */
export function createQueryRunner(source: SampleSource, limits: QueryLimits): QueryRunner {
  const maxQueued = limits.maxQueued ?? 64;
  const sliceMs = limits.sliceMs ?? 20;
  let running = 0;
  const queue: { resolve: () => void; reject: (err: Error) => void }[] = [];

  const acquire = async (deadline: number, signal: AbortSignal | undefined): Promise<void> => {
    if (running < limits.concurrency) {
      running++;
      return;
    }
    if (queue.length >= maxQueued)
      throw new QueryStopped('unavailable', `too many queries: ${running} running and ${queue.length} waiting`);
    await new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      const leave = (err: Error): void => {
        const i = queue.indexOf(waiter);
        if (i >= 0) queue.splice(i, 1);
        signal?.removeEventListener('abort', onAbort);
        clearTimeout(timer);
        reject(err);
      };
      const onAbort = (): void => leave(new QueryStopped('canceled', 'query was canceled in query queue'));
      const timer = setTimeout(
        () => leave(new QueryStopped('timeout', 'query timed out in query queue')),
        Math.max(0, deadline - performance.now()),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(waiter);
    });
    // The slot was handed over by release(): `running` already counts it.
  };
  const release = (): void => {
    const next = queue.shift();
    if (next === undefined) running--;
    else next.resolve();
  };

  const lookbackOf = (options: RunOptions): { lookbackMs?: number } =>
    options.lookbackMs === undefined ? {} : { lookbackMs: options.lookbackMs };
  const deadlineOf = (options: RunOptions): number =>
    performance.now() + Math.min(limits.timeoutMs, options.timeoutMs ?? Number.POSITIVE_INFINITY);

  return {
    load: () => ({ running, queued: queue.length }),
    async instant(query, timeMs, options = {}) {
      const deadline = deadlineOf(options);
      await acquire(deadline, options.signal);
      try {
        const g = guard(source, deadline, options.signal);
        g.budget(limits.maxSamples);
        g.check();
        // Range selectors' data (a rate over an hour of thousands of series) is decoded in turns, as a range
        // query's is; the evaluation itself then runs at once.
        const evaluation = createInstantEvaluation(g.source, query, timeMs, lookbackOf(options));
        while (!evaluation.prepare(sliceMs)) {
          g.check();
          await nextTurn();
        }
        return evaluation.result();
      } finally {
        release();
      }
    },
    async range(query, range, options = {}) {
      const deadline = deadlineOf(options);
      await acquire(deadline, options.signal);
      try {
        const { startMs, endMs, stepMs } = range;
        const g = guard(source, deadline, options.signal);
        const pinned: ParsedExpr = { ...query, expr: pin(query.expr, startMs, endMs) };
        // Each selector's data is read once for the whole range (@obs/promql's range evaluation), then the steps
        // are evaluated a slice at a time, yielding to the event loop between slices.
        g.budget(limits.maxSamples);
        const evaluation = createRangeEvaluation(g.source, pinned, { startMs, endMs, stepMs }, lookbackOf(options));
        // Selecting (decoding) a large range is cut into turns as well.
        while (!evaluation.prepare(sliceMs)) {
          g.check();
          await nextTurn();
        }
        let perSlice = 1;
        for (;;) {
          g.check();
          const began = performance.now();
          const more = evaluation.next(perSlice);
          const took = performance.now() - began;
          if (!more) break;
          // Aim each slice at sliceMs from the cost per step so far; at least one step, at most 4x more each time.
          perSlice = Math.max(1, Math.min(perSlice * 4, Math.floor(sliceMs / Math.max(took / perSlice, 0.001))));
          await nextTurn();
        }
        return evaluation.result();
      } finally {
        release();
      }
    },
  };
}
