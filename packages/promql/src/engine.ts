import { aggregate } from './aggregate.ts';
import type { Expr, Matcher, Subquery, VectorSelector } from './ast.ts';
import { binary } from './binary.ts';
import { call } from './calls.ts';
import { firstAfter, hasSubquery, Preselected, preselect, withoutStale } from './internal/preselect.ts';
import { createSeriesMajor } from './internal/series-major.ts';
import { compareLabels, dropName, type Labels, labelsKey } from './labels.ts';
import { type FloatHistogram, mulHistogram } from './native-histogram.ts';
import { type ParsedExpr, parsePromQL } from './parse.ts';
import {
  type Annotation,
  assertUniqueLabelsets,
  type Ctx,
  evalError,
  type HistogramSamples,
  type Sample,
  type Series,
  type Value,
} from './values.ts';

/** One series as a sample source returns it: the samples with `minT < t <= maxT`, oldest first. */
export interface SelectedSeries {
  readonly labels: Labels;
  readonly t: ArrayLike<number>;
  readonly v: ArrayLike<number>;
  /** Non-zero where the sample is a staleness marker; absent when none is. */
  readonly stale?: ArrayLike<number> | undefined;
  /** The native histogram samples in the window, apart from the floats; absent when there are none. */
  readonly histograms?: HistogramSamples | undefined;
}

/** Anything that can answer a selector: the sample store, or a test's own data. */
export interface SampleSource {
  /** The series whose labels satisfy every matcher, with their samples in `(minT, maxT]` (ms). */
  select(matchers: readonly Matcher[], minT: number, maxT: number): Iterable<SelectedSeries>;
  /**
   * Optional fast path of instant selectors: the same series as `select`, each with only its newest sample in
   * `(minT, maxT]` (stale when that sample is a staleness marker). The sample store answers it without decoding.
   */
  selectLatest?(matchers: readonly Matcher[], minT: number, maxT: number): Iterable<LatestSample>;
}

/** A series' newest sample in a window, from {@link SampleSource.selectLatest}. */
export interface LatestSample {
  readonly labels: Labels;
  readonly t: number;
  readonly v: number;
  readonly stale: boolean;
  /** Set when the newest sample is a native histogram (then `v` means nothing). */
  readonly h?: FloatHistogram | undefined;
}

/** One element of an instant vector. */
export interface VectorSample {
  readonly labels: Labels;
  /** The float value; 0 when the sample is a native histogram. */
  readonly value: number;
  /** Set when the sample is a native histogram. */
  readonly histogram?: FloatHistogram | undefined;
}

/** The result of an evaluation. */
export type PromValue =
  | { readonly type: 'scalar'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'vector'; readonly samples: readonly VectorSample[] };

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** How far back an instant selector looks for a sample. @default 300000 (5m) */
  readonly lookbackMs?: number;
  /** The step of a subquery that names none (`x[5m:]`), in ms. @default 60000 (1m) */
  readonly subqueryStepMs?: number;
  /**
   * Prometheus' delayed name removal (its `promql-delayed-name-removal` feature flag): functions and operators
   * mark `__name__` for removal and it goes at the end, so `label_replace()` can still read it. Off, as in a
   * Prometheus server, it goes at once and two series left with the same labels fail the query
   * (`sum(rate({__name__=~"a_(sum|count)"}[5m]))`). The test-script runner turns it on, as Prometheus' does.
   * @default false
   */
  readonly delayedNameRemoval?: boolean;
}

/** One series of a range query's result (or of an instant query that returns a range vector). */
export interface ResultSeries {
  readonly labels: Labels;
  /** The float points' times (ms) and values. */
  readonly t: readonly number[];
  readonly v: readonly number[];
  /** The native histogram points, when there are any (Prometheus's `"histograms"` of a matrix series). */
  readonly histograms?: { readonly t: readonly number[]; readonly h: readonly FloatHistogram[] } | undefined;
}

/** What {@link evaluateQuery} returns: the value and Prometheus' warnings and info notes. */
export interface QueryResult {
  readonly value: PromValue | { readonly type: 'matrix'; readonly series: readonly ResultSeries[] };
  readonly annotations: readonly Annotation[];
}

/** Options of {@link evaluateQuery}: an instant query when `endMs` and `stepMs` are left out. */
export interface QueryOptions extends EvaluateOptions {
  readonly startMs: number;
  readonly endMs?: number;
  readonly stepMs?: number;
}

export type { Annotation, HistogramSamples } from './values.ts';

/** Parsed once or given as text: what {@link instantQuery} and {@link rangeQuery} take. */
export type Query = string | ParsedExpr;

function exprOf(query: Query): Expr {
  return typeof query === 'string' ? parsePromQL(query).expr : query.expr;
}

/**
 * Runs an instant query at `timeMs` over `source`: the value (a scalar, string, instant vector or, for a
 * range selector, a matrix) with Prometheus's warnings and info notes.
 * @throws PromqlError `OBS_ERR_PROMQL_PARSE` or `OBS_ERR_PROMQL_UNSUPPORTED` for a bad query text;
 *   `OBS_ERR_PROMQL_EVAL` when Prometheus would fail the query.
 */
export function instantQuery(
  source: SampleSource,
  query: Query,
  timeMs: number,
  options: EvaluateOptions = {},
): QueryResult {
  return evaluateQuery(exprOf(query), source, { ...options, startMs: timeMs });
}

// Prometheus's checks of a range query's parameters.
function checkRange(range: { readonly startMs: number; readonly endMs: number; readonly stepMs: number }): void {
  if (!(range.stepMs > 0)) throw evalError('zero or negative query resolution step widths are not accepted');
  if (range.endMs < range.startMs) throw evalError('end timestamp must not be before start time');
}

/**
 * Runs a range query: the expression at every step from `startMs` to `endMs` (inclusive), as a matrix.
 * @throws PromqlError as {@link instantQuery}, and `OBS_ERR_PROMQL_EVAL` for a query whose type is not
 *   scalar or instant vector.
 */
export function rangeQuery(
  source: SampleSource,
  query: Query,
  range: { readonly startMs: number; readonly endMs: number; readonly stepMs: number },
  options: EvaluateOptions = {},
): QueryResult {
  checkRange(range);
  return evaluateQuery(exprOf(query), source, { ...options, ...range });
}

/**
 * Evaluates an expression at instant `timeMs` with Prometheus 3.x semantics.
 * @throws PromqlError `OBS_ERR_PROMQL_EVAL` when Prometheus would fail the query (duplicate series in a match).
 */
export function evaluate(expr: Expr, source: SampleSource, timeMs: number, options: EvaluateOptions = {}): PromValue {
  const ctx = context(source, timeMs, timeMs, 0, options);
  const v = ev(ctx, expr);
  if (v.type === 'matrix') throw evalError('a range vector cannot be the result of an expression');
  if (v.type === 'vector') return { type: 'vector', samples: finishVector(v.samples) };
  return v;
}

/**
 * Runs an instant query (which may return a range vector) or a range query, with its annotations.
 * @throws PromqlError `OBS_ERR_PROMQL_EVAL` when Prometheus would fail the query.
 */
export function evaluateQuery(expr: Expr, given: SampleSource, options: QueryOptions): QueryResult {
  const start = options.startMs;
  const end = options.endMs ?? start;
  const step = options.stepMs ?? 0;
  // Evaluated at many times, a selector reads its samples once and each step slices its window from them.
  const source =
    !(given instanceof Preselected) && (step > 0 || hasSubquery(expr))
      ? preselect(given, expr, start, end, options.lookbackMs ?? 300_000)
      : given;
  if (step <= 0) {
    const ctx = context(source, start, start, 0, options);
    const v = ev(ctx, expr);
    const value: QueryResult['value'] =
      v.type === 'matrix'
        ? { type: 'matrix', series: finishMatrix(v.series) }
        : v.type === 'vector'
          ? { type: 'vector', samples: finishVector(v.samples) }
          : v;
    return { value, annotations: ctx.annotations };
  }
  const evaluation = rangeEvaluation(expr, source, start, end, step, options);
  evaluation.next(Number.POSITIVE_INFINITY);
  return evaluation.result();
}

/** A range query evaluated a slice of steps at a time, each selector's data read once for the whole range. */
export interface RangeEvaluation {
  /**
   * Selects part of the data the range needs, for about `budgetMs`; returns whether all of it is selected. Optional:
   * `next` selects what is missing; a caller that yields between calls keeps a large selection from blocking.
   */
  prepare(budgetMs: number): boolean;
  /** Evaluates up to `steps` more steps; returns whether any are left. */
  next(steps: number): boolean;
  /** The steps evaluated so far, as a range query's result. */
  result(): QueryResult;
}

/** An instant query whose data is selected in turns before it is evaluated at once. */
export interface InstantEvaluation {
  /** Selects part of the data the query needs, for about `budgetMs`; returns whether all of it is selected. */
  prepare(budgetMs: number): boolean;
  /** Evaluates the query (selecting what `prepare` has not). @throws PromqlError as {@link instantQuery} */
  result(): QueryResult;
}

/**
 * Starts an instant query whose range selectors (and subqueries) are selected in turns (`prepare`), so that a
 * caller can yield to the event loop while a large selection decodes; plain instant selectors read each series'
 * newest sample when evaluated.
 */
export function createInstantEvaluation(
  source: SampleSource,
  query: Query,
  timeMs: number,
  options: EvaluateOptions = {},
): InstantEvaluation {
  const expr = exprOf(query);
  const selected = preselect(source, expr, timeMs, timeMs, options.lookbackMs ?? 300_000, hasSubquery(expr));
  return {
    prepare: (budgetMs) => selected.loadSome(budgetMs),
    result: () => evaluateQuery(expr, selected, { ...options, startMs: timeMs }),
  };
}

/**
 * Starts a range query to be evaluated in slices (`next(steps)`), so that a caller can yield to the event loop
 * between them without selecting the data again at each slice.
 * @throws PromqlError as {@link rangeQuery}, from `next()`.
 */
export function createRangeEvaluation(
  source: SampleSource,
  query: Query,
  range: { readonly startMs: number; readonly endMs: number; readonly stepMs: number },
  options: EvaluateOptions = {},
): RangeEvaluation {
  checkRange(range);
  const expr = exprOf(query);
  const { startMs, endMs, stepMs } = range;
  return rangeEvaluation(
    expr,
    preselect(source, expr, startMs, endMs, options.lookbackMs ?? 300_000),
    startMs,
    endMs,
    stepMs,
    options,
  );
}

function rangeEvaluation(
  expr: Expr,
  source: SampleSource,
  start: number,
  end: number,
  step: number,
  options: EvaluateOptions,
): RangeEvaluation {
  const annotations: Annotation[] = [];
  const bySeries = new Map<string, Accumulated>();
  let t = start;
  // Range functions over plain matrix selectors are computed series by series for blocks of steps.
  const seriesMajor = source instanceof Preselected ? createSeriesMajor(start, end, step) : undefined;
  return {
    prepare(budgetMs) {
      return source instanceof Preselected ? source.loadSome(budgetMs) : true;
    },
    next(steps) {
      for (let k = 0; k < steps && t <= end; k++, t += step) {
        const ctx: Ctx = { ...context(source, t, start, step, options), end, annotations, seriesMajor };
        const v = ev(ctx, expr);
        if (v.type === 'matrix' || v.type === 'string')
          throw evalError(
            `invalid expression type "${v.type === 'matrix' ? 'range vector' : 'string'}" for range query, must be Scalar or instant Vector`,
          );
        const samples: Sample[] = v.type === 'scalar' ? [{ labels: {}, value: v.value }] : v.samples;
        for (const s of samples) {
          const key = labelsKey(s.labels) + (s.drop === true ? '\x00drop' : '');
          let out = bySeries.get(key);
          if (out === undefined) {
            out = { labels: s.labels, t: [], v: [], drop: s.drop === true, histograms: undefined };
            bySeries.set(key, out);
          }
          accumulate(out, t, s);
        }
      }
      return t <= end;
    },
    result() {
      return { value: { type: 'matrix', series: finishMatrix([...bySeries.values()]) }, annotations: [...annotations] };
    },
  };
}

/** A series built step by step: floats and, apart, histograms. */
interface Accumulated {
  labels: Labels;
  t: number[];
  v: number[];
  drop: boolean;
  histograms: { t: number[]; h: FloatHistogram[] } | undefined;
}

function accumulate(out: Accumulated, t: number, s: Sample): void {
  if (s.h === undefined) {
    out.t.push(t);
    out.v.push(s.value);
    return;
  }
  out.histograms ??= { t: [], h: [] };
  out.histograms.t.push(t);
  out.histograms.h.push(s.h);
}

function context(source: SampleSource, t: number, start: number, step: number, options: EvaluateOptions): Ctx {
  return {
    source,
    t,
    lookback: options.lookbackMs ?? 300_000,
    start,
    end: t,
    step,
    subqueryStep: options.subqueryStepMs ?? 60_000,
    delayedNameRemoval: options.delayedNameRemoval ?? false,
    annotations: [],
    ev,
  };
}

// Names marked for dropping go, and two series may no longer be told apart. Inputs are distinct label sets, so
// two results can only collide when they differed in the name alone: the keyed check runs only when dropped names
// differ, or a dropped series may meet an unnamed one (a range query's every step would pay for it otherwise).
function withNamesDropped<T extends { readonly labels: Labels }>(
  samples: readonly Sample[],
  make: (s: Sample, labels: Labels) => T,
): T[] {
  const out: T[] = new Array(samples.length);
  let droppedName: string | undefined;
  let anyDropped = false;
  let mayCollide = false;
  let unnamedKept = false;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    const name = s.labels['__name__'];
    if (s.drop === true) {
      if (anyDropped && name !== droppedName) mayCollide = true;
      anyDropped = true;
      droppedName = name;
      out[i] = make(s, dropName(s.labels));
    } else {
      if (name === undefined) unnamedKept = true;
      out[i] = make(s, s.labels);
    }
  }
  if (mayCollide || (anyDropped && unnamedKept)) assertUniqueLabelsets(out);
  return out;
}

// The end of delayed name removal.
function finishVector(samples: readonly Sample[]): VectorSample[] {
  return withNamesDropped(samples, (s, labels) =>
    s.h === undefined ? { labels, value: s.value } : { labels, value: 0, histogram: s.h },
  );
}

function finishMatrix(series: readonly Series[]): ResultSeries[] {
  const merged = new Map<string, { labels: Labels; points: Array<[number, number | FloatHistogram]> }>();
  for (const s of series) {
    const labels = s.drop === true ? dropName(s.labels) : s.labels;
    const key = labelsKey(labels);
    const m = merged.get(key);
    const points = Array.from(s.t, (t, i): [number, number | FloatHistogram] => [t, s.v[i]!]);
    const hs = s.histograms;
    if (hs !== undefined) for (let i = 0; i < hs.t.length; i++) points.push([hs.t[i]!, hs.h[i]!]);
    if (m === undefined) {
      merged.set(key, { labels, points });
      continue;
    }
    // Series that only became equal when their names went may be merged, as long as no two points collide.
    const times = new Set(m.points.map((p) => p[0]));
    if (points.some((p) => times.has(p[0]))) throw evalError('vector cannot contain metrics with the same labelset');
    m.points.push(...points);
  }
  // Range results are ordered by labels, as Prometheus orders them.
  return [...merged.values()]
    .sort((a, b) => compareLabels(a.labels, b.labels))
    .map((m) => {
      m.points.sort((a, b) => a[0] - b[0]);
      const t: number[] = [];
      const v: number[] = [];
      let histograms: { t: number[]; h: FloatHistogram[] } | undefined;
      for (const [pt, pv] of m.points) {
        if (typeof pv === 'number') {
          t.push(pt);
          v.push(pv);
        } else {
          histograms ??= { t: [], h: [] };
          histograms.t.push(pt);
          histograms.h.push(pv);
        }
      }
      return histograms === undefined ? { labels: m.labels, t, v } : { labels: m.labels, t, v, histograms };
    });
}

function atTime(ctx: Ctx, at: VectorSelector['at']): number {
  if (at === undefined) return ctx.t;
  if (at === 'start') return ctx.start;
  if (at === 'end') return ctx.end;
  return at;
}

function selectInstant(ctx: Ctx, sel: VectorSelector): Sample[] {
  const at = atTime(ctx, sel.at) - sel.offsetMs;
  const out: Sample[] = [];
  const minT = at - ctx.lookback;
  const cached = ctx.source instanceof Preselected ? ctx.source.cached(sel.matchers, minT, at) : undefined;
  if (cached !== undefined) {
    for (const s of cached) {
      const last = firstAfter(s.t, at) - 1;
      const hs = s.histograms;
      if (hs !== undefined) {
        // The newer of the last float and the last histogram is the series' sample.
        const h = firstAfter(hs.t, at) - 1;
        if (h >= 0 && hs.t[h]! > minT && (last < 0 || hs.t[h]! > s.t[last]!)) {
          out.push({ labels: s.labels, value: 0, t: hs.t[h]!, h: hs.h[h]! });
          continue;
        }
      }
      if (last < 0 || s.t[last]! <= minT || s.stale?.[last]) continue;
      out.push({ labels: s.labels, value: s.v[last]!, t: s.t[last]! });
    }
    return out;
  }
  for (const s of latestSamples(ctx.source, sel.matchers, minT, at)) {
    if (s.stale) continue;
    if (s.h === undefined) out.push({ labels: s.labels, value: s.v, t: s.t });
    else out.push({ labels: s.labels, value: 0, t: s.t, h: s.h });
  }
  return out;
}

/**
 * Each matching series' newest sample in `(minT, maxT]`: the source's `selectLatest` when it has one, else the
 * last sample of each series `select` gives.
 */
export function latestSamples(
  source: SampleSource,
  matchers: readonly Matcher[],
  minT: number,
  maxT: number,
): Iterable<LatestSample> {
  // Not a generator around the fast path: instant selectors of every rule evaluation go through here.
  return source.selectLatest !== undefined
    ? source.selectLatest(matchers, minT, maxT)
    : lastOfEach(source.select(matchers, minT, maxT));
}

function* lastOfEach(selected: Iterable<SelectedSeries>): Iterable<LatestSample> {
  for (const s of selected) {
    const n = s.t.length;
    const hs = s.histograms;
    const hn = hs === undefined ? 0 : hs.t.length;
    if (hn > 0 && (n === 0 || hs!.t[hn - 1]! > s.t[n - 1]!))
      yield { labels: s.labels, t: hs!.t[hn - 1]!, v: 0, stale: false, h: hs!.h[hn - 1]! };
    else if (n > 0) yield { labels: s.labels, t: s.t[n - 1]!, v: s.v[n - 1]!, stale: (s.stale?.[n - 1] ?? 0) !== 0 };
  }
}

// One series' window: floats without staleness markers, and histograms; undefined when nothing is left.
function windowOf(
  labels: Labels,
  t: ArrayLike<number> & { subarray?: unknown },
  v: ArrayLike<number>,
  stale: ArrayLike<number> | undefined,
  from: number,
  to: number,
  hs: HistogramSamples | undefined,
  hFrom: number,
  hTo: number,
): Series | undefined {
  const floats =
    stale === undefined
      ? from < to
        ? { labels, t: sliceOf(t, from, to), v: sliceOf(v, from, to) }
        : undefined
      : withoutStale(labels, t, v, stale, from, to);
  if (hs === undefined || hFrom >= hTo) return floats;
  const histograms = { t: sliceOf(hs.t, hFrom, hTo), h: hs.h.slice(hFrom, hTo) };
  return floats === undefined ? { labels, t: [], v: [], histograms } : { ...floats, histograms };
}

function sliceOf(a: ArrayLike<number>, from: number, to: number): ArrayLike<number> {
  if (from === 0 && to === a.length) return a;
  if (a instanceof Float64Array) return a.subarray(from, to);
  return Array.prototype.slice.call(a, from, to) as number[];
}

function selectRange(ctx: Ctx, sel: VectorSelector, rangeMs: number): Value & { type: 'matrix' } {
  const end = atTime(ctx, sel.at) - sel.offsetMs;
  const series: Series[] = [];
  const cached = ctx.source instanceof Preselected ? ctx.source.cached(sel.matchers, end - rangeMs, end) : undefined;
  if (cached !== undefined) {
    for (const s of cached) {
      const from = firstAfter(s.t, end - rangeMs);
      const to = firstAfter(s.t, end);
      const hs = s.histograms;
      if (hs !== undefined) {
        const w = windowOf(
          s.labels,
          s.t,
          s.v,
          s.stale,
          from,
          to,
          hs,
          firstAfter(hs.t, end - rangeMs),
          firstAfter(hs.t, end),
        );
        if (w !== undefined) series.push(w);
        continue;
      }
      if (from >= to) continue;
      // Views, not copies: a step reads its window of the whole range's samples.
      if (s.stale === undefined)
        series.push({ labels: s.labels, t: s.t.subarray(from, to), v: s.v.subarray(from, to) });
      else {
        const w = withoutStale(s.labels, s.t, s.v, s.stale, from, to);
        if (w !== undefined) series.push(w);
      }
    }
    return { type: 'matrix', series, endMs: end, rangeMs };
  }
  for (const s of ctx.source.select(sel.matchers, end - rangeMs, end)) {
    const { t, v, stale } = s;
    const hs = s.histograms;
    if (hs !== undefined) {
      const w = windowOf(s.labels, t, v, stale, 0, t.length, hs, 0, hs.t.length);
      if (w !== undefined) series.push(w);
      continue;
    }
    if (t.length === 0) continue;
    // The selection's own arrays when there is nothing to take out: the engine only reads a matrix's samples.
    if (stale === undefined) series.push({ labels: s.labels, t, v });
    else {
      const w = withoutStale(s.labels, t, v, stale, 0, t.length);
      if (w !== undefined) series.push(w);
    }
  }
  return { type: 'matrix', series, endMs: end, rangeMs };
}

// A subquery evaluates its expression at every multiple of its step inside (end - range, end].
function subquery(ctx: Ctx, e: Subquery): Value & { type: 'matrix' } {
  const end = atTime(ctx, e.at) - e.offsetMs;
  const step = e.stepMs > 0 ? e.stepMs : ctx.subqueryStep;
  let first = Math.floor((end - e.rangeMs) / step) * step;
  if (first <= end - e.rangeMs) first += step;
  const bySeries = new Map<string, Accumulated>();
  for (let t = first; t <= end; t += step) {
    const v = ev({ ...ctx, t, seriesMajor: undefined }, e.expr);
    const samples: Sample[] =
      v.type === 'scalar' ? [{ labels: {}, value: v.value }] : v.type === 'vector' ? v.samples : [];
    for (const s of samples) {
      const key = labelsKey(s.labels);
      let out = bySeries.get(key);
      if (out === undefined) {
        out = { labels: s.labels, t: [], v: [], drop: false, histograms: undefined };
        bySeries.set(key, out);
      }
      if (s.drop === true) out.drop = true;
      // A subquery may skip or repeat the sample of a reset: its histograms' reset hints go back to unknown.
      const h = s.h;
      if (h !== undefined && (h.counterResetHint === 'reset' || h.counterResetHint === 'not_reset'))
        accumulate(out, t, { labels: s.labels, value: 0, h: { ...h, counterResetHint: 'unknown' } });
      else accumulate(out, t, s);
    }
  }
  return { type: 'matrix', series: [...bySeries.values()], endMs: end, rangeMs: e.rangeMs };
}

function ev(ctx: Ctx, e: Expr): Value {
  const v = evNode(ctx, e);
  return ctx.delayedNameRemoval || v.type !== 'vector' ? v : dropNamesNow(v.samples);
}

// Without delayed name removal a name marked for removal goes at once, and each step checks that no two samples
// were left with the same labels (Prometheus' ContainsSameLabelset after each operation).
function dropNamesNow(samples: Sample[]): Value {
  if (!samples.some((s) => s.drop === true)) return { type: 'vector', samples };
  return {
    type: 'vector',
    samples: withNamesDropped(samples, (s, labels) =>
      s.drop !== true
        ? s
        : s.h === undefined
          ? { labels, value: s.value, t: s.t }
          : { labels, value: 0, t: s.t, h: s.h },
    ),
  };
}

function evNode(ctx: Ctx, e: Expr): Value {
  switch (e.kind) {
    case 'number':
      return { type: 'scalar', value: e.value };
    case 'string':
      return { type: 'string', value: e.value };
    case 'paren':
      return ev(ctx, e.expr);
    case 'vector':
      return { type: 'vector', samples: selectInstant(ctx, e) };
    case 'matrix':
      return selectRange(ctx, e.selector, e.rangeMs);
    case 'subquery':
      return subquery(ctx, e);
    case 'unary': {
      const v = ev(ctx, e.expr);
      if (e.op === '+') return v;
      if (v.type === 'scalar') return { type: 'scalar', value: -v.value };
      if (v.type === 'vector')
        return {
          type: 'vector',
          samples: v.samples.map((s) =>
            s.h === undefined
              ? { labels: s.labels, value: -s.value, drop: true }
              : { labels: s.labels, value: 0, drop: true, h: mulHistogram(s.h, -1) },
          ),
        };
      throw evalError('unary minus on a non-numeric value');
    }
    case 'call':
      return call(ctx, e);
    case 'aggregate':
      return aggregate(ctx, e);
    case 'binary':
      return binary(ctx, e);
  }
}

/** The longest span of history (range plus offset plus lookback) that an expression reads, in ms. */
export function historyNeeded(e: Expr, lookbackMs = 300_000): number {
  switch (e.kind) {
    case 'vector':
      return Math.max(0, e.offsetMs) + lookbackMs;
    case 'matrix':
      return Math.max(0, e.selector.offsetMs) + e.rangeMs;
    case 'subquery':
      return Math.max(0, e.offsetMs) + e.rangeMs + historyNeeded(e.expr, lookbackMs);
    case 'number':
    case 'string':
      return 0;
    case 'paren':
    case 'unary':
      return historyNeeded(e.expr, lookbackMs);
    case 'call':
      return Math.max(0, ...e.args.map((a) => historyNeeded(a, lookbackMs)));
    case 'aggregate':
      return Math.max(
        historyNeeded(e.expr, lookbackMs),
        e.param === undefined ? 0 : historyNeeded(e.param, lookbackMs),
      );
    case 'binary':
      return Math.max(historyNeeded(e.lhs, lookbackMs), historyNeeded(e.rhs, lookbackMs));
  }
}

/** Whether a label set satisfies a matcher (a missing label is the empty string, as in Prometheus). */
export function matches(m: Matcher, labels: Labels): boolean {
  const v = labels[m.name] ?? '';
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return m.regex!.test(v);
    case '!~':
      return !m.regex!.test(v);
  }
}
