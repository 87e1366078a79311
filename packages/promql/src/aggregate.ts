// Aggregation operators (sum, avg, topk, quantile, count_values, limitk, …) with by/without grouping.
import type { Aggregate } from './ast.ts';
import { goFloat } from './format.ts';
import { type Labels, labelsKey } from './labels.ts';
import {
  addHistograms,
  compactHistogram,
  divHistogram,
  type FloatHistogram,
  histogramOverflows,
  histogramString,
  type KahanSum,
  kahanAddHistograms,
  kahanResult,
  mulHistogram,
} from './native-histogram.ts';
import { goQuote, validLabelName } from './parse.ts';
import {
  annotate,
  type Ctx,
  evalError,
  formatFloat,
  kahanSumInc,
  type Sample,
  scalarOf,
  stringOf,
  type Value,
  vectorOf,
} from './values.ts';
import { xxh64 } from './xxhash.ts';

interface Group {
  readonly labels: Labels;
  readonly samples: Sample[];
  drop: boolean;
  /** Whether any sample is a native histogram. */
  histograms: boolean;
}

function groupLabels(labels: Labels, e: Aggregate): Labels {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(labels)) {
    if (e.without ? k !== '__name__' && !e.grouping.includes(k) : e.grouping.includes(k)) out[k] = val;
  }
  return out;
}

/** Kahan-compensated sum, as Prometheus sums floats (kahanSumInc inlined: this is the hot loop of sum()). */
export function kahanSum(values: ArrayLike<number>): number {
  let sum = 0;
  let c = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    const t = sum + x;
    if (t === Number.POSITIVE_INFINITY || t === Number.NEGATIVE_INFINITY) c = 0;
    else if (Math.abs(sum) >= Math.abs(x)) c += sum - t + x;
    else c += x - t + sum;
    sum = t;
  }
  return Number.isFinite(sum) ? sum + c : sum;
}

/** The mean as Prometheus computes it: a compensated sum, switching to an incremental mean on overflow. */
export function mean(values: ArrayLike<number>): number {
  const n = values.length;
  const direct = kahanSum(values);
  if (Number.isFinite(direct) || Number.isNaN(direct)) return direct / n;
  // The running sum overflowed somewhere: redo it, switching to an incremental mean from that point.
  let sum = values[0]!;
  let c = 0;
  let avg = 0;
  let incremental = false;
  for (let i = 1; i < n; i++) {
    const count = i + 1;
    const x = values[i]!;
    if (!incremental) {
      const [next, nextC] = kahanSumInc(x, sum, c);
      if (Number.isFinite(next) || Number.isNaN(next)) {
        sum = next;
        c = nextC;
        continue;
      }
      incremental = true;
      avg = sum / (count - 1);
      c /= count - 1;
    }
    const q = (count - 1) / count;
    [avg, c] = kahanSumInc(x / count, q * avg, q * c);
  }
  if (incremental) return avg + c;
  return sum / n + c / n;
}

/** Population variance, Welford's method with compensated sums (Prometheus' stdvar_over_time). */
export function variance(values: ArrayLike<number>): number {
  let count = 0;
  let m = 0;
  let cMean = 0;
  let aux = 0;
  let cAux = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    count++;
    const delta = x - (m + cMean);
    [m, cMean] = kahanSumInc(delta / count, m, cMean);
    [aux, cAux] = kahanSumInc(delta * (x - (m + cMean)), aux, cAux);
  }
  return (aux + cAux) / count;
}

/** Prometheus' quantile(): NaN sorts first; the result interpolates between the two nearest ranks. */
export function quantile(q: number, values: ArrayLike<number>): number {
  if (values.length === 0 || Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  const sorted = Array.from(values).sort((a, b) =>
    Number.isNaN(a) ? (Number.isNaN(b) ? 0 : -1) : Number.isNaN(b) ? 1 : a - b,
  );
  const n = sorted.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return sorted[lower]! * (1 - weight) + sorted[upper]! * weight;
}

const encoder = new TextEncoder();

// Where a series falls in [0, 1) for limit_ratio(): Prometheus' labels.Hash() (XXH64 of each name and value,
// sorted by name, each followed by a 0xff byte) over the largest uint64.
function ratioOffset(labels: Labels): number {
  const parts: number[] = [];
  for (const name of Object.keys(labels).sort()) {
    parts.push(...encoder.encode(name), 0xff, ...encoder.encode(labels[name]!), 0xff);
  }
  // float64(math.MaxUint64) is 2^64 in Go too.
  return Number(xxh64(Uint8Array.from(parts))) / 2 ** 64;
}

// Per aggregation node, the group (labels and key) of each immutable input label set, reused at every step.
const grouped = new WeakMap<Aggregate, WeakMap<Labels, { labels: Labels; key: string }>>();

function groupOf(labels: Labels, e: Aggregate): { labels: Labels; key: string } {
  if (!Object.isFrozen(labels)) {
    const own = groupLabels(labels, e);
    return { labels: own, key: labelsKey(own) };
  }
  let byLabels = grouped.get(e);
  if (byLabels === undefined) {
    byLabels = new WeakMap();
    grouped.set(e, byLabels);
  }
  let g = byLabels.get(labels);
  if (g === undefined) {
    const own = Object.freeze(groupLabels(labels, e));
    g = { labels: own, key: labelsKey(own) };
    byLabels.set(labels, g);
  }
  return g;
}

function groups(input: Sample[], e: Aggregate): Map<string, Group> {
  const out = new Map<string, Group>();
  for (const s of input) {
    const { labels, key } = groupOf(s.labels, e);
    let g = out.get(key);
    if (g === undefined) {
      g = { labels, samples: [], drop: false, histograms: false };
      out.set(key, g);
    }
    if (s.drop === true) g.drop = true;
    if (s.h !== undefined) g.histograms = true;
    g.samples.push(s);
  }
  return out;
}

function kParam(param: number): number {
  if (Number.isNaN(param)) throw evalError('Parameter value is NaN');
  return Math.trunc(param);
}

// Order for topk (NaN last) and bottomk (NaN last too), as Prometheus' heaps compare.
function byValue(desc: boolean): (a: Sample, b: Sample) => number {
  return (a, b) => {
    if (Number.isNaN(a.value)) return Number.isNaN(b.value) ? 0 : 1;
    if (Number.isNaN(b.value)) return -1;
    return desc ? b.value - a.value : a.value - b.value;
  };
}

function selecting(ctx: Ctx, e: Aggregate, param: Value | undefined, input: Sample[]): Sample[] {
  const out: Sample[] = [];
  const all = groups(input, e);
  if (e.op === 'limit_ratio') {
    let r = scalarOf(param!);
    if (Number.isNaN(r)) throw evalError('Ratio value is NaN');
    if (r < -1 || r > 1) {
      const capped = r < -1 ? -1 : 1;
      annotate(
        ctx,
        'warning',
        `ratio value should be between -1 and 1, got ${formatFloat(r)}, capping to ${capped}`,
        e.param!.from,
      );
      r = capped;
    }
    for (const s of input) {
      const offset = ratioOffset(s.labels);
      if ((r >= 0 && offset < r) || (r < 0 && offset >= 1 + r)) out.push(s);
    }
    return out;
  }
  const k = kParam(scalarOf(param!));
  if (k < 1) return out;
  for (const g of all.values()) {
    if (e.op === 'limitk') out.push(...g.samples.slice(0, k));
    else {
      let samples = g.samples;
      if (g.histograms) {
        annotate(ctx, 'info', `ignored histogram in ${e.op} aggregation`, e.from);
        samples = samples.filter((s) => s.h === undefined);
      }
      out.push(...[...samples].sort(byValue(e.op === 'topk')).slice(0, k));
    }
  }
  return out;
}

function countValues(e: Aggregate, label: string, input: Sample[]): Value {
  if (!validLabelName(label)) throw evalError(`invalid label name ${goQuote(label)}`);
  const out = new Map<string, Sample & { value: number }>();
  for (const s of input) {
    // The value label is set before grouping, as Prometheus does: `without (label)` removes it again.
    const value = s.h === undefined ? goFloat(s.value) : histogramString(s.h);
    const labels: Record<string, string> = { ...groupLabels({ ...s.labels, [label]: value }, e) };
    if (!e.without) labels[label] = value;
    const key = labelsKey(labels);
    const g = out.get(key);
    if (g === undefined) out.set(key, { labels, value: 1 });
    else g.value++;
  }
  return { type: 'vector', samples: [...out.values()] };
}

export function aggregate(ctx: Ctx, e: Aggregate): Value {
  const param = e.param === undefined ? undefined : ctx.ev(ctx, e.param);
  const input = vectorOf(ctx.ev(ctx, e.expr));
  if (e.op === 'topk' || e.op === 'bottomk' || e.op === 'limitk' || e.op === 'limit_ratio')
    return { type: 'vector', samples: selecting(ctx, e, param, input) };
  if (e.op === 'count_values') return countValues(e, stringOf(param!), input);
  let q = Number.NaN;
  if (e.op === 'quantile') {
    q = scalarOf(param!);
    if (!(q >= 0 && q <= 1))
      annotate(ctx, 'warning', `quantile value should be between 0 and 1, got ${formatFloat(q)}`, e.param!.from);
  }
  const out: Sample[] = [];
  for (const g of groups(input, e).values()) {
    if (g.histograms && e.op !== 'count' && e.op !== 'group') {
      const h = histogramGroup(ctx, e, g);
      if (h === undefined) continue;
      if (typeof h === 'number') out.push({ labels: g.labels, value: h, drop: g.drop && '__name__' in g.labels });
      else out.push({ labels: g.labels, value: 0, h, drop: g.drop && '__name__' in g.labels });
      continue;
    }
    const values = g.samples.map((s) => s.value);
    let value: number;
    switch (e.op) {
      case 'sum':
        value = kahanSum(values);
        break;
      case 'avg':
        value = mean(values);
        break;
      case 'count':
        value = values.length;
        break;
      case 'group':
        value = 1;
        break;
      case 'min':
        value = values.reduce((m, x) => (x < m || Number.isNaN(m) ? x : m));
        break;
      case 'max':
        value = values.reduce((m, x) => (x > m || Number.isNaN(m) ? x : m));
        break;
      case 'stddev':
        value = Math.sqrt(variance(values));
        break;
      case 'stdvar':
        value = variance(values);
        break;
      default:
        value = quantile(q, values);
        break;
    }
    out.push({ labels: g.labels, value, drop: g.drop && '__name__' in g.labels });
  }
  return { type: 'vector', samples: out };
}

// sum and avg of native histograms (a group mixing them with floats gives nothing); other aggregations ignore
// histograms, with a note, and aggregate the floats.
function histogramGroup(ctx: Ctx, e: Aggregate, g: Group): FloatHistogram | number | undefined {
  const at = e.expr.from;
  if (e.op !== 'sum' && e.op !== 'avg') {
    annotate(ctx, 'info', `ignored histogram in ${e.op} aggregation`, at);
    const floats = g.samples.filter((s) => s.h === undefined).map((s) => s.value);
    if (floats.length === 0) return undefined;
    switch (e.op) {
      case 'min':
        return floats.reduce((m, x) => (x < m || Number.isNaN(m) ? x : m));
      case 'max':
        return floats.reduce((m, x) => (x > m || Number.isNaN(m) ? x : m));
      case 'stddev':
        return Math.sqrt(variance(floats));
      case 'stdvar':
        return variance(floats);
      default:
        return quantile(scalarOf(ctx.ev(ctx, e.param!)), floats);
    }
  }
  if (g.samples.some((s) => s.h === undefined)) {
    annotate(ctx, 'warning', 'encountered a mix of histograms and floats for aggregation', at);
    return undefined;
  }
  let resetSeen = false;
  let notResetSeen = false;
  let acc: KahanSum | undefined;
  let mean: FloatHistogram | undefined;
  let count = 0;
  const incompatible = (s: Sample): undefined => {
    const name = JSON.stringify(s.labels['__name__'] ?? '');
    annotate(
      ctx,
      'warning',
      `vector contains a mix of histograms with exponential and custom buckets schemas for metric name ${name}`,
      at,
    );
    return undefined;
  };
  const reconciled = (yes: boolean): void => {
    if (yes) annotate(ctx, 'info', 'mismatched custom buckets were reconciled during aggregation', at);
  };
  for (const s of g.samples) {
    const h = s.h!;
    count++;
    if (h.counterResetHint === 'reset') resetSeen = true;
    else if (h.counterResetHint === 'not_reset') notResetSeen = true;
    if (acc === undefined) {
      acc = { sum: h, c: undefined };
      continue;
    }
    if (mean === undefined) {
      const next = kahanAddHistograms(acc, h);
      if (next.sum === undefined) return incompatible(s);
      reconciled(next.reconciled);
      if (e.op !== 'avg' || !histogramOverflows(next.sum.sum)) {
        acc = next.sum;
        continue;
      }
      // The sum overflows: the mean goes on incrementally, as Prometheus does.
      mean = divHistogram(kahanResult(acc), count - 1);
    }
    const next = addHistograms(mulHistogram(mean, (count - 1) / count), divHistogram(h, count));
    if (next.h === undefined) return incompatible(s);
    reconciled(next.reconciled);
    mean = next.h;
  }
  if (resetSeen && notResetSeen)
    annotate(ctx, 'warning', 'conflicting counter resets during histogram aggregation', at);
  const total = kahanResult(acc!);
  const result = e.op === 'avg' ? (mean ?? divHistogram(total, count)) : total;
  return compactHistogram(result);
}
