// Native histograms as Prometheus's model/histogram FloatHistogram: exponential schemas (-4..8) and custom
// buckets (schema -53), with the arithmetic PromQL needs (add and subtract across schemas and zero thresholds,
// scaling, compaction, equality, counter reset detection) and the bucket listing of the query API.

import { NATIVE_BOUND_FRACTIONS } from './native-bounds.ts';

/** What a histogram sample says about counter resets, as Prometheus's `CounterResetHint`. */
export type CounterResetHint = 'unknown' | 'reset' | 'not_reset' | 'gauge';

/** A run of consecutive buckets: `offset` is the gap to the previous span (the first one's absolute index). */
export interface BucketSpan {
  readonly offset: number;
  readonly length: number;
}

/**
 * A native histogram sample with float counts (Prometheus's FloatHistogram). Bucket counts are absolute. Values
 * are never changed once made: operations return new histograms.
 */
export interface FloatHistogram {
  /** -4..8 for exponential buckets (bucket `i` ends at `2^(i·2^-schema)`), -53 for custom buckets. */
  readonly schema: number;
  /** Observations with an absolute value up to this go to the zero bucket (exponential schemas only). */
  readonly zeroThreshold: number;
  readonly zeroCount: number;
  readonly count: number;
  readonly sum: number;
  readonly positiveSpans: readonly BucketSpan[];
  readonly positiveBuckets: readonly number[];
  readonly negativeSpans: readonly BucketSpan[];
  readonly negativeBuckets: readonly number[];
  /** The upper bounds of the custom buckets (schema -53), +Inf left out; empty otherwise. */
  readonly customValues: readonly number[];
  readonly counterResetHint: CounterResetHint;
}

/** One bucket as Prometheus's query API lists it: bounds, whether each bound is inclusive, and the count. */
export interface HistogramBucket {
  readonly lower: number;
  readonly upper: number;
  readonly lowerInclusive: boolean;
  readonly upperInclusive: boolean;
  readonly count: number;
  /**
   * The API's boundary rule: 0 left-open `(lower, upper]`, 1 right-open `[lower, upper)`, 2 open, 3 closed.
   */
  readonly boundaryRule: 0 | 1 | 2 | 3;
}

export const CUSTOM_BUCKETS_SCHEMA = -53;

/** @internal A histogram being built; the exported type is its read-only view. */
export interface MutableHistogram {
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  count: number;
  sum: number;
  positiveSpans: BucketSpan[];
  positiveBuckets: number[];
  negativeSpans: BucketSpan[];
  negativeBuckets: number[];
  customValues: readonly number[];
  counterResetHint: CounterResetHint;
}

interface Dense {
  idx: number[];
  cnt: number[];
}

interface Bucket {
  lower: number;
  upper: number;
  lowerInclusive: boolean;
  upperInclusive: boolean;
  count: number;
  index: number;
}

/** A histogram from its parts; anything left out is empty (schema 0, no buckets, hint unknown). */
export function createHistogram(parts: Partial<FloatHistogram> = {}): MutableHistogram {
  return {
    schema: parts.schema ?? 0,
    zeroThreshold: parts.zeroThreshold ?? 0,
    zeroCount: parts.zeroCount ?? 0,
    count: parts.count ?? 0,
    sum: parts.sum ?? 0,
    positiveSpans: [...(parts.positiveSpans ?? [])],
    positiveBuckets: [...(parts.positiveBuckets ?? [])],
    negativeSpans: [...(parts.negativeSpans ?? [])],
    negativeBuckets: [...(parts.negativeBuckets ?? [])],
    customValues: parts.customValues ?? [],
    counterResetHint: parts.counterResetHint ?? 'unknown',
  };
}

function copyHistogram(h: FloatHistogram): MutableHistogram {
  return createHistogram(h);
}

export function usesCustomBuckets(h: FloatHistogram): boolean {
  return h.schema === CUSTOM_BUCKETS_SCHEMA;
}

function expand(spans: readonly BucketSpan[], buckets: readonly number[]): Dense {
  const out: Dense = { idx: [], cnt: [] };
  let idx = 0;
  let b = 0;
  for (let s = 0; s < spans.length; s++) {
    const span = spans[s]!;
    idx += span.offset;
    for (let j = 0; j < span.length && b < buckets.length; j++, b++) {
      out.idx.push(idx);
      out.cnt.push(buckets[b]!);
      idx++;
    }
  }
  return out;
}

function toSpans(d: Dense, maxEmpty = -1): { spans: BucketSpan[]; buckets: number[] } {
  const spans: Array<{ offset: number; length: number }> = [];
  const buckets: number[] = [];
  let prev = 0;
  for (let i = 0; i < d.idx.length; i++) {
    const idx = d.idx[i]!;
    const c = d.cnt[i]!;
    if (maxEmpty >= 0 && c === 0) continue;
    const last = spans[spans.length - 1];
    const gap = idx - prev - 1;
    if (last !== undefined && gap >= 0 && gap <= Math.max(0, maxEmpty)) {
      for (let k = 0; k < gap; k++) buckets.push(0);
      last.length += gap + 1;
    } else spans.push({ offset: last === undefined ? idx : gap, length: 1 });
    buckets.push(c);
    prev = idx;
  }
  return { spans, buckets };
}

function targetIdx(idx: number, from: number, to: number): number {
  return ((idx - 1) >> (from - to)) + 1;
}

function reduce(d: Dense, from: number, to: number): Dense {
  if (from === to) return d;
  const out: Dense = { idx: [], cnt: [] };
  for (let i = 0; i < d.idx.length; i++) {
    const t = targetIdx(d.idx[i]!, from, to);
    const n = out.idx.length;
    if (n > 0 && out.idx[n - 1] === t) out.cnt[n - 1] = out.cnt[n - 1]! + d.cnt[i]!;
    else {
      out.idx.push(t);
      out.cnt.push(d.cnt[i]!);
    }
  }
  return out;
}

function ldexp(frac: number, exp: number): number {
  // Multiplying by powers of two is exact; two steps keep 2^exp itself in range.
  if (exp > 1000) return frac * 2 ** 1000 * 2 ** (exp - 1000);
  if (exp < -1000) return frac * 2 ** -1000 * 2 ** (exp + 1000);
  return frac * 2 ** exp;
}

/**
 * The upper bound of bucket `key` of an exponential schema (-4..8), bit for bit as Prometheus's getBound and
 * client_golang's getLe compute it: MaxFloat64 for the last finite bucket.
 */
export function nativeBucketUpperBound(key: number, schema: number): number {
  if (schema < 0) {
    const exp = key * 2 ** -schema;
    if (exp === 1024) return Number.MAX_VALUE;
    return ldexp(1, exp);
  }
  const frac = NATIVE_BOUND_FRACTIONS[schema]![key & ((1 << schema) - 1)]!;
  const exp = (key >> schema) + 1;
  if (frac === 0.5 && exp === 1025) return Number.MAX_VALUE;
  return ldexp(frac, exp);
}

function bound(idx: number, schema: number, custom: readonly number[]): number {
  if (schema !== CUSTOM_BUCKETS_SCHEMA) return nativeBucketUpperBound(idx, schema);
  if (idx === custom.length) return Number.POSITIVE_INFINITY;
  if (idx === -1) return Number.NEGATIVE_INFINITY;
  return custom[idx]!;
}

function bucketAt(positive: boolean, idx: number, count: number, schema: number, custom: readonly number[]): Bucket {
  const lower = positive ? bound(idx - 1, schema, custom) : -bound(idx, schema, custom);
  const upper = positive ? bound(idx, schema, custom) : -bound(idx - 1, schema, custom);
  const isCustom = schema === CUSTOM_BUCKETS_SCHEMA;
  return {
    lower,
    upper,
    lowerInclusive: isCustom ? idx === 0 : lower < 0,
    upperInclusive: isCustom ? true : upper > 0,
    count,
    index: idx,
  };
}

// Prometheus's floatBucketIterator: one side's buckets merged into `target` (at most the histogram's schema),
// leading buckets whose absolute upper bound is at most `absStart` left out (exponential schemas only).
function sideBuckets(h: FloatHistogram, positive: boolean, absStart = 0, target = h.schema): Bucket[] {
  const d = reduce(
    positive ? expand(h.positiveSpans, h.positiveBuckets) : expand(h.negativeSpans, h.negativeBuckets),
    h.schema,
    target,
  );
  const out: Bucket[] = [];
  let reached = absStart === 0;
  for (let i = 0; i < d.idx.length; i++) {
    const idx = d.idx[i]!;
    if (!reached && target !== CUSTOM_BUCKETS_SCHEMA && nativeBucketUpperBound(idx, target) <= absStart) continue;
    reached = true;
    out.push(bucketAt(positive, idx, d.cnt[i]!, target, h.customValues));
  }
  return out;
}

// Prometheus's AllBucketIterator: negative buckets from the lowest, the zero bucket when populated, positive ones.
function allBuckets(h: FloatHistogram): Bucket[] {
  const out: Bucket[] = [];
  const t = h.zeroThreshold;
  const neg = sideBuckets(h, false).reverse();
  for (const b of neg) {
    if (b.upper < 0 && b.upper > -t) b.upper = -t;
    else if (b.lower > 0 && b.lower < t) b.lower = t;
    out.push(b);
  }
  if (h.zeroCount > 0)
    out.push({ lower: -t, upper: t, lowerInclusive: true, upperInclusive: true, count: h.zeroCount, index: 0 });
  for (const b of sideBuckets(h, true)) {
    if (b.lower > 0 && b.lower < t) b.lower = t;
    else if (b.upper < 0 && b.upper > -t) b.upper = -t;
    out.push(b);
  }
  return out;
}

/**
 * A histogram's populated buckets from the lowest to the highest, with their bounds and boundary rule, as
 * Prometheus's query API lists them (`"buckets": [[rule, lower, upper, count], …]`).
 */
export function histogramBuckets(h: FloatHistogram): HistogramBucket[] {
  const out: HistogramBucket[] = [];
  for (const b of allBuckets(h)) {
    if (b.count === 0) continue;
    const boundaryRule = b.lowerInclusive ? (b.upperInclusive ? 3 : 1) : b.upperInclusive ? 0 : 2;
    const { lower, upper, lowerInclusive, upperInclusive, count } = b;
    out.push({ lower, upper, lowerInclusive, upperInclusive, count, boundaryRule });
  }
  return out;
}

/** Removes empty buckets (keeping runs of at most `maxEmpty` inside spans), as Prometheus's Compact. */
export function compactHistogram(h: FloatHistogram, maxEmpty = 0): MutableHistogram {
  const out = copyHistogram(h);
  const p = toSpans(expand(h.positiveSpans, h.positiveBuckets), maxEmpty);
  const n = toSpans(expand(h.negativeSpans, h.negativeBuckets), maxEmpty);
  out.positiveSpans = p.spans;
  out.positiveBuckets = p.buckets;
  out.negativeSpans = n.spans;
  out.negativeBuckets = n.buckets;
  return out;
}

/** Scales every count and the sum; a negative factor makes the result a gauge. */
export function mulHistogram(h: FloatHistogram, factor: number): MutableHistogram {
  const out = copyHistogram(h);
  out.zeroCount *= factor;
  out.count *= factor;
  out.sum *= factor;
  out.positiveBuckets = out.positiveBuckets.map((c) => c * factor);
  out.negativeBuckets = out.negativeBuckets.map((c) => c * factor);
  if (factor < 0) out.counterResetHint = 'gauge';
  return out;
}

/** Divides every count and the sum; dividing by 0 removes the buckets, as Prometheus does. */
export function divHistogram(h: FloatHistogram, scalar: number): MutableHistogram {
  const out = copyHistogram(h);
  out.zeroCount /= scalar;
  out.count /= scalar;
  out.sum /= scalar;
  if (scalar === 0) {
    out.positiveSpans = [];
    out.positiveBuckets = [];
    out.negativeSpans = [];
    out.negativeBuckets = [];
    return out;
  }
  out.positiveBuckets = out.positiveBuckets.map((c) => c / scalar);
  out.negativeBuckets = out.negativeBuckets.map((c) => c / scalar);
  if (scalar < 0) out.counterResetHint = 'gauge';
  return out;
}

// The zero count and threshold `h` would have with a threshold of at least `larger`: buckets inside it join the
// zero bucket, and a threshold falling inside a populated bucket moves to that bucket's end.
function zeroCountForLargerThreshold(h: FloatHistogram, larger: number): [number, number] {
  if (larger === h.zeroThreshold) return [h.zeroCount, larger];
  let threshold = larger;
  for (;;) {
    let zero = h.zeroCount;
    let again = false;
    for (const b of sideBuckets(h, true)) {
      if (b.lower >= threshold) break;
      zero += b.count;
      if (b.upper > threshold) {
        if (b.count !== 0) threshold = b.upper;
        break;
      }
    }
    for (const b of sideBuckets(h, false)) {
      if (b.upper <= -threshold) break;
      zero += b.count;
      if (b.lower < -threshold) {
        if (b.count !== 0) {
          threshold = -b.lower;
          again = true;
        }
        break;
      }
    }
    if (!again) return [zero, threshold];
  }
}

function trimBucketsInZeroBucket(h: MutableHistogram): void {
  const t = h.zeroThreshold;
  const pos = sideBuckets(h, true);
  for (let i = 0; i < pos.length && pos[i]!.lower < t; i++) h.positiveBuckets[i] = 0;
  const neg = sideBuckets(h, false);
  for (let i = 0; i < neg.length && neg[i]!.upper > -t; i++) h.negativeBuckets[i] = 0;
  const c = compactHistogram(h);
  h.positiveSpans = c.positiveSpans;
  h.positiveBuckets = c.positiveBuckets;
  h.negativeSpans = c.negativeSpans;
  h.negativeBuckets = c.negativeBuckets;
}

// Widens the zero bucket of `h` (in place) and of `other` (returned as a count) to a common threshold.
function reconcileZeroBuckets(h: MutableHistogram, other: FloatHistogram): number {
  let otherZero = other.zeroCount;
  let otherThreshold = other.zeroThreshold;
  while (otherThreshold !== h.zeroThreshold) {
    if (h.zeroThreshold > otherThreshold)
      [otherZero, otherThreshold] = zeroCountForLargerThreshold(other, h.zeroThreshold);
    if (otherThreshold > h.zeroThreshold) {
      [h.zeroCount, h.zeroThreshold] = zeroCountForLargerThreshold(h, otherThreshold);
      trimBucketsInZeroBucket(h);
    }
  }
  return otherZero;
}

// Returns whether the hints collided (a reset against a not-reset).
function adjustCounterReset(h: MutableHistogram, other: FloatHistogram): boolean {
  const a = h.counterResetHint;
  const b = other.counterResetHint;
  if (a === b || a === 'gauge') return false;
  if (b === 'gauge') h.counterResetHint = 'gauge';
  else if (a === 'unknown') return false;
  else {
    h.counterResetHint = 'unknown';
    return b !== 'unknown';
  }
  return false;
}

// Adds (or subtracts) `b` to `a`, keeping every bucket of either; `b`'s leading buckets inside the zero bucket
// (already part of its zero count) are skipped.
function mergeDense(a: Dense, b: Dense, sign: number, schema: number, threshold: number): Dense {
  const out: Dense = { idx: [], cnt: [] };
  let i = 0;
  let j = 0;
  let below = schema !== CUSTOM_BUCKETS_SCHEMA;
  while (i < a.idx.length || j < b.idx.length) {
    if (j < b.idx.length && below) {
      if (nativeBucketUpperBound(b.idx[j]!, schema) <= threshold) {
        j++;
        continue;
      }
      below = false;
    }
    const ai = i < a.idx.length ? a.idx[i]! : Number.POSITIVE_INFINITY;
    const bi = j < b.idx.length ? b.idx[j]! : Number.POSITIVE_INFINITY;
    if (ai < bi) {
      out.idx.push(ai);
      out.cnt.push(a.cnt[i++]!);
    } else if (bi < ai) {
      out.idx.push(bi);
      out.cnt.push(sign * b.cnt[j++]!);
    } else {
      out.idx.push(ai);
      out.cnt.push(a.cnt[i++]! + sign * b.cnt[j++]!);
    }
  }
  return out;
}

function boundsMatch(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function spansEqual(a: readonly BucketSpan[], b: readonly BucketSpan[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.offset !== y.offset || x.length !== y.length || x.length === 0) return false;
  }
  return true;
}

// Whether two histograms' buckets line up one to one (same schema, zero threshold, bounds and spans, no bucket
// inside the zero bucket): the common case of samples of one series, where arithmetic goes bucket by bucket.
function aligned(a: FloatHistogram, b: FloatHistogram): boolean {
  if (a.schema !== b.schema || a.zeroThreshold !== b.zeroThreshold) return false;
  if (a.positiveBuckets.length !== b.positiveBuckets.length || a.negativeBuckets.length !== b.negativeBuckets.length)
    return false;
  if (!spansEqual(a.positiveSpans, b.positiveSpans) || !spansEqual(a.negativeSpans, b.negativeSpans)) return false;
  if (usesCustomBuckets(a)) return boundsMatch(a.customValues, b.customValues);
  if (a.zeroThreshold === 0) return true;
  const p = a.positiveSpans[0];
  const n = a.negativeSpans[0];
  return (
    (p === undefined || nativeBucketUpperBound(p.offset, a.schema) > a.zeroThreshold) &&
    (n === undefined || nativeBucketUpperBound(n.offset, a.schema) > a.zeroThreshold)
  );
}

function intersectBounds(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push(a[i]!);
      i++;
      j++;
    } else if (a[i]! < b[j]!) i++;
    else j++;
  }
  return out;
}

// Custom buckets mapped onto coarser bounds: each bucket goes to the first bound at or above its upper bound.
function mapToBounds(h: FloatHistogram, bounds: readonly number[]): number[] {
  const out = new Array<number>(bounds.length + 1).fill(0);
  const d = expand(h.positiveSpans, h.positiveBuckets);
  let k = 0;
  for (let i = 0; i < d.idx.length; i++) {
    const idx = d.idx[i]!;
    let target = bounds.length;
    if (idx < h.customValues.length) {
      const upper = h.customValues[idx]!;
      while (k < bounds.length && bounds[k]! < upper) k++;
      target = k;
    }
    out[target] = out[target]! + d.cnt[i]!;
  }
  return out;
}

/** The outcome of {@link addHistograms}: undefined `h` when one uses custom buckets and the other does not. */
export interface HistogramSum {
  readonly h: MutableHistogram | undefined;
  /** One histogram said "reset" and the other "not reset". */
  readonly collision: boolean;
  /** Custom bucket bounds differed and were reduced to the common ones. */
  readonly reconciled: boolean;
}

/** `a + b` (or `a - b`), as Prometheus's FloatHistogram.Add and Sub: the lower schema and wider zero bucket win. */
export function addHistograms(a: FloatHistogram, b: FloatHistogram, subtract = false): HistogramSum {
  if (usesCustomBuckets(a) !== usesCustomBuckets(b)) return { h: undefined, collision: false, reconciled: false };
  const sign = subtract ? -1 : 1;
  const h = copyHistogram(a);
  const collision = adjustCounterReset(h, b);
  if (aligned(a, b)) {
    h.zeroCount += sign * b.zeroCount;
    h.count += sign * b.count;
    h.sum += sign * b.sum;
    for (let i = 0; i < h.positiveBuckets.length; i++) h.positiveBuckets[i]! += sign * b.positiveBuckets[i]!;
    for (let i = 0; i < h.negativeBuckets.length; i++) h.negativeBuckets[i]! += sign * b.negativeBuckets[i]!;
    return { h, collision, reconciled: false };
  }
  if (!usesCustomBuckets(h)) {
    // Reconciling may change h's own zero count first.
    const otherZero = reconcileZeroBuckets(h, b);
    h.zeroCount += sign * otherZero;
  }
  h.count += sign * b.count;
  h.sum += sign * b.sum;
  if (usesCustomBuckets(h)) {
    if (boundsMatch(h.customValues, b.customValues)) {
      const pos = toSpans(
        mergeDense(
          expand(h.positiveSpans, h.positiveBuckets),
          expand(b.positiveSpans, b.positiveBuckets),
          sign,
          h.schema,
          0,
        ),
      );
      h.positiveSpans = pos.spans;
      h.positiveBuckets = pos.buckets;
      return { h, collision, reconciled: false };
    }
    const bounds = intersectBounds(h.customValues, b.customValues);
    const x = mapToBounds(h, bounds);
    const y = mapToBounds(b, bounds);
    const d: Dense = { idx: [], cnt: [] };
    for (let i = 0; i < x.length; i++) {
      const c = x[i]! + sign * y[i]!;
      if (c === 0) continue;
      d.idx.push(i);
      d.cnt.push(c);
    }
    const pos = toSpans(d);
    h.positiveSpans = pos.spans;
    h.positiveBuckets = pos.buckets;
    h.customValues = bounds;
    return { h, collision, reconciled: true };
  }
  const schema = Math.min(h.schema, b.schema);
  const side = (hs: readonly BucketSpan[], hb: readonly number[], bs: readonly BucketSpan[], bb: readonly number[]) =>
    toSpans(
      mergeDense(
        reduce(expand(hs, hb), h.schema, schema),
        reduce(expand(bs, bb), b.schema, schema),
        sign,
        schema,
        h.zeroThreshold,
      ),
    );
  const pos = side(h.positiveSpans, h.positiveBuckets, b.positiveSpans, b.positiveBuckets);
  const neg = side(h.negativeSpans, h.negativeBuckets, b.negativeSpans, b.negativeBuckets);
  h.schema = schema;
  h.positiveSpans = pos.spans;
  h.positiveBuckets = pos.buckets;
  h.negativeSpans = neg.spans;
  h.negativeBuckets = neg.buckets;
  return { h, collision, reconciled: false };
}

/** The histogram in a lower (or equal) exponential schema. */
export function toSchema(h: FloatHistogram, schema: number): FloatHistogram {
  if (schema >= h.schema || usesCustomBuckets(h)) return h;
  const out = copyHistogram(h);
  const p = toSpans(reduce(expand(h.positiveSpans, h.positiveBuckets), h.schema, schema));
  const n = toSpans(reduce(expand(h.negativeSpans, h.negativeBuckets), h.schema, schema));
  out.schema = schema;
  out.positiveSpans = p.spans;
  out.positiveBuckets = p.buckets;
  out.negativeSpans = n.spans;
  out.negativeBuckets = n.buckets;
  return out;
}

function sameBits(a: number, b: number): boolean {
  return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
}

function sideEquals(
  as: readonly BucketSpan[],
  ab: readonly number[],
  bs: readonly BucketSpan[],
  bb: readonly number[],
): boolean {
  const x = expand(as, ab);
  const y = expand(bs, bb);
  if (x.idx.length !== y.idx.length) return false;
  for (let i = 0; i < x.idx.length; i++) if (x.idx[i] !== y.idx[i] || !sameBits(x.cnt[i]!, y.cnt[i]!)) return false;
  return true;
}

/** Exact equality (same layout, bit-equal counts), as Prometheus's FloatHistogram.Equals; the hint is ignored. */
export function histogramsEqual(a: FloatHistogram, b: FloatHistogram): boolean {
  if (a.schema !== b.schema || !sameBits(a.count, b.count) || !sameBits(a.sum, b.sum)) return false;
  if (usesCustomBuckets(a) && !boundsMatch(a.customValues, b.customValues)) return false;
  if (a.zeroThreshold !== b.zeroThreshold || !sameBits(a.zeroCount, b.zeroCount)) return false;
  return (
    sideEquals(a.negativeSpans, a.negativeBuckets, b.negativeSpans, b.negativeBuckets) &&
    sideEquals(a.positiveSpans, a.positiveBuckets, b.positiveSpans, b.positiveBuckets)
  );
}

function bucketsReset(curr: Bucket[], prev: Bucket[]): boolean {
  let i = 0;
  for (const p of prev) {
    while (i < curr.length && curr[i]!.index < p.index) i++;
    const c = curr[i];
    if (c === undefined || c.index > p.index) {
      if (p.count !== 0) return true;
    } else if (c.count < p.count) return true;
  }
  return false;
}

/**
 * Whether `h` follows a counter reset after `previous`, as Prometheus's DetectReset: a hint of reset or not
 * reset decides; otherwise any count that went down, a populated bucket that went away, a finer schema or a
 * narrower zero bucket is a reset.
 */
export function detectReset(h: FloatHistogram, previous: FloatHistogram): boolean {
  if (h.counterResetHint === 'reset') return true;
  if (h.counterResetHint === 'not_reset') return false;
  if (h.count < previous.count) return true;
  if (usesCustomBuckets(h)) {
    if (!usesCustomBuckets(previous)) return true;
    if (!boundsMatch(h.customValues, previous.customValues)) {
      const bounds = intersectBounds(h.customValues, previous.customValues);
      const c = mapToBounds(h, bounds);
      const p = mapToBounds(previous, bounds);
      return c.some((x, i) => x < p[i]!);
    }
  }
  if (aligned(h, previous)) {
    if (h.zeroCount < previous.zeroCount) return true;
    for (let i = 0; i < h.positiveBuckets.length; i++)
      if (h.positiveBuckets[i]! < previous.positiveBuckets[i]!) return true;
    for (let i = 0; i < h.negativeBuckets.length; i++)
      if (h.negativeBuckets[i]! < previous.negativeBuckets[i]!) return true;
    return false;
  }
  if (h.schema > previous.schema) return true;
  if (h.zeroThreshold < previous.zeroThreshold) return true;
  const [prevZero, threshold] = zeroCountForLargerThreshold(previous, h.zeroThreshold);
  if (threshold !== h.zeroThreshold) return true;
  if (h.zeroCount < prevZero) return true;
  if (bucketsReset(sideBuckets(h, true, h.zeroThreshold), sideBuckets(previous, true, h.zeroThreshold, h.schema)))
    return true;
  return bucketsReset(sideBuckets(h, false, h.zeroThreshold), sideBuckets(previous, false, h.zeroThreshold, h.schema));
}

/** Whether any count or the sum is infinite (an overflowing sum). */
export function histogramOverflows(h: FloatHistogram): boolean {
  const inf = (x: number): boolean => x === Number.POSITIVE_INFINITY || x === Number.NEGATIVE_INFINITY;
  return (
    inf(h.zeroCount) ||
    inf(h.count) ||
    inf(h.sum) ||
    h.positiveBuckets.some(inf) ||
    h.negativeBuckets.some(inf) ||
    h.customValues.some(inf)
  );
}

// Go's %g for the String() of a histogram (count_values labels).
function goG(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Number.POSITIVE_INFINITY) return '+Inf';
  if (x === Number.NEGATIVE_INFINITY) return '-Inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const exp = Math.floor(Math.log10(Math.abs(x)));
  if (exp < -4 || exp >= 21) {
    const [m, e] = x.toExponential().split('e');
    const n = Number(e);
    return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  return String(x);
}

function bucketText(b: Bucket): string {
  return `${b.lowerInclusive ? '[' : '('}${goG(b.lower)},${goG(b.upper)}${b.upperInclusive ? ']' : ')'}:${goG(b.count)}`;
}

/** Prometheus's FloatHistogram.String(): `{count:2, sum:3, [-1,-0.5):1, (0.5,1]:1}`. */
export function histogramString(h: FloatHistogram): string {
  let out = `{count:${goG(h.count)}, sum:${goG(h.sum)}`;
  const neg = sideBuckets(h, false).filter((b) => b.count !== 0);
  for (let i = neg.length - 1; i >= 0; i--) out += `, ${bucketText(neg[i]!)}`;
  if (h.zeroCount !== 0)
    out += `, ${bucketText({ lower: -h.zeroThreshold, upper: h.zeroThreshold, lowerInclusive: true, upperInclusive: true, count: h.zeroCount, index: 0 })}`;
  for (const b of sideBuckets(h, true)) if (b.count !== 0) out += `, ${bucketText(b)}`;
  return `${out}}`;
}

/** @internal Every bucket (empty ones too) from the lowest, as the quantile and variance functions walk them. */
export function iterateBuckets(h: FloatHistogram): readonly Bucket[] {
  return allBuckets(h);
}

/**
 * Whether appending `h` after `prev` starts a new chunk in Prometheus's TSDB, which decides the hint a stored
 * histogram reads back with: a reset (explicit or detected), a schema, zero threshold or gauge/counter change.
 * Returns 'reset' when the cut is for a counter reset, 'cut' for any other cut, undefined when `h` continues.
 */
export function chunkCut(prev: FloatHistogram, h: FloatHistogram): 'reset' | 'cut' | undefined {
  const prevGauge = prev.counterResetHint === 'gauge';
  if ((h.counterResetHint === 'gauge') !== prevGauge) return 'cut';
  if (prevGauge) {
    return h.schema !== prev.schema ||
      h.zeroThreshold !== prev.zeroThreshold ||
      (usesCustomBuckets(h) && !boundsMatch(h.customValues, prev.customValues))
      ? 'cut'
      : undefined;
  }
  if (h.counterResetHint === 'reset') return 'reset';
  if (h.count < prev.count) return 'reset';
  if (h.schema !== prev.schema || h.zeroThreshold !== prev.zeroThreshold) return 'cut';
  if (usesCustomBuckets(h) && !boundsMatch(h.customValues, prev.customValues)) return 'reset';
  if (h.zeroCount < prev.zeroCount) return 'reset';
  const grew = (cs: readonly BucketSpan[], cb: readonly number[], ps: readonly BucketSpan[], pb: readonly number[]) => {
    const c = expand(cs, cb);
    const p = expand(ps, pb);
    let i = 0;
    for (let j = 0; j < p.idx.length; j++) {
      while (i < c.idx.length && c.idx[i]! < p.idx[j]!) i++;
      if (i >= c.idx.length || c.idx[i] !== p.idx[j]) {
        if (p.cnt[j] !== 0) return false;
      } else if (c.cnt[i]! < p.cnt[j]!) return false;
    }
    return true;
  };
  if (!grew(h.positiveSpans, h.positiveBuckets, prev.positiveSpans, prev.positiveBuckets)) return 'reset';
  if (!grew(h.negativeSpans, h.negativeBuckets, prev.negativeSpans, prev.negativeBuckets)) return 'reset';
  return undefined;
}

function kahanInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (t === Number.POSITIVE_INFINITY || t === Number.NEGATIVE_INFINITY) return [t, 0];
  if (Math.abs(sum) >= Math.abs(inc)) return [t, c + (sum - t + inc)];
  return [t, c + (inc - t + sum)];
}

function kahanSide(h: Dense, c: Dense, b: Dense, schema: number, threshold: number): [Dense, Dense] {
  const out: Dense = { idx: [], cnt: [] };
  const comp: Dense = { idx: [], cnt: [] };
  const cAt = new Map<number, number>();
  for (let i = 0; i < c.idx.length; i++) cAt.set(c.idx[i]!, c.cnt[i]!);
  const merged = mergeDense(h, { idx: b.idx, cnt: b.cnt.map(() => 0) }, 1, schema, threshold);
  const bAt = new Map<number, number>();
  let below = schema !== CUSTOM_BUCKETS_SCHEMA;
  for (let i = 0; i < b.idx.length; i++) {
    if (below && nativeBucketUpperBound(b.idx[i]!, schema) <= threshold) continue;
    below = false;
    bAt.set(b.idx[i]!, b.cnt[i]!);
  }
  for (let i = 0; i < merged.idx.length; i++) {
    const idx = merged.idx[i]!;
    let v = merged.cnt[i]!;
    let cv = cAt.get(idx) ?? 0;
    const inc = bAt.get(idx);
    if (inc !== undefined) [v, cv] = kahanInc(inc, v, cv);
    out.idx.push(idx);
    out.cnt.push(v);
    comp.idx.push(idx);
    comp.cnt.push(cv);
  }
  return [out, comp];
}

/** A running sum of histograms with its Kahan compensation, as Prometheus's KahanAdd keeps them. */
export interface KahanSum {
  readonly sum: FloatHistogram;
  /** The compensation: the sum's schema, threshold and bounds; undefined until a compensated addition. */
  readonly c: FloatHistogram | undefined;
}

/**
 * `acc + b` with Kahan-compensated counts (Prometheus's KahanAdd). Where layouts differ (a finer schema to
 * reduce, another zero threshold or other custom bounds) the compensation is folded in first and the addition
 * is plain. Undefined `sum` when exponential and custom buckets meet.
 */
export function kahanAddHistograms(
  acc: KahanSum,
  b: FloatHistogram,
): { sum: KahanSum | undefined; collision: boolean; reconciled: boolean } {
  const a = acc.sum;
  if (usesCustomBuckets(a) !== usesCustomBuckets(b)) return { sum: undefined, collision: false, reconciled: false };
  const sameLayout = usesCustomBuckets(a)
    ? boundsMatch(a.customValues, b.customValues)
    : b.schema >= a.schema && b.zeroThreshold === a.zeroThreshold;
  if (!sameLayout) {
    const r = addHistograms(kahanResult(acc), b);
    return {
      sum: r.h === undefined ? undefined : { sum: r.h, c: undefined },
      collision: r.collision,
      reconciled: r.reconciled,
    };
  }
  const h = copyHistogram(a);
  const collision = adjustCounterReset(h, b);
  if (aligned(a, b) && (acc.c === undefined || aligned(a, acc.c))) {
    const c = acc.c === undefined ? zeroCompensation(a) : copyHistogram(acc.c);
    [h.count, c.count] = kahanInc(b.count, h.count, c.count);
    [h.sum, c.sum] = kahanInc(b.sum, h.sum, c.sum);
    [h.zeroCount, c.zeroCount] = kahanInc(b.zeroCount, h.zeroCount, c.zeroCount);
    const pos = h.positiveBuckets;
    const cpos = c.positiveBuckets;
    for (let i = 0; i < pos.length; i++) [pos[i], cpos[i]] = kahanInc(b.positiveBuckets[i]!, pos[i]!, cpos[i]!);
    const neg = h.negativeBuckets;
    const cneg = c.negativeBuckets;
    for (let i = 0; i < neg.length; i++) [neg[i], cneg[i]] = kahanInc(b.negativeBuckets[i]!, neg[i]!, cneg[i]!);
    return { sum: { sum: h, c }, collision, reconciled: false };
  }
  const c =
    acc.c === undefined
      ? createHistogram({ schema: a.schema, zeroThreshold: a.zeroThreshold, customValues: a.customValues })
      : copyHistogram(acc.c);
  [h.count, c.count] = kahanInc(b.count, h.count, c.count);
  [h.sum, c.sum] = kahanInc(b.sum, h.sum, c.sum);
  [h.zeroCount, c.zeroCount] = kahanInc(b.zeroCount, h.zeroCount, c.zeroCount);
  const side = (positive: boolean): void => {
    const [hs, hb, cs, cb, bs, bb] = positive
      ? [h.positiveSpans, h.positiveBuckets, c.positiveSpans, c.positiveBuckets, b.positiveSpans, b.positiveBuckets]
      : [h.negativeSpans, h.negativeBuckets, c.negativeSpans, c.negativeBuckets, b.negativeSpans, b.negativeBuckets];
    const [sum, comp] = kahanSide(
      expand(hs, hb),
      expand(cs, cb),
      reduce(expand(bs, bb), b.schema, h.schema),
      h.schema,
      h.zeroThreshold,
    );
    const s1 = toSpans(sum);
    const s2 = toSpans(comp);
    if (positive) {
      [h.positiveSpans, h.positiveBuckets, c.positiveSpans, c.positiveBuckets] = [
        s1.spans,
        s1.buckets,
        s2.spans,
        s2.buckets,
      ];
    } else {
      [h.negativeSpans, h.negativeBuckets, c.negativeSpans, c.negativeBuckets] = [
        s1.spans,
        s1.buckets,
        s2.spans,
        s2.buckets,
      ];
    }
  };
  side(true);
  if (!usesCustomBuckets(h)) side(false);
  return { sum: { sum: h, c }, collision, reconciled: false };
}

// A compensation of zeros in the layout of `h`.
function zeroCompensation(h: FloatHistogram): MutableHistogram {
  const c = copyHistogram(h);
  c.zeroCount = 0;
  c.count = 0;
  c.sum = 0;
  c.positiveBuckets.fill(0);
  c.negativeBuckets.fill(0);
  return c;
}

/** The compensated sum's value: the sum with its compensation added. */
export function kahanResult(acc: KahanSum): FloatHistogram {
  if (acc.c === undefined) return acc.sum;
  return addHistograms(acc.sum, { ...acc.c, counterResetHint: acc.sum.counterResetHint }).h ?? acc.sum;
}
