// histogram_quantile, histogram_quantiles and histogram_fraction over classic histograms (bucket series with an
// `le` label) and native ones, and the native-only histogram_count/sum/avg/stddev/stdvar.
import { type Labels, labelsKey } from './labels.ts';
import { type FloatHistogram, iterateBuckets, usesCustomBuckets } from './native-histogram.ts';
import {
  annotate,
  assertUniqueLabelsets,
  type Ctx,
  formatFloat,
  kahanSumInc,
  type Sample,
  type Value,
} from './values.ts';

interface Bucket {
  upper: number;
  count: number;
}

interface BucketGroup {
  readonly labels: Labels;
  readonly buckets: Bucket[];
  readonly name: string;
}

const MONOTONICITY =
  'input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)';

function parseLe(le: string): number {
  const t = le.trim();
  const lower = t.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Number.POSITIVE_INFINITY;
  if (lower === '-inf') return Number.NEGATIVE_INFINITY;
  if (lower === 'nan') return Number.NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t) && !/^[+-]?0x[0-9a-f]+$/i.test(t)) return Number.NaN;
  return Number(t);
}

// Bucket series grouped by their labels without `le`; the name is part of the group and goes at the end
// (delayed name removal), so two histograms that differ only in name collide then, not silently here.
function bucketGroups(ctx: Ctx, v: Sample[], at: number): { groups: BucketGroup[]; natives: Sample[] } {
  const groups = new Map<string, BucketGroup>();
  const natives: Sample[] = [];
  for (const s of v) {
    if (s.h !== undefined) {
      natives.push(s);
      continue;
    }
    const le = s.labels['le'];
    const upper = le === undefined ? Number.NaN : parseLe(le);
    if (Number.isNaN(upper)) {
      annotate(
        ctx,
        'warning',
        `bucket label "le" is missing or has a malformed value of ${JSON.stringify(le ?? '')} for metric name ${JSON.stringify(s.labels['__name__'] ?? '')}`,
        at,
      );
      continue;
    }
    const { le: _, ...rest } = s.labels;
    const key = labelsKey(rest);
    let g = groups.get(key);
    if (g === undefined) {
      g = { labels: rest, buckets: [], name: s.labels['__name__'] ?? '' };
      groups.set(key, g);
    }
    g.buckets.push({ upper, count: s.value });
  }
  // A native histogram and classic buckets of the same series at once: neither is evaluated.
  const kept: Sample[] = [];
  for (const s of natives) {
    const key = labelsKey(s.labels);
    if (groups.has(key)) {
      const name = ctx.delayedNameRemoval ? (s.labels['__name__'] ?? '') : '';
      annotate(
        ctx,
        'warning',
        `vector contains a mix of classic and native histograms${name === '' ? '' : ` for metric name ${JSON.stringify(name)}`}`,
        at,
      );
      groups.delete(key);
    } else kept.push(s);
  }
  return { groups: [...groups.values()], natives: kept };
}

// Sorted, merged (equal bounds add up) and made monotonic, as Prometheus' bucketQuantile prepares buckets.
function prepare(input: Bucket[]): { buckets: Bucket[]; fixed: boolean } {
  input.sort((a, b) => a.upper - b.upper);
  const buckets: Bucket[] = [];
  for (const b of input) {
    const last = buckets[buckets.length - 1];
    if (last !== undefined && last.upper === b.upper) last.count += b.count;
    else buckets.push({ ...b });
  }
  let fixed = false;
  let max = Number.NEGATIVE_INFINITY;
  for (const b of buckets) {
    if (b.count < max) {
      // Tiny decreases are float noise from rate(); only real ones are reported.
      if (max - b.count > 1e-12 * Math.max(Math.abs(max), Math.abs(b.count))) fixed = true;
      b.count = max;
    } else max = b.count;
  }
  return { buckets, fixed };
}

function bucketQuantile(q: number, input: Bucket[]): { value: number; fixed: boolean } {
  if (Number.isNaN(q)) return { value: Number.NaN, fixed: false };
  if (q < 0) return { value: Number.NEGATIVE_INFINITY, fixed: false };
  if (q > 1) return { value: Number.POSITIVE_INFINITY, fixed: false };
  input.sort((a, b) => a.upper - b.upper);
  if (input.length === 0 || input[input.length - 1]!.upper !== Number.POSITIVE_INFINITY)
    return { value: Number.NaN, fixed: false };
  const { buckets, fixed } = prepare(input);
  if (buckets.length < 2) return { value: Number.NaN, fixed };
  const observations = buckets[buckets.length - 1]!.count;
  if (observations === 0) return { value: Number.NaN, fixed };
  let rank = q * observations;
  let b = buckets.findIndex((x) => x.count >= rank);
  if (b === -1) b = buckets.length - 1;
  if (b === buckets.length - 1) return { value: buckets[buckets.length - 2]!.upper, fixed };
  if (b === 0 && buckets[0]!.upper <= 0) return { value: buckets[0]!.upper, fixed };
  let start = 0;
  const end = buckets[b]!.upper;
  let count = buckets[b]!.count;
  if (b > 0) {
    start = buckets[b - 1]!.upper;
    count -= buckets[b - 1]!.count;
    rank -= buckets[b - 1]!.count;
  }
  return { value: start + (end - start) * (rank / count), fixed };
}

export function histogramQuantile(ctx: Ctx, q: number, v: Sample[], qAt: number, vAt: number): Value {
  if (!(q >= 0 && q <= 1))
    annotate(ctx, 'warning', `quantile value should be between 0 and 1, got ${formatFloat(q)}`, qAt);
  const out: Sample[] = [];
  const { groups, natives } = bucketGroups(ctx, v, vAt);
  for (const s of natives)
    out.push({ labels: s.labels, value: nativeQuantile(ctx, q, s.h!, s.labels['__name__'] ?? '', vAt), drop: true });
  for (const g of groups) {
    const { value, fixed } = bucketQuantile(q, g.buckets);
    if (fixed) annotate(ctx, 'info', `${MONOTONICITY} for metric name ${JSON.stringify(g.name)}`, vAt);
    out.push({ labels: g.labels, value, drop: true });
  }
  return { type: 'vector', samples: out };
}

// The label value of one quantile: Go's %g-like text, always with a decimal point ("0.0", "0.25", "1.0").
function quantileLabel(q: number): string {
  const text = formatFloat(q);
  return /^-?\d+$/.test(text) ? `${text}.0` : text;
}

export function histogramQuantiles(
  ctx: Ctx,
  v: Sample[],
  label: string,
  qs: readonly number[],
  qAt: readonly number[],
  vAt: number,
): Value {
  const out: Sample[] = [];
  qs.forEach((q, i) => {
    const one = histogramQuantile(ctx, q, v, qAt[i]!, vAt);
    if (one.type !== 'vector') return;
    for (const s of one.samples) out.push({ ...s, labels: { ...s.labels, [label]: quantileLabel(q) } });
  });
  assertUniqueLabelsets(out);
  return { type: 'vector', samples: out };
}

// The share of observations in [lower, upper]: each bucket contributes the part of it inside the range,
// assuming a uniform spread; a bucket of infinite width counts only when it lies wholly inside. The first
// bucket starts at 0 when its bound is positive, at -Inf otherwise.
function bucketFraction(lower: number, upper: number, input: Bucket[]): number {
  input.sort((a, b) => a.upper - b.upper);
  if (input.length === 0 || input[input.length - 1]!.upper !== Number.POSITIVE_INFINITY) return Number.NaN;
  if (Number.isNaN(lower) || Number.isNaN(upper)) return Number.NaN;
  const { buckets } = prepare(input);
  const total = buckets[buckets.length - 1]!.count;
  if (total === 0) return Number.NaN;
  if (lower >= upper) return 0;
  let inside = 0;
  let lo = buckets[0]!.upper > 0 ? 0 : Number.NEGATIVE_INFINITY;
  let below = 0;
  for (const b of buckets) {
    const count = b.count - below;
    const hi = b.upper;
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
      // Nothing is known about where in an unbounded bucket its observations lie: it counts whole when the
      // range reaches its infinite end too, and not at all otherwise.
      const lowOk = lo === Number.NEGATIVE_INFINITY ? lower === lo : lower <= lo || hi === Number.POSITIVE_INFINITY;
      const highOk = hi === Number.POSITIVE_INFINITY ? upper === hi : hi <= upper;
      if (lowOk && highOk) inside += count;
    } else if (hi > lo) {
      const overlap = Math.min(hi, upper) - Math.max(lo, lower);
      if (overlap > 0) inside += (count * overlap) / (hi - lo);
    } else if (lower <= lo && hi <= upper) inside += count;
    lo = hi;
    below = b.count;
  }
  return inside / total;
}

export function histogramFraction(ctx: Ctx, lower: number, upper: number, v: Sample[], vAt: number): Value {
  const out: Sample[] = [];
  const { groups, natives } = bucketGroups(ctx, v, vAt);
  for (const s of natives)
    out.push({
      labels: s.labels,
      value: nativeFraction(ctx, lower, upper, s.h!, s.labels['__name__'] ?? '', vAt),
      drop: true,
    });
  for (const g of groups) out.push({ labels: g.labels, value: bucketFraction(lower, upper, g.buckets), drop: true });
  return { type: 'vector', samples: out };
}

function nameSuffix(name: string): string {
  return name === '' ? '' : ` for metric name ${JSON.stringify(name)}`;
}

// Prometheus's HistogramQuantile: from the lower end (or from the upper end for q >= 0.5), interpolating linearly
// in custom and zero buckets and exponentially in exponential ones.
function nativeQuantile(ctx: Ctx, q: number, h: FloatHistogram, name: string, at: number): number {
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  if (h.count === 0 || Number.isNaN(q)) return Number.NaN;
  const all = iterateBuckets(h);
  const forward = Number.isNaN(h.sum) || q < 0.5;
  const order = forward ? all : [...all].reverse();
  let rank = forward ? q * h.count : (1 - q) * h.count;
  let count = 0;
  let k = 0;
  let bucket = order[0];
  for (; k < order.length; k++) {
    bucket = order[k]!;
    if (bucket.count === 0) continue;
    count += bucket.count;
    if (count >= rank) break;
  }
  k++;
  if (bucket === undefined) return Number.NaN;
  let lower = bucket.lower;
  let upper = bucket.upper;
  const custom = usesCustomBuckets(h);
  if (!custom && lower < 0 && upper > 0) {
    if (h.negativeBuckets.length === 0 && h.positiveBuckets.length > 0) lower = 0;
    else if (h.positiveBuckets.length === 0 && h.negativeBuckets.length > 0) upper = 0;
  } else if (custom) {
    if (lower === Number.NEGATIVE_INFINITY) {
      if (upper <= 0) return upper;
      lower = 0;
    } else if (upper === Number.POSITIVE_INFINITY) return lower;
  }
  if (count > h.count) count = h.count;
  if (count < rank) {
    if (Number.isNaN(h.sum)) {
      annotate(ctx, 'info', `input to histogram_quantile has NaN observations, result is NaN${nameSuffix(name)}`, at);
      return Number.NaN;
    }
    return upper;
  }
  if (forward) rank -= count - bucket.count;
  else rank = count - rank;
  if (Number.isNaN(h.sum)) {
    for (; k < order.length; k++) count += order[k]!.count;
    if (count < h.count)
      annotate(
        ctx,
        'info',
        `input to histogram_quantile has NaN observations, result is skewed higher${nameSuffix(name)}`,
        at,
      );
  }
  const fraction = rank / bucket.count;
  if (custom || (lower <= 0 && upper >= 0)) return lower + (upper - lower) * fraction;
  const logLower = Math.log2(Math.abs(lower));
  const logUpper = Math.log2(Math.abs(upper));
  if (lower > 0) return 2 ** (logLower + (logUpper - logLower) * fraction);
  return -(2 ** (logUpper + (logLower - logUpper) * (1 - fraction)));
}

function fractionBelow(lower: number, upper: number, v: number, linear: boolean): number {
  if (linear) return (v - lower) / (upper - lower);
  const logLower = Math.log2(Math.abs(lower));
  const logUpper = Math.log2(Math.abs(upper));
  const logV = Math.log2(Math.abs(v));
  if (v > 0) return (logV - logLower) / (logUpper - logLower);
  return 1 - (logV - logUpper) / (logLower - logUpper);
}

// Prometheus's HistogramFraction: the observations between the bounds, interpolated inside the edge buckets.
function nativeFraction(ctx: Ctx, lo: number, hi: number, h: FloatHistogram, name: string, at: number): number {
  if (h.count === 0 || Number.isNaN(lo) || Number.isNaN(hi)) return Number.NaN;
  if (lo >= hi) return 0;
  const custom = usesCustomBuckets(h);
  const all = iterateBuckets(h);
  let count = 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  let k = 0;
  for (; k < all.length; k++) {
    const b = { ...all[k]! };
    count += b.count;
    let zero = false;
    if (b.lower <= 0 && b.upper >= 0) {
      zero = true;
      if (h.negativeBuckets.length === 0 && h.positiveBuckets.length > 0) b.lower = 0;
      else if (h.positiveBuckets.length === 0 && h.negativeBuckets.length > 0) b.upper = 0;
    }
    const linear = (v: number): number =>
      b.lower === Number.NEGATIVE_INFINITY ? b.count : rank + b.count * fractionBelow(b.lower, b.upper, v, true);
    const at2 = (v: number): number =>
      custom || zero ? linear(v) : rank + b.count * fractionBelow(b.lower, b.upper, v, false);
    if (!lowerSet && b.lower >= lo) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && b.lower >= hi) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && b.lower < lo && b.upper > lo) {
      lowerRank = at2(lo);
      lowerSet = true;
    }
    if (!upperSet && b.lower < hi && b.upper > hi) {
      upperRank = at2(hi);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank += b.count;
  }
  if (Number.isNaN(h.sum)) {
    for (k++; k < all.length; k++) count += all[k]!.count;
    if (count < h.count)
      annotate(
        ctx,
        'info',
        `input to histogram_fraction has NaN observations, which are excluded from all fractions${nameSuffix(name)}`,
        at,
      );
  } else count = h.count;
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return (upperRank - lowerRank) / h.count;
}

// Prometheus's histogramVariance: each bucket's observations at its mean (arithmetic for custom and zero
// buckets, geometric for exponential ones).
function nativeVariance(h: FloatHistogram): number {
  const mean = h.sum / h.count;
  let variance = 0;
  let c = 0;
  const custom = usesCustomBuckets(h);
  for (const b of iterateBuckets(h)) {
    if (b.count === 0) continue;
    let val: number;
    if (custom) val = (b.upper + b.lower) / 2;
    else if (b.lower <= 0 && b.upper >= 0) val = 0;
    else {
      val = Math.sqrt(b.upper * b.lower);
      if (b.upper < 0) val = -val;
    }
    const delta = val - mean;
    [variance, c] = kahanSumInc(b.count * delta * delta, variance, c);
  }
  return (variance + c) / h.count;
}

const NATIVE: Readonly<Record<string, (h: FloatHistogram) => number>> = {
  histogram_count: (h) => h.count,
  histogram_sum: (h) => h.sum,
  histogram_avg: (h) => h.sum / h.count,
  histogram_stdvar: nativeVariance,
  histogram_stddev: (h) => Math.sqrt(nativeVariance(h)),
};

/** histogram_count/sum/avg/stddev/stdvar: one float per native histogram; float samples are left out. */
export function nativeHistogramFunction(f: string, v: Sample[]): Value {
  const fn = NATIVE[f]!;
  const out: Sample[] = [];
  for (const s of v) if (s.h !== undefined) out.push({ labels: s.labels, value: fn(s.h), drop: true });
  return { type: 'vector', samples: out };
}
