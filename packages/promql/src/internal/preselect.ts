// A range query (or a subquery) evaluates its selectors at every step: each selector's samples are selected
// once for the whole range, and every step reads its window from them by binary search.
import type { Expr, Matcher, VectorSelector } from '../ast.ts';
import { type LatestSample, latestSamples, type SampleSource, type SelectedSeries } from '../engine.ts';
import type { Labels } from '../labels.ts';
import type { FloatHistogram } from '../native-histogram.ts';
import type { Series } from '../values.ts';

interface Span {
  minT: number;
  maxT: number;
  series: Cached[] | undefined;
}

/** One series of a selection over a whole range: plain arrays, sliced per step. */
export interface Cached {
  readonly labels: SelectedSeries['labels'];
  readonly t: Float64Array;
  readonly v: Float64Array;
  /** Present when a sample is a staleness marker. */
  readonly stale: Uint8Array | undefined;
  /** Present when the series has native histogram samples. */
  readonly histograms?: { readonly t: Float64Array; readonly h: readonly FloatHistogram[] } | undefined;
}

/** What a query's evaluation times are: `[lo, hi]`, with the query's own start and end for `@`. */
interface Bounds {
  readonly start: number;
  readonly end: number;
  readonly lookback: number;
  /** Whether instant vector selectors are preselected too (not at the top of an instant query: selectLatest). */
  readonly vectors: boolean;
}

function endsOf(at: VectorSelector['at'], offsetMs: number, lo: number, hi: number, b: Bounds): [number, number] {
  if (at === undefined) return [lo - offsetMs, hi - offsetMs];
  const t = at === 'start' ? b.start : at === 'end' ? b.end : at;
  return [t - offsetMs, t - offsetMs];
}

// Every selector's widest window over evaluation times in [lo, hi], keyed by its matchers (one array a node).
function collect(e: Expr, lo: number, hi: number, b: Bounds, spans: Map<readonly Matcher[], Span>): void {
  const widen = (matchers: readonly Matcher[], minT: number, maxT: number): void => {
    const s = spans.get(matchers);
    if (s === undefined) spans.set(matchers, { minT, maxT, series: undefined });
    else {
      s.minT = Math.min(s.minT, minT);
      s.maxT = Math.max(s.maxT, maxT);
    }
  };
  switch (e.kind) {
    case 'vector': {
      if (!b.vectors) return;
      const [from, to] = endsOf(e.at, e.offsetMs, lo, hi, b);
      widen(e.matchers, from - b.lookback, to);
      return;
    }
    case 'matrix': {
      const [from, to] = endsOf(e.selector.at, e.selector.offsetMs, lo, hi, b);
      widen(e.selector.matchers, from - e.rangeMs, to);
      return;
    }
    case 'subquery': {
      const [from, to] = endsOf(e.at, e.offsetMs, lo, hi, b);
      // A subquery evaluates its vector selectors at many times: those are worth preselecting.
      collect(e.expr, from - e.rangeMs, to, { ...b, vectors: true }, spans);
      return;
    }
    case 'number':
    case 'string':
      return;
    case 'paren':
    case 'unary':
      collect(e.expr, lo, hi, b, spans);
      return;
    case 'call':
      for (const a of e.args) collect(a, lo, hi, b, spans);
      return;
    case 'aggregate':
      collect(e.expr, lo, hi, b, spans);
      if (e.param !== undefined) collect(e.param, lo, hi, b, spans);
      return;
    case 'binary':
      collect(e.lhs, lo, hi, b, spans);
      collect(e.rhs, lo, hi, b, spans);
  }
}

/** The first index whose timestamp is after `minT`. */
export function firstAfter(t: ArrayLike<number>, minT: number): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid]! <= minT) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function toCached(s: SelectedSeries): Cached {
  const { t, v } = s;
  const n = t.length;
  let stale: Uint8Array | undefined;
  if (s.stale !== undefined)
    for (let i = 0; i < n; i++)
      if (s.stale[i]) {
        stale ??= new Uint8Array(n);
        stale[i] = 1;
      }
  // Typed arrays, so that each step reads its window as a view (subarray), not a copy.
  const hs = s.histograms;
  if (hs !== undefined && hs.t.length > 0)
    return {
      labels: s.labels,
      t: Float64Array.from(t),
      v: Float64Array.from(v),
      stale,
      histograms: { t: Float64Array.from(hs.t), h: [...hs.h] },
    };
  return { labels: s.labels, t: Float64Array.from(t), v: Float64Array.from(v), stale };
}

function load(source: SampleSource, matchers: readonly Matcher[], span: Span): Cached[] {
  const out: Cached[] = [];
  for (const s of source.select(matchers, span.minT, span.maxT)) out.push(toCached(s));
  return out;
}

/** Whether an expression evaluates anything at more than one time (a subquery). */
export function hasSubquery(e: Expr): boolean {
  switch (e.kind) {
    case 'subquery':
      return true;
    case 'vector':
    case 'matrix':
    case 'number':
    case 'string':
      return false;
    case 'paren':
    case 'unary':
      return hasSubquery(e.expr);
    case 'call':
      return e.args.some(hasSubquery);
    case 'aggregate':
      return hasSubquery(e.expr) || (e.param !== undefined && hasSubquery(e.param));
    case 'binary':
      return hasSubquery(e.lhs) || hasSubquery(e.rhs);
  }
}

/** A source that answers an expression's selectors from one selection each over the whole range. */
export class Preselected implements SampleSource {
  readonly #source: SampleSource;
  readonly #spans: Map<readonly Matcher[], Span>;
  #loading: { span: Span; series: Iterator<SelectedSeries>; out: Cached[] } | undefined;
  constructor(source: SampleSource, spans: Map<readonly Matcher[], Span>) {
    this.#source = source;
    this.#spans = spans;
  }

  /** Loads the selections part by part, for about `budgetMs` a call; returns true once all are loaded. */
  loadSome(budgetMs: number): boolean {
    const source = this.#source;
    const until = performance.now() + budgetMs;
    for (const [matchers, span] of this.#spans) {
      if (span.series !== undefined) continue;
      let loading = this.#loading;
      if (loading?.span !== span) {
        loading = { span, series: source.select(matchers, span.minT, span.maxT)[Symbol.iterator](), out: [] };
        this.#loading = loading;
      }
      for (let k = 1; ; k++) {
        const next = loading.series.next();
        if (next.done === true) {
          span.series = loading.out;
          this.#loading = undefined;
          break;
        }
        loading.out.push(toCached(next.value));
        if (k % 64 === 0 && performance.now() > until) return false;
      }
    }
    return true;
  }

  /** The whole range's series of a selector, or undefined when `(minT, maxT]` is not inside it. */
  cached(matchers: readonly Matcher[], minT: number, maxT: number): readonly Cached[] | undefined {
    const span = this.#spans.get(matchers);
    if (span === undefined || minT < span.minT || maxT > span.maxT) return undefined;
    span.series ??= load(this.#source, matchers, span);
    return span.series;
  }

  /** Instant selectors that were not preselected: the source's own fast path. */
  selectLatest(matchers: readonly Matcher[], minT: number, maxT: number): Iterable<LatestSample> {
    return latestSamples(this.#source, matchers, minT, maxT);
  }

  *select(matchers: readonly Matcher[], minT: number, maxT: number): Iterable<SelectedSeries> {
    const all = this.cached(matchers, minT, maxT);
    if (all === undefined) {
      yield* this.#source.select(matchers, minT, maxT);
      return;
    }
    for (const s of all) {
      const from = firstAfter(s.t, minT);
      const to = firstAfter(s.t, maxT);
      const hs = s.histograms;
      if (hs !== undefined) {
        const hFrom = firstAfter(hs.t, minT);
        const hTo = firstAfter(hs.t, maxT);
        if (from < to || hFrom < hTo)
          yield {
            labels: s.labels,
            t: s.t.subarray(from, to),
            v: s.v.subarray(from, to),
            stale: s.stale?.subarray(from, to),
            histograms: hFrom < hTo ? { t: hs.t.subarray(hFrom, hTo), h: hs.h.slice(hFrom, hTo) } : undefined,
          };
        continue;
      }
      if (from < to)
        yield {
          labels: s.labels,
          t: s.t.subarray(from, to),
          v: s.v.subarray(from, to),
          stale: s.stale?.subarray(from, to),
        };
    }
  }
}

/**
 * A source that answers `expr`'s selectors at evaluation times in `[start, end]` from one selection each, made
 * on first use; any other selection goes to `source`. Series come in the source's order, as they would.
 */
export function preselect(
  source: SampleSource,
  expr: Expr,
  start: number,
  end: number,
  lookback: number,
  vectors = true,
): Preselected {
  const spans = new Map<readonly Matcher[], Span>();
  collect(expr, start, end, { start, end, lookback, vectors }, spans);
  return new Preselected(source, spans);
}

/** A window of a series without its staleness markers; undefined when nothing is left. */
export function withoutStale(
  labels: Labels,
  t: ArrayLike<number>,
  v: ArrayLike<number>,
  stale: ArrayLike<number> | undefined,
  from: number,
  to: number,
): Series | undefined {
  const ts: number[] = [];
  const vs: number[] = [];
  for (let i = from; i < to; i++) {
    if (stale?.[i]) continue;
    ts.push(t[i]!);
    vs.push(v[i]!);
  }
  return ts.length > 0 ? { labels, t: ts, v: vs } : undefined;
}
