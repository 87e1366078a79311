// Native (exponential) histogram buckets as client_golang keeps them (prometheus/histogram.go): the key of
// a value, the zero bucket, the bucket limit with its three strategies (reset, wider zero bucket, halved
// resolution), and the spans and deltas of the exposition. Single-threaded, so no hot/cold counts.
import { type FloatHistogram, NATIVE_BOUND_FRACTIONS, nativeBucketUpperBound } from '@obs/promql';

/** client_golang's DefNativeHistogramZeroThreshold: 2^-128. */
export const DEFAULT_ZERO_THRESHOLD: number = 2 ** -128;

/** How a histogram keeps its native buckets (client_golang's NativeHistogram* options). */
export interface NativeHistogramOptions {
  /** Largest growth factor from one bucket to the next; picks the schema (1.1 gives schema 3). @default 1.1 */
  readonly bucketFactor?: number;
  /** Populated buckets before the resolution is reduced; 0: no limit. @default 160 */
  readonly maxBuckets?: number;
  /** Values with an absolute value up to this count in the zero bucket. @default 2^-128 */
  readonly zeroThreshold?: number;
  /** How far the zero bucket may widen to stay within `maxBuckets`; at or below `zeroThreshold`: never. @default 0 */
  readonly maxZeroThreshold?: number;
  /** Reset the whole histogram (classic buckets too) when over `maxBuckets` this long after the last reset; 0: never. @default 0 */
  readonly minResetDurationMs?: number;
  /** Keep the classic buckets alongside (false: only `+Inf`, `_sum` and `_count` in text, as client_golang's native-only histograms). @default true */
  readonly classicBuckets?: boolean;
}

/** {@link NativeHistogramOptions} after validation, with the schema picked. */
export interface NativeConfig {
  readonly schema: number;
  readonly zeroThreshold: number;
  readonly maxBuckets: number;
  readonly maxZeroThreshold: number;
  readonly minResetDurationMs: number;
  readonly classicBuckets: boolean;
  /** The clock (tests replace it). */
  readonly now: () => number;
}

/** client_golang's pickSchema: the largest schema in -4..8 whose factor 2^(2^-schema) is at most `factor`. */
export function pickSchema(factor: number): number {
  const floor = Math.floor(Math.log2(Math.log2(factor)));
  if (floor <= -8) return 8;
  if (floor >= 4) return -4;
  return 0 - floor; // not -0
}

/** Checks native histogram options; returns the problems as [option, message] pairs. */
export function nativeOptionIssues(options: NativeHistogramOptions): [string, string][] {
  const issues: [string, string][] = [];
  const { bucketFactor = 1.1, maxBuckets = 160, zeroThreshold = DEFAULT_ZERO_THRESHOLD } = options;
  const { maxZeroThreshold = 0, minResetDurationMs = 0 } = options;
  if (typeof bucketFactor !== 'number' || !(bucketFactor > 1) || !Number.isFinite(bucketFactor))
    issues.push(['bucketFactor', 'must be a finite number > 1']);
  if (!Number.isInteger(maxBuckets) || maxBuckets < 0) issues.push(['maxBuckets', 'must be an integer >= 0']);
  if (typeof zeroThreshold !== 'number' || !(zeroThreshold >= 0) || !Number.isFinite(zeroThreshold))
    issues.push(['zeroThreshold', 'must be a finite number >= 0']);
  if (typeof maxZeroThreshold !== 'number' || !(maxZeroThreshold >= 0) || !Number.isFinite(maxZeroThreshold))
    issues.push(['maxZeroThreshold', 'must be a finite number >= 0']);
  if (!Number.isInteger(minResetDurationMs) || minResetDurationMs < 0)
    issues.push(['minResetDurationMs', 'must be an integer number of milliseconds >= 0']);
  if (options.classicBuckets !== undefined && typeof options.classicBuckets !== 'boolean')
    issues.push(['classicBuckets', 'must be a boolean']);
  return issues;
}

/** Resolves validated options. */
export function nativeConfig(options: NativeHistogramOptions, now: () => number = Date.now): NativeConfig {
  return Object.freeze({
    schema: pickSchema(options.bucketFactor ?? 1.1),
    zeroThreshold: options.zeroThreshold ?? DEFAULT_ZERO_THRESHOLD,
    maxBuckets: options.maxBuckets ?? 160,
    maxZeroThreshold: options.maxZeroThreshold ?? 0,
    minResetDurationMs: options.minResetDurationMs ?? 0,
    classicBuckets: options.classicBuckets ?? true,
    now,
  });
}

/** The buckets of one sign: `counts[i]` is the count of the bucket with key `offset + i`. */
export interface BucketRow {
  offset: number;
  counts: Float64Array;
}

/** The native part of one histogram series. */
export interface NativeState {
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  readonly positive: BucketRow;
  readonly negative: BucketRow;
  /** Buckets with a count (client_golang's nativeHistogramBucketsNumber). */
  populated: number;
  lastReset: number;
  /** When the scheduled reset undoes a widened zero bucket or a reduced resolution; Infinity: none scheduled. */
  resetAt: number;
}

const EMPTY = new Float64Array(0);

export function createNativeState(config: NativeConfig): NativeState {
  return {
    schema: config.schema,
    zeroThreshold: config.zeroThreshold,
    zeroCount: 0,
    positive: { offset: 0, counts: EMPTY },
    negative: { offset: 0, counts: EMPTY },
    populated: 0,
    // Read only when a reset is configured: Date.now() costs more than an observation.
    lastReset: config.minResetDurationMs > 0 ? config.now() : 0,
    resetAt: Number.POSITIVE_INFINITY,
  };
}

/** Back to the configured schema and zero threshold, with no counts. */
export function clearNativeState(state: NativeState, config: NativeConfig): void {
  state.schema = config.schema;
  state.zeroThreshold = config.zeroThreshold;
  state.zeroCount = 0;
  state.positive.offset = 0;
  state.positive.counts = EMPTY;
  state.negative.offset = 0;
  state.negative.counts = EMPTY;
  state.populated = 0;
  state.resetAt = Number.POSITIVE_INFINITY;
}

// math.Frexp through the bits of one float64: the exponent field, and the fraction with its exponent
// replaced by 2^-1.
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HI = LITTLE ? 1 : 0;
const LO = LITTLE ? 0 : 1;
const TWO_64 = 2 ** 64;

// Per schema > 0: the bounds' mantissas (a fraction in [0.5, 1) compares as its 52 mantissa bits, so the
// search needs no float rebuilt from bits), and for each of 1,024 cells of the fraction (its top 10 mantissa
// bits) the first bound at or above the cell's start. The narrowest bucket (schema 8) spans 2.7 cells, so no
// cell holds two bounds and one comparison finishes sort.SearchFloat64s.
interface SchemaTable {
  readonly mantissas: Float64Array;
  readonly cells: Uint16Array;
}

function mantissa(frac: number): number {
  F64[0] = frac;
  return (U32[HI]! & 0x000fffff) * 2 ** 32 + U32[LO]!;
}

const TABLES: readonly SchemaTable[] = NATIVE_BOUND_FRACTIONS.map((bounds) => {
  const mantissas = Float64Array.from(bounds, mantissa);
  const cells = new Uint16Array(1024);
  let i = 0;
  for (let c = 0; c < 1024; c++) {
    while (i < bounds.length && mantissas[i]! < c * 2 ** 42) i++;
    cells[c] = i;
  }
  return { mantissas, cells };
});

/** The bucket key of `value` (> 0) in `schema`, as client_golang computes it (+Inf one past MaxFloat64's). */
export function bucketKey(value: number, schema: number): number {
  // Not recursive, so that it inlines into observe.
  const inf = value === Number.POSITIVE_INFINITY ? 1 : 0;
  F64[0] = inf === 1 ? Number.MAX_VALUE : value;
  let hi = U32[HI]!;
  let lo = U32[LO]!;
  let exp = (hi >>> 20) - 1022;
  if (exp === -1022) {
    // Subnormal: scale into the normal range first.
    F64[0] = value * TWO_64;
    hi = U32[HI]!;
    lo = U32[LO]!;
    exp = (hi >>> 20) - 1022 - 64;
  }
  const high = hi & 0x000fffff;
  if (schema > 0) {
    const table = TABLES[schema]!;
    const mantissas = table.mantissas;
    let i = table.cells[high >>> 10]!;
    if (i < mantissas.length && high * 4294967296 + lo > mantissas[i]!) i++;
    return i + (exp - 1) * mantissas.length + inf;
  }
  // frac == 0.5 exactly when the mantissa is zero (a power of two).
  const key = high === 0 && lo === 0 ? exp - 1 : exp;
  const shift = -schema;
  return ((key + (1 << shift) - 1) >> shift) + inf;
}

/** Adds `by` to bucket `key`; returns whether the bucket was empty before. */
export function addToRow(row: BucketRow, key: number, by: number): boolean {
  const i = key - row.offset;
  const counts = row.counts;
  if (i >= 0 && i < counts.length) {
    const before = counts[i]!;
    counts[i] = before + by;
    return before === 0;
  }
  grow(row, key);
  row.counts[key - row.offset] = by;
  return true;
}

// Dense rows: a key outside the row widens it, with room on the side it grew (values drift slowly).
function grow(row: BucketRow, key: number): void {
  const old = row.counts;
  if (old.length === 0) {
    row.offset = key - 4;
    row.counts = new Float64Array(16);
    return;
  }
  const slack = Math.max(8, old.length >> 1);
  const lo = key < row.offset ? key - slack : row.offset;
  const hi = key >= row.offset + old.length ? key + 1 + slack : row.offset + old.length;
  const counts = new Float64Array(hi - lo);
  counts.set(old, row.offset - lo);
  row.offset = lo;
  row.counts = counts;
}

/** Counts `value` (not NaN) in the native buckets; returns whether a bucket was populated by it. */
export function observeNative(state: NativeState, value: number): boolean {
  if (value > state.zeroThreshold) return addToRow(state.positive, bucketKey(value, state.schema), 1);
  if (value < -state.zeroThreshold) return addToRow(state.negative, bucketKey(-value, state.schema), 1);
  state.zeroCount++;
  return false;
}

function firstKey(row: BucketRow): number {
  const counts = row.counts;
  for (let i = 0; i < counts.length; i++) if (counts[i] !== 0) return row.offset + i;
  return Number.POSITIVE_INFINITY;
}

/** client_golang's maybeWidenZeroBucket: merges the bucket(s) closest to zero into the zero bucket. */
export function widenZeroBucket(state: NativeState, config: NativeConfig): boolean {
  if (state.zeroThreshold >= config.maxZeroThreshold) return false;
  const smallest = Math.min(firstKey(state.positive), firstKey(state.negative));
  if (smallest === Number.POSITIVE_INFINITY) return false;
  const threshold = nativeBucketUpperBound(smallest, state.schema);
  if (threshold > config.maxZeroThreshold) return false;
  state.zeroThreshold = threshold;
  for (const row of [state.positive, state.negative]) {
    const i = smallest - row.offset;
    if (i >= 0 && i < row.counts.length && row.counts[i] !== 0) {
      state.zeroCount += row.counts[i]!;
      row.counts[i] = 0;
      state.populated--;
    }
  }
  return true;
}

/** client_golang's doubleBucketWidth: schema minus one, each pair of buckets merged (not below -4). */
export function halveResolution(state: NativeState): void {
  if (state.schema === -4) return;
  state.schema--;
  state.populated = 0;
  for (const row of [state.positive, state.negative]) {
    const { offset, counts } = row;
    row.offset = 0;
    row.counts = EMPTY;
    for (let i = 0; i < counts.length; i++) {
      const n = counts[i]!;
      // The bucket k lies within the wider bucket ceil(k/2).
      if (n !== 0 && addToRow(row, (offset + i + 1) >> 1, n)) state.populated++;
    }
  }
}

/** A run of buckets: the gap to the previous run (or the first key), and how many. */
export interface Span {
  readonly offset: number;
  length: number;
}

/**
 * client_golang's makeBuckets: spans and count deltas of the populated buckets (deltas run on across spans);
 * gaps of one or two empty buckets are written as zero counts rather than a new span.
 */
export function spansAndDeltas(row: BucketRow): { spans: Span[]; deltas: number[] } {
  const { spans, buckets } = spansAndCounts(row);
  let previous = 0;
  const deltas = buckets.map((count) => {
    const delta = count - previous;
    previous = count;
    return delta;
  });
  return { spans, deltas };
}

/** The key of a series' label set, whatever the order of its labels (`le` left out): natives are summed by it. */
export function nativeKey(labels: Readonly<Record<string, string | number>>): string {
  return JSON.stringify(
    Object.keys(labels)
      .filter((k) => k !== 'le')
      .sort()
      .map((k) => [k, `${labels[k]}`]),
  );
}

/** A native histogram's buckets as plain data (what a cluster worker sends the primary). */
export interface NativeSnapshot {
  readonly schema: number;
  readonly zeroThreshold: number;
  readonly zeroCount: number;
  readonly positive: { readonly offset: number; readonly counts: readonly number[] };
  readonly negative: { readonly offset: number; readonly counts: readonly number[] };
}

function rowSnapshot(row: BucketRow): { offset: number; counts: number[] } {
  const counts = row.counts;
  let from = 0;
  let to = counts.length;
  while (from < to && counts[from] === 0) from++;
  while (to > from && counts[to - 1] === 0) to--;
  return { offset: row.offset + from, counts: Array.from(counts.subarray(from, to)) };
}

export function snapshotNative(state: NativeState): NativeSnapshot {
  return {
    schema: state.schema,
    zeroThreshold: state.zeroThreshold,
    zeroCount: state.zeroCount,
    positive: rowSnapshot(state.positive),
    negative: rowSnapshot(state.negative),
  };
}

/** The native fields the exposition writes. */
export interface NativeBuckets {
  readonly schema: number;
  readonly zeroThreshold: number;
  readonly zeroCount: number;
  readonly positive: BucketRow;
  readonly negative: BucketRow;
}

/**
 * The sum of native histograms, as Prometheus adds them: at the lowest schema of them (buckets merged) and
 * the widest zero bucket (buckets at or below it merged into it, widened to a bucket it cuts through).
 */
export function sumNative(list: readonly NativeSnapshot[]): NativeBuckets {
  const schema = Math.min(...list.map((h) => h.schema));
  let zeroThreshold = Math.max(...list.map((h) => h.zeroThreshold));
  let zeroCount = 0;
  const positive: BucketRow = { offset: 0, counts: EMPTY };
  const negative: BucketRow = { offset: 0, counts: EMPTY };
  for (const h of list) {
    zeroCount += h.zeroCount;
    const factor = 2 ** (h.schema - schema);
    for (const [from, to] of [
      [h.positive, positive],
      [h.negative, negative],
    ] as const)
      for (let i = 0; i < from.counts.length; i++) {
        const n = from.counts[i]!;
        // Bucket k lies within the wider bucket ceil(k / factor).
        if (n !== 0) addToRow(to, Math.ceil((from.offset + i) / factor), n);
      }
  }
  // Buckets whose lower bound lies below the zero threshold go into the zero bucket; one that it cuts
  // through widens the threshold to its upper bound.
  for (;;) {
    const key = Math.min(firstKey(positive), firstKey(negative));
    if (key === Number.POSITIVE_INFINITY || nativeBucketUpperBound(key - 1, schema) >= zeroThreshold) break;
    zeroThreshold = Math.max(zeroThreshold, nativeBucketUpperBound(key, schema));
    for (const row of [positive, negative]) {
      const i = key - row.offset;
      if (i >= 0 && i < row.counts.length) {
        zeroCount += row.counts[i]!;
        row.counts[i] = 0;
      }
    }
  }
  return { schema, zeroThreshold, zeroCount, positive, negative };
}

/** Spans and absolute counts of a row's populated buckets, split where client_golang splits them (gaps of more than two buckets). */
function spansAndCounts(row: BucketRow): { spans: Span[]; buckets: number[] } {
  const spans: Span[] = [];
  const buckets: number[] = [];
  const counts = row.counts;
  let next = 0;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i]!;
    if (count === 0) continue;
    const key = row.offset + i;
    const gap = key - next;
    if (spans.length === 0 || gap > 2) spans.push({ offset: gap, length: 0 });
    else
      for (let j = 0; j < gap; j++) {
        spans[spans.length - 1]!.length++;
        buckets.push(0);
      }
    spans[spans.length - 1]!.length++;
    buckets.push(count);
    next = key + 1;
  }
  return { spans, buckets };
}

/** A series' native buckets as a PromQL histogram sample (the embedded store keeps them beside the classic series). */
export function toFloatHistogram(state: NativeState, count: number, sum: number): FloatHistogram {
  const positive = spansAndCounts(state.positive);
  const negative = spansAndCounts(state.negative);
  return {
    schema: state.schema,
    zeroThreshold: state.zeroThreshold,
    zeroCount: state.zeroCount,
    count,
    sum,
    positiveSpans: positive.spans,
    positiveBuckets: positive.buckets,
    negativeSpans: negative.spans,
    negativeBuckets: negative.buckets,
    customValues: [],
    counterResetHint: 'unknown',
  };
}
