import { ObsError } from '@obs/core';
import type { Aggregate, Binary, Call, Expr, Matcher, VectorMatching, VectorSelector } from './ast.ts';
import { dropName, type Labels, labelsKey } from './labels.ts';
import { anchoredRegex } from './parse.ts';

/** One series as a sample source returns it: the samples with `minT < t <= maxT`, oldest first. */
export interface SelectedSeries {
  readonly labels: Labels;
  readonly t: ArrayLike<number>;
  readonly v: ArrayLike<number>;
  /** Non-zero where the sample is a staleness marker; absent when none is. */
  readonly stale?: ArrayLike<number> | undefined;
}

/** Anything that can answer a selector: the sample store, or a test's own data. */
export interface SampleSource {
  /** The series whose labels satisfy every matcher, with their samples in `(minT, maxT]` (ms). */
  select(matchers: readonly Matcher[], minT: number, maxT: number): Iterable<SelectedSeries>;
}

/** One element of an instant vector. */
export interface VectorSample {
  readonly labels: Labels;
  readonly value: number;
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
}

interface Sample extends VectorSample {
  /** The sample's own timestamp, for timestamp() of a selector. */
  readonly t?: number | undefined;
}
interface Series {
  readonly labels: Labels;
  readonly t: number[];
  readonly v: number[];
}
type Value =
  | { readonly type: 'scalar'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'vector'; readonly samples: Sample[] }
  | { readonly type: 'matrix'; readonly series: Series[] };

function evalError(message: string): ObsError {
  return new ObsError('OBS_ERR_ALERTS_EVAL', `[@obs/alerts] ${message}`);
}

/**
 * Evaluates an expression at instant `timeMs` with Prometheus 3.x semantics.
 * @throws ObsError `OBS_ERR_ALERTS_EVAL` when Prometheus would fail the query (duplicate series in a match).
 */
export function evaluate(expr: Expr, source: SampleSource, timeMs: number, options: EvaluateOptions = {}): PromValue {
  const ctx: Ctx = { source, t: timeMs, lookback: options.lookbackMs ?? 300_000 };
  const v = ev(ctx, expr);
  if (v.type === 'matrix') throw evalError('a range vector cannot be the result of an expression');
  if (v.type === 'vector')
    return { type: 'vector', samples: v.samples.map((s) => ({ labels: s.labels, value: s.value })) };
  return v;
}

interface Ctx {
  readonly source: SampleSource;
  readonly t: number;
  readonly lookback: number;
}

function selectInstant(ctx: Ctx, sel: VectorSelector): Sample[] {
  const at = ctx.t - sel.offsetMs;
  const out: Sample[] = [];
  for (const s of ctx.source.select(sel.matchers, at - ctx.lookback, at)) {
    const n = s.t.length;
    if (n === 0) continue;
    if (s.stale?.[n - 1]) continue;
    out.push({ labels: s.labels, value: s.v[n - 1]!, t: s.t[n - 1]! });
  }
  return out;
}

function selectRange(ctx: Ctx, sel: VectorSelector, rangeMs: number): Series[] {
  const end = ctx.t - sel.offsetMs;
  const out: Series[] = [];
  for (const s of ctx.source.select(sel.matchers, end - rangeMs, end)) {
    const t: number[] = [];
    const v: number[] = [];
    for (let i = 0; i < s.t.length; i++) {
      if (s.stale?.[i]) continue;
      t.push(s.t[i]!);
      v.push(s.v[i]!);
    }
    if (t.length > 0) out.push({ labels: s.labels, t, v });
  }
  return out;
}

function ev(ctx: Ctx, e: Expr): Value {
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
      return { type: 'matrix', series: selectRange(ctx, e.selector, e.rangeMs) };
    case 'unary': {
      const v = ev(ctx, e.expr);
      if (e.op === '+') return v;
      if (v.type === 'scalar') return { type: 'scalar', value: -v.value };
      if (v.type === 'vector')
        return { type: 'vector', samples: v.samples.map((s) => ({ labels: dropName(s.labels), value: -s.value })) };
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

function vectorOf(v: Value): Sample[] {
  if (v.type !== 'vector') throw evalError(`expected an instant vector, got ${v.type}`);
  return v.samples;
}
function scalarOf(v: Value): number {
  if (v.type !== 'scalar') throw evalError(`expected a scalar, got ${v.type}`);
  return v.value;
}
function stringOf(v: Value): string {
  if (v.type !== 'string') throw evalError(`expected a string, got ${v.type}`);
  return v.value;
}

// --- functions -----------------------------------------------------------------------------------

function kahanSum(values: readonly number[]): number {
  let sum = 0;
  let c = 0;
  for (const x of values) {
    const t = sum + x;
    if (Math.abs(sum) >= Math.abs(x)) c += sum - t + x;
    else c += x - t + sum;
    sum = t;
  }
  // Adding an infinite compensation would turn an infinite sum into NaN.
  return Number.isFinite(c) ? sum + c : sum;
}

// Prometheus' extrapolatedRate (promql/functions.go), float samples only.
function extrapolatedRate(
  s: Series,
  rangeStart: number,
  rangeEnd: number,
  rangeMs: number,
  isCounter: boolean,
  isRate: boolean,
): number | undefined {
  const n = s.t.length;
  if (n < 2) return undefined;
  const firstT = s.t[0]!;
  const lastT = s.t[n - 1]!;
  const firstV = s.v[0]!;
  let result = s.v[n - 1]! - firstV;
  if (isCounter) {
    let prev = firstV;
    for (let i = 1; i < n; i++) {
      const cur = s.v[i]!;
      if (cur < prev) result += prev;
      prev = cur;
    }
  }
  let durationToStart = (firstT - rangeStart) / 1000;
  let durationToEnd = (rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageBetween = sampledInterval / (n - 1);
  const threshold = averageBetween * 1.1;
  if (durationToStart >= threshold) durationToStart = averageBetween / 2;
  if (isCounter && result > 0 && firstV >= 0) {
    // A counter cannot go below zero: do not extrapolate past the point where it would have been 0.
    const durationToZero = sampledInterval * (firstV / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= threshold) durationToEnd = averageBetween / 2;
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= rangeMs / 1000;
  return result * factor;
}

function instantValue(s: Series, isRate: boolean): number | undefined {
  const n = s.t.length;
  if (n < 2) return undefined;
  const last = s.v[n - 1]!;
  const prev = s.v[n - 2]!;
  let result = isRate && last < prev ? last : last - prev;
  const interval = s.t[n - 1]! - s.t[n - 2]!;
  if (interval === 0) return undefined;
  if (isRate) result /= interval / 1000;
  return result;
}

type OverTime = (s: Series) => number | undefined;
const OVER_TIME: Readonly<Record<string, OverTime>> = {
  avg_over_time: (s) => kahanSum(s.v) / s.v.length,
  sum_over_time: (s) => kahanSum(s.v),
  count_over_time: (s) => s.v.length,
  present_over_time: () => 1,
  last_over_time: (s) => s.v[s.v.length - 1],
  min_over_time: (s) => s.v.reduce((m, x) => (x < m || Number.isNaN(m) ? x : m)),
  max_over_time: (s) => s.v.reduce((m, x) => (x > m || Number.isNaN(m) ? x : m)),
  resets: (s) => {
    let n = 0;
    for (let i = 1; i < s.v.length; i++) if (s.v[i]! < s.v[i - 1]!) n++;
    return n;
  },
  changes: (s) => {
    let n = 0;
    for (let i = 1; i < s.v.length; i++) {
      const a = s.v[i]!;
      const b = s.v[i - 1]!;
      if (!(a === b || (Number.isNaN(a) && Number.isNaN(b)))) n++;
    }
    return n;
  },
  irate: (s) => instantValue(s, true),
  idelta: (s) => instantValue(s, false),
};

function unparen(e: Expr | undefined): Expr | undefined {
  let node = e;
  while (node?.kind === 'paren') node = node.expr;
  return node;
}

function rangeArg(e: Call): { sel: VectorSelector; rangeMs: number } {
  const arg = unparen(e.args[0]);
  if (arg?.kind !== 'matrix') throw evalError(`${e.func}() needs a range selector`);
  return { sel: arg.selector, rangeMs: arg.rangeMs };
}

function mapVector(v: Sample[], f: (x: number) => number): Value {
  return { type: 'vector', samples: v.map((s) => ({ labels: dropName(s.labels), value: f(s.value) })) };
}

function goPow(x: number, y: number): number {
  // Go's math.Pow differs from ** in these cases.
  if (y === 0 || x === 1) return 1;
  if (x === -1 && !Number.isFinite(y) && !Number.isNaN(y)) return 1;
  return x ** y;
}

function absentLabels(arg: Expr): Labels {
  const e = unparen(arg)!;
  const sel = e.kind === 'matrix' ? e.selector : e.kind === 'vector' ? e : undefined;
  if (sel === undefined) return {};
  const out: Record<string, string> = {};
  const seen = new Set<string>();
  for (const m of sel.matchers) {
    if (m.name === '__name__') continue;
    if (m.op === '=' && !seen.has(m.name)) out[m.name] = m.value;
    else delete out[m.name];
    seen.add(m.name);
  }
  return out;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

// Go's regexp.Expand: $1, ${1}, $name, ${name}, $$; a name takes every following [A-Za-z0-9_].
function expand(template: string, match: RegExpExecArray): string {
  return template.replace(/\$(\$|\{([A-Za-z0-9_]*)\}|([A-Za-z0-9_]+))/g, (all, _x, braced?: string, bare?: string) => {
    if (all === '$$') return '$';
    const name = braced ?? bare ?? '';
    if (name === '') return '';
    if (/^\d+$/.test(name)) return match[Number(name)] ?? '';
    return match.groups?.[name] ?? '';
  });
}

function call(ctx: Ctx, e: Call): Value {
  const f = e.func;
  if (f === 'time') return { type: 'scalar', value: ctx.t / 1000 };
  if (f === 'rate' || f === 'increase' || f === 'delta') {
    const { sel, rangeMs } = rangeArg(e);
    const end = ctx.t - sel.offsetMs;
    const out: Sample[] = [];
    for (const s of selectRange(ctx, sel, rangeMs)) {
      const v = extrapolatedRate(s, end - rangeMs, end, rangeMs, f !== 'delta', f === 'rate');
      if (v !== undefined) out.push({ labels: dropName(s.labels), value: v });
    }
    return { type: 'vector', samples: out };
  }
  const overTime = OVER_TIME[f];
  if (overTime !== undefined) {
    const { sel, rangeMs } = rangeArg(e);
    const out: Sample[] = [];
    for (const s of selectRange(ctx, sel, rangeMs)) {
      const v = overTime(s);
      if (v !== undefined) out.push({ labels: f === 'last_over_time' ? s.labels : dropName(s.labels), value: v });
    }
    return { type: 'vector', samples: out };
  }
  if (f === 'absent_over_time') {
    const { sel, rangeMs } = rangeArg(e);
    const present = selectRange(ctx, sel, rangeMs).length > 0;
    return { type: 'vector', samples: present ? [] : [{ labels: absentLabels(e.args[0]!), value: 1 }] };
  }
  const args = e.args.map((a) => ev(ctx, a));
  switch (f) {
    case 'absent':
      return {
        type: 'vector',
        samples: vectorOf(args[0]!).length > 0 ? [] : [{ labels: absentLabels(e.args[0]!), value: 1 }],
      };
    case 'abs':
      return mapVector(vectorOf(args[0]!), Math.abs);
    case 'ceil':
      return mapVector(vectorOf(args[0]!), Math.ceil);
    case 'floor':
      return mapVector(vectorOf(args[0]!), Math.floor);
    case 'round': {
      const inverse = 1 / (args[1] === undefined ? 1 : scalarOf(args[1]));
      return mapVector(vectorOf(args[0]!), (x) => Math.floor(x * inverse + 0.5) / inverse);
    }
    case 'clamp': {
      const min = scalarOf(args[1]!);
      const max = scalarOf(args[2]!);
      if (max < min) return { type: 'vector', samples: [] };
      return mapVector(vectorOf(args[0]!), (x) => Math.max(min, Math.min(max, x)));
    }
    case 'clamp_min': {
      const min = scalarOf(args[1]!);
      return mapVector(vectorOf(args[0]!), (x) => Math.max(min, x));
    }
    case 'clamp_max': {
      const max = scalarOf(args[1]!);
      return mapVector(vectorOf(args[0]!), (x) => Math.min(max, x));
    }
    case 'timestamp':
      return {
        type: 'vector',
        samples: vectorOf(args[0]!).map((s) => ({ labels: dropName(s.labels), value: (s.t ?? ctx.t) / 1000 })),
      };
    case 'vector':
      return { type: 'vector', samples: [{ labels: {}, value: scalarOf(args[0]!) }] };
    case 'scalar': {
      const v = vectorOf(args[0]!);
      return { type: 'scalar', value: v.length === 1 ? v[0]!.value : Number.NaN };
    }
    case 'label_replace':
      return labelReplace(
        vectorOf(args[0]!),
        stringOf(args[1]!),
        stringOf(args[2]!),
        stringOf(args[3]!),
        stringOf(args[4]!),
      );
    case 'histogram_quantile':
      return histogramQuantile(scalarOf(args[0]!), vectorOf(args[1]!));
    default:
      throw evalError(`function ${f}() is not implemented`);
  }
}

function labelReplace(v: Sample[], dst: string, replacement: string, src: string, regexText: string): Value {
  let regex: RegExp;
  try {
    regex = anchoredRegex(regexText);
  } catch {
    throw evalError(`invalid regular expression in label_replace(): ${regexText}`);
  }
  if (!LABEL_NAME.test(dst)) throw evalError(`invalid destination label name in label_replace(): ${dst}`);
  const out: Sample[] = [];
  const seen = new Set<string>();
  for (const s of v) {
    const m = regex.exec(s.labels[src] ?? '');
    let labels = s.labels;
    if (m !== null) {
      const value = expand(replacement, m);
      const next: Record<string, string> = { ...s.labels };
      if (value === '') delete next[dst];
      else next[dst] = value;
      labels = next;
    }
    const key = labelsKey(labels);
    if (seen.has(key)) throw evalError('vector cannot contain metrics with the same labelset');
    seen.add(key);
    out.push({ labels, value: s.value, t: s.t });
  }
  return { type: 'vector', samples: out };
}

interface Bucket {
  upper: number;
  count: number;
}

// Prometheus' bucketQuantile for classic histograms (promql/quantile.go).
function bucketQuantile(q: number, input: Bucket[]): number {
  if (Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  input.sort((a, b) => a.upper - b.upper);
  if (input.length === 0 || input[input.length - 1]!.upper !== Number.POSITIVE_INFINITY) return Number.NaN;
  const buckets: Bucket[] = [];
  for (const b of input) {
    const last = buckets[buckets.length - 1];
    if (last !== undefined && last.upper === b.upper) last.count += b.count;
    else buckets.push({ ...b });
  }
  let max = Number.NEGATIVE_INFINITY;
  for (const b of buckets) {
    if (b.count < max) b.count = max;
    else max = b.count;
  }
  if (buckets.length < 2) return Number.NaN;
  const observations = buckets[buckets.length - 1]!.count;
  if (observations === 0) return Number.NaN;
  let rank = q * observations;
  let b = buckets.findIndex((x) => x.count >= rank);
  if (b === -1) b = buckets.length - 1;
  if (b === buckets.length - 1) return buckets[buckets.length - 2]!.upper;
  if (b === 0 && buckets[0]!.upper <= 0) return buckets[0]!.upper;
  let start = 0;
  const end = buckets[b]!.upper;
  let count = buckets[b]!.count;
  if (b > 0) {
    start = buckets[b - 1]!.upper;
    count -= buckets[b - 1]!.count;
    rank -= buckets[b - 1]!.count;
  }
  return start + (end - start) * (rank / count);
}

function histogramQuantile(q: number, v: Sample[]): Value {
  const groups = new Map<string, { labels: Labels; buckets: Bucket[] }>();
  for (const s of v) {
    const le = s.labels['le'];
    if (le === undefined) continue;
    const upper = le === '+Inf' || le === 'Inf' ? Number.POSITIVE_INFINITY : Number(le);
    if (Number.isNaN(upper) && le !== 'NaN') continue;
    const { le: _, ...rest } = dropName(s.labels);
    const key = labelsKey(rest);
    let g = groups.get(key);
    if (g === undefined) {
      g = { labels: rest, buckets: [] };
      groups.set(key, g);
    }
    g.buckets.push({ upper, count: s.value });
  }
  return {
    type: 'vector',
    samples: [...groups.values()].map((g) => ({ labels: g.labels, value: bucketQuantile(q, g.buckets) })),
  };
}

// --- aggregation ---------------------------------------------------------------------------------

function groupLabels(labels: Labels, e: Aggregate): Labels {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(labels)) {
    if (e.without ? k !== '__name__' && !e.grouping.includes(k) : e.grouping.includes(k)) out[k] = val;
  }
  return out;
}

function quantile(q: number, values: number[]): number {
  if (values.length === 0) return Number.NaN;
  if (Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  // Go sorts NaN first.
  const sorted = [...values].sort((a, b) => (Number.isNaN(a) ? -1 : Number.isNaN(b) ? 1 : a - b));
  const n = sorted.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return sorted[lower]! * (1 - weight) + sorted[upper]! * weight;
}

function aggregate(ctx: Ctx, e: Aggregate): Value {
  const param = e.param === undefined ? undefined : scalarOf(ev(ctx, e.param));
  const input = vectorOf(ev(ctx, e.expr));
  const groups = new Map<string, { labels: Labels; samples: Sample[] }>();
  for (const s of input) {
    const labels = groupLabels(s.labels, e);
    const key = labelsKey(labels);
    let g = groups.get(key);
    if (g === undefined) {
      g = { labels, samples: [] };
      groups.set(key, g);
    }
    g.samples.push(s);
  }
  const out: Sample[] = [];
  if (e.op === 'topk' || e.op === 'bottomk') {
    const k = Math.trunc(param ?? 0);
    if (!(k >= 1)) return { type: 'vector', samples: [] };
    const sign = e.op === 'topk' ? -1 : 1;
    for (const g of groups.values()) {
      const sorted = [...g.samples].sort((a, b) =>
        Number.isNaN(a.value) ? 1 : Number.isNaN(b.value) ? -1 : sign * (a.value - b.value),
      );
      for (const s of sorted.slice(0, k)) out.push({ labels: s.labels, value: s.value });
    }
    return { type: 'vector', samples: out };
  }
  for (const g of groups.values()) {
    const values = g.samples.map((s) => s.value);
    let value: number;
    switch (e.op) {
      case 'sum':
        value = kahanSum(values);
        break;
      case 'avg':
        value = kahanSum(values) / values.length;
        break;
      case 'count':
        value = values.length;
        break;
      case 'min':
        value = values.reduce((m, x) => (x < m || Number.isNaN(m) ? x : m));
        break;
      case 'max':
        value = values.reduce((m, x) => (x > m || Number.isNaN(m) ? x : m));
        break;
      case 'quantile':
        value = quantile(param ?? Number.NaN, values);
        break;
    }
    out.push({ labels: g.labels, value });
  }
  return { type: 'vector', samples: out };
}

// --- binary operators ----------------------------------------------------------------------------

const COMPARISON = new Set(['==', '!=', '>', '<', '>=', '<=']);

function arith(op: string, l: number, r: number): number {
  switch (op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      return l / r;
    case '%':
      return l % r;
    default:
      return goPow(l, r);
  }
}
function compare(op: string, l: number, r: number): boolean {
  switch (op) {
    case '==':
      return l === r;
    case '!=':
      return l !== r;
    case '>':
      return l > r;
    case '<':
      return l < r;
    case '>=':
      return l >= r;
    default:
      return l <= r;
  }
}

/** [value, keep] for one pair of operands, as Prometheus' vectorElemBinop. */
function elem(op: string, l: number, r: number): [number, boolean] {
  if (COMPARISON.has(op)) return [l, compare(op, l, r)];
  return [arith(op, l, r), true];
}

function signature(labels: Labels, m: VectorMatching): string {
  return m.on ? labelsKey(labels, m.labels) : labelsKey(labels, undefined, ['__name__', ...m.labels]);
}

function resultLabels(l: Labels, r: Labels, e: Binary): Labels {
  const m = e.matching;
  let out: Record<string, string> = { ...l };
  if (!COMPARISON.has(e.op) || e.bool) delete out['__name__'];
  if (m.card === 'one-to-one') {
    if (m.on) {
      const kept: Record<string, string> = {};
      for (const name of m.labels) if (out[name] !== undefined) kept[name] = out[name];
      out = kept;
    } else for (const name of m.labels) delete out[name];
  }
  for (const name of m.include) {
    const v = r[name];
    if (v !== undefined && v !== '') out[name] = v;
    else delete out[name];
  }
  return out;
}

function binary(ctx: Ctx, e: Binary): Value {
  const lv = ev(ctx, e.lhs);
  const rv = ev(ctx, e.rhs);
  const cmp = COMPARISON.has(e.op);
  if (lv.type === 'scalar' && rv.type === 'scalar') {
    const [value, keep] = elem(e.op, lv.value, rv.value);
    return { type: 'scalar', value: cmp ? (keep ? 1 : 0) : value };
  }
  if (lv.type === 'scalar' || rv.type === 'scalar') {
    const swap = lv.type === 'scalar';
    const scalar = swap ? scalarOf(lv) : scalarOf(rv);
    const vec = vectorOf(swap ? rv : lv);
    const out: Sample[] = [];
    for (const s of vec) {
      const [l, r] = swap ? [scalar, s.value] : [s.value, scalar];
      let [value, keep] = elem(e.op, l, r);
      if (cmp && swap) value = r;
      if (e.bool) {
        value = keep ? 1 : 0;
        keep = true;
      }
      if (!keep) continue;
      out.push({ labels: !cmp || e.bool ? dropName(s.labels) : s.labels, value });
    }
    return { type: 'vector', samples: out };
  }
  const lhs = vectorOf(lv);
  const rhs = vectorOf(rv);
  const m = e.matching;
  if (e.op === 'and' || e.op === 'or' || e.op === 'unless') {
    const rightSigs = new Set(rhs.map((s) => signature(s.labels, m)));
    if (e.op === 'and') return { type: 'vector', samples: lhs.filter((s) => rightSigs.has(signature(s.labels, m))) };
    if (e.op === 'unless')
      return { type: 'vector', samples: lhs.filter((s) => !rightSigs.has(signature(s.labels, m))) };
    const leftSigs = new Set(lhs.map((s) => signature(s.labels, m)));
    return { type: 'vector', samples: [...lhs, ...rhs.filter((s) => !leftSigs.has(signature(s.labels, m)))] };
  }
  const [many, one] = m.card === 'one-to-many' ? [rhs, lhs] : [lhs, rhs];
  const oneSide = new Map<string, Sample>();
  for (const s of one) {
    const sig = signature(s.labels, m);
    if (oneSide.has(sig))
      throw evalError(
        `found duplicate series for the match group ${sig.replaceAll('\xff', ' ')} on the ${m.card === 'one-to-many' ? 'left' : 'right'} hand-side of the operation; many-to-many matching not allowed: matching labels must be unique on one side`,
      );
    oneSide.set(sig, s);
  }
  const matched = new Set<string>();
  const out: Sample[] = [];
  for (const s of many) {
    const sig = signature(s.labels, m);
    const other = oneSide.get(sig);
    if (other === undefined) continue;
    const [l, r] = m.card === 'one-to-many' ? [other.value, s.value] : [s.value, other.value];
    let [value, keep] = elem(e.op, l, r);
    if (e.bool) {
      value = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    const labels = resultLabels(s.labels, other.labels, e);
    const key = m.card === 'one-to-one' ? sig : labelsKey(labels);
    if (matched.has(key))
      throw evalError(
        m.card === 'one-to-one'
          ? 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)'
          : 'multiple matches for labels: grouping labels must ensure unique matches',
      );
    matched.add(key);
    out.push({ labels, value });
  }
  return { type: 'vector', samples: out };
}

/** The longest span of history (range plus offset plus lookback) that an expression reads, in ms. */
export function historyNeeded(e: Expr, lookbackMs = 300_000): number {
  switch (e.kind) {
    case 'vector':
      return Math.max(0, e.offsetMs) + lookbackMs;
    case 'matrix':
      return Math.max(0, e.selector.offsetMs) + e.rangeMs;
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
