// The engine's internal value types, shared by the evaluator and the function, aggregation and operator modules.

import type { Expr } from './ast.ts';
import type { SampleSource } from './engine.ts';
import { PromqlError } from './errors.ts';
import { type Labels, labelsKey } from './labels.ts';
import type { FloatHistogram } from './native-histogram.ts';

/** One element of an instant vector, while an expression is evaluated. */
export interface Sample {
  readonly labels: Labels;
  readonly value: number;
  /** The sample's own timestamp, for timestamp() of a selector. */
  readonly t?: number | undefined;
  /**
   * Prometheus 3 removes `__name__` late ("delayed name removal"): a function that drops the name marks the
   * sample, and the label goes at the end of the evaluation, so label_replace() can still read or keep it.
   */
  readonly drop?: boolean | undefined;
  /** Set when the sample is a native histogram (then `value` is 0 and means nothing). */
  readonly h?: FloatHistogram | undefined;
}

/** The native histogram samples of a series, oldest first. */
export interface HistogramSamples {
  readonly t: ArrayLike<number>;
  readonly h: readonly FloatHistogram[];
}

/** One series of a range vector. */
export interface Series {
  readonly labels: Labels;
  /** Timestamps, oldest first: arrays, or views of a range query's preselected samples. */
  readonly t: ArrayLike<number>;
  readonly v: ArrayLike<number>;
  readonly drop?: boolean | undefined;
  /** Native histogram samples, kept apart from the floats as Prometheus keeps them; absent when none. */
  readonly histograms?: HistogramSamples | undefined;
}

export type Value =
  | { readonly type: 'scalar'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'vector'; readonly samples: Sample[] }
  | { readonly type: 'matrix'; readonly series: Series[]; readonly endMs: number; readonly rangeMs: number };

/** A warning or an informational note, as Prometheus attaches them to a query result. */
export interface Annotation {
  readonly level: 'warning' | 'info';
  /** The text after `PromQL warning: ` / `PromQL info: `. */
  readonly message: string;
  /** Offset in the expression of the node it is about. */
  readonly at: number;
}

/** Everything one evaluation step needs. */
export interface Ctx {
  readonly source: SampleSource;
  /** The evaluation time (ms). */
  readonly t: number;
  readonly lookback: number;
  /** The query's start and end (ms), for `@ start()` and `@ end()`; equal for an instant query. */
  readonly start: number;
  readonly end: number;
  /** The range query's step (ms), 0 for an instant query. */
  readonly step: number;
  /** The step of a subquery that gives none (`[5m:]`). */
  readonly subqueryStep: number;
  /** Whether `__name__` goes at the end of the evaluation (Prometheus' delayed name removal) or at once. */
  readonly delayedNameRemoval: boolean;
  readonly annotations: Annotation[];
  readonly ev: (ctx: Ctx, e: Expr) => Value;
  /** A range query's cache of range functions computed series by series (absent in subqueries). */
  readonly seriesMajor?: SeriesMajor | undefined;
}

/** @internal See internal/series-major.ts. */
export interface SeriesMajor {
  readonly start: number;
  readonly end: number;
  readonly step: number;
  readonly blocks: Map<object, unknown>;
}

/** An error that fails the query; the message after the prefix is Prometheus' own wording. */
export function evalError(message: string): PromqlError {
  return new PromqlError('OBS_ERR_PROMQL_EVAL', `[@obs/promql] ${message}`);
}

export function annotate(ctx: Ctx, level: Annotation['level'], message: string, at: number): void {
  if (!ctx.annotations.some((a) => a.level === level && a.message === message && a.at === at))
    ctx.annotations.push({ level, message, at });
}

export function vectorOf(v: Value): Sample[] {
  if (v.type !== 'vector') throw evalError(`expected an instant vector, got ${v.type}`);
  return v.samples;
}
export function scalarOf(v: Value): number {
  if (v.type !== 'scalar') throw evalError(`expected a scalar, got ${v.type}`);
  return v.value;
}
export function stringOf(v: Value): string {
  if (v.type !== 'string') throw evalError(`expected a string, got ${v.type}`);
  return v.value;
}
export function matrixOf(v: Value): Value & { type: 'matrix' } {
  if (v.type !== 'matrix') throw evalError(`expected a range vector, got ${v.type}`);
  return v;
}

/** Neumaier's compensated summation step, as Prometheus' kahanSumInc. */
export function kahanSumInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (!Number.isFinite(t) && !Number.isNaN(t)) return [t, 0];
  if (Math.abs(sum) >= Math.abs(inc)) return [t, c + (sum - t + inc)];
  return [t, c + (inc - t + sum)];
}

/** Go's strconv.FormatFloat(f, 'f', -1, 64)-like text of a float, as Prometheus prints values. */
export function formatFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Number.POSITIVE_INFINITY) return '+Inf';
  if (f === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(f);
}

/** Prometheus' ContainsSameLabelset check: an instant vector never holds two samples with the same labels. */
export function assertUniqueLabelsets(samples: readonly { readonly labels: Labels }[]): void {
  const seen = new Set<string>();
  for (const s of samples) {
    const key = labelsKey(s.labels);
    if (seen.has(key)) throw evalError('vector cannot contain metrics with the same labelset');
    seen.add(key);
  }
}
