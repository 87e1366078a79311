// Classic (bucket series with an `le` label) histogram functions: histogram_quantile and histogram_fraction.
import { type Labels, labelsKey } from './labels.ts';
import { annotate, assertUniqueLabelsets, type Ctx, formatFloat, type Sample, type Value } from './values.ts';

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
function bucketGroups(ctx: Ctx, v: Sample[], at: number): BucketGroup[] {
  const groups = new Map<string, BucketGroup>();
  for (const s of v) {
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
  return [...groups.values()];
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
  for (const g of bucketGroups(ctx, v, vAt)) {
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
  for (const g of bucketGroups(ctx, v, vAt))
    out.push({ labels: g.labels, value: bucketFraction(lower, upper, g.buckets), drop: true });
  return { type: 'vector', samples: out };
}
