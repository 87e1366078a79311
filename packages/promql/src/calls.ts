// Function calls: dispatch to range-vector functions, instant-vector math, label and date functions.
import { quantile } from './aggregate.ts';
import type { Call, Expr } from './ast.ts';
import { histogramFraction, histogramQuantile, histogramQuantiles, nativeHistogramFunction } from './histogram.ts';
import { seriesMajorStep } from './internal/series-major.ts';
import { compareLabels, type Labels } from './labels.ts';
import type { FloatHistogram } from './native-histogram.ts';
import { goQuote, validLabelName } from './parse.ts';
import { doubleExponentialSmoothing, extrapolatedRate, OVER_TIME, predictLinear } from './range-functions.ts';
import {
  histogramChanges,
  histogramRate,
  histogramResets,
  histogramSumOverTime,
  ignoredInRange,
  instantHistogramValue,
  type RangeNotes,
  seriesName,
} from './range-histograms.ts';
import { type AnchoredRegex, anchoredRegex } from './regex.ts';
import {
  annotate,
  assertUniqueLabelsets,
  type Ctx,
  evalError,
  formatFloat,
  matrixOf,
  type Sample,
  type Series,
  scalarOf,
  stringOf,
  type Value,
  vectorOf,
} from './values.ts';

const MATH: Readonly<Record<string, (x: number) => number>> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sgn: (x) => (x < 0 ? -1 : x > 0 ? 1 : x),
  acos: Math.acos,
  acosh: Math.acosh,
  asin: Math.asin,
  asinh: Math.asinh,
  atan: Math.atan,
  atanh: Math.atanh,
  cos: Math.cos,
  cosh: Math.cosh,
  sin: Math.sin,
  sinh: Math.sinh,
  tan: Math.tan,
  tanh: Math.tanh,
  deg: (x) => (x * 180) / Math.PI,
  rad: (x) => (x * Math.PI) / 180,
};

const DAYS_IN_MONTH = (d: Date): number => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
const DATE: Readonly<Record<string, (d: Date) => number>> = {
  minute: (d) => d.getUTCMinutes(),
  hour: (d) => d.getUTCHours(),
  day_of_week: (d) => d.getUTCDay(),
  day_of_month: (d) => d.getUTCDate(),
  day_of_year: (d) => Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1,
  days_in_month: DAYS_IN_MONTH,
  month: (d) => d.getUTCMonth() + 1,
  year: (d) => d.getUTCFullYear(),
};

// Native-histogram-only functions ignore float samples, so over float data their result is empty.
const NATIVE_ONLY: ReadonlySet<string> = new Set([
  'histogram_count',
  'histogram_sum',
  'histogram_avg',
  'histogram_stddev',
  'histogram_stdvar',
]);
const SORTS: ReadonlySet<string> = new Set(['sort', 'sort_desc', 'sort_by_label', 'sort_by_label_desc']);

function unparen(e: Expr | undefined): Expr | undefined {
  let node = e;
  while (node?.kind === 'paren') node = node.expr;
  return node;
}

// Float functions leave native histograms out, as Prometheus's simpleFloatFunc does.
function mapVector(v: Sample[], f: (x: number) => number): Value {
  const out: Sample[] = [];
  for (const s of v) if (s.h === undefined) out.push({ labels: s.labels, value: f(s.value), drop: true });
  return { type: 'vector', samples: out };
}

// The labels absent() reports: those of the selector's equality matchers, each given once.
function absentLabels(arg: Expr): Labels {
  const e = unparen(arg)!;
  const sel = e.kind === 'matrix' ? e.selector : e.kind === 'vector' ? e : undefined;
  if (sel === undefined) return {};
  const out: Record<string, string> = {};
  const seen = new Set<string>();
  for (const m of sel.matchers) {
    if (m.name === '__name__') continue;
    // Prometheus' label builder: the first equality matcher of a name sets it (an empty value sets nothing),
    // any other matcher of that name removes it; only an equality matcher marks the name as seen.
    if (m.op === '=' && !seen.has(m.name)) {
      if (m.value === '') delete out[m.name];
      else out[m.name] = m.value;
      seen.add(m.name);
    } else delete out[m.name];
  }
  return out;
}

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

function relabel(s: Sample, dst: string, value: string): Sample {
  const next: Record<string, string> = { ...s.labels };
  if (value === '') delete next[dst];
  else next[dst] = value;
  // Setting __name__ explicitly keeps it, whatever dropped it before (delayed name removal).
  const drop = dst === '__name__' ? false : s.drop;
  return s.h === undefined
    ? { labels: next, value: s.value, t: s.t, drop }
    : { labels: next, value: 0, t: s.t, drop, h: s.h };
}

function labelReplace(v: Sample[], dst: string, replacement: string, src: string, regexText: string): Value {
  let regex: AnchoredRegex;
  try {
    regex = anchoredRegex(regexText);
  } catch {
    throw evalError(`invalid regular expression in label_replace(): ${regexText}`);
  }
  if (!validLabelName(dst)) throw evalError(`invalid destination label name in label_replace(): ${goQuote(dst)}`);
  const out: Sample[] = [];
  for (const s of v) {
    const m = regex.exec(s.labels[src] ?? '');
    out.push(m === null ? s : relabel(s, dst, expand(replacement, m)));
  }
  assertUniqueLabelsets(out);
  return { type: 'vector', samples: out };
}

function labelJoin(v: Sample[], dst: string, sep: string, srcs: string[]): Value {
  if (!validLabelName(dst)) throw evalError(`invalid destination label name in label_join(): ${goQuote(dst)}`);
  for (const src of srcs)
    if (!validLabelName(src)) throw evalError(`invalid source label name in label_join(): ${goQuote(src)}`);
  const out = v.map((s) => relabel(s, dst, srcs.map((l) => s.labels[l] ?? '').join(sep)));
  assertUniqueLabelsets(out);
  return { type: 'vector', samples: out };
}

// Natural order: runs of digits compare as numbers.
function naturalCompare(a: string, b: string): number {
  const re = /(\d+|\D+)/g;
  const xs = a.match(re) ?? [];
  const ys = b.match(re) ?? [];
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    const x = xs[i]!;
    const y = ys[i]!;
    if (x === y) continue;
    if (/^\d/.test(x) && /^\d/.test(y)) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return xs.length - ys.length;
}

function sortBy(ctx: Ctx, e: Call, v: Sample[], args: Value[]): Value {
  if (ctx.step > 0)
    annotate(
      ctx,
      'warning',
      'sort is ineffective for range queries since results are always ordered by labels',
      e.from,
    );
  if (e.func === 'sort' || e.func === 'sort_desc') {
    const out = v.filter((s) => s.h === undefined);
    const desc = e.func === 'sort_desc';
    out.sort((a, b) => {
      if (Number.isNaN(a.value)) return Number.isNaN(b.value) ? 0 : 1;
      if (Number.isNaN(b.value)) return -1;
      return desc ? b.value - a.value : a.value - b.value;
    });
    return { type: 'vector', samples: out };
  }
  const out = [...v];
  const names = args.slice(1).map(stringOf);
  const sign = e.func === 'sort_by_label_desc' ? -1 : 1;
  out.sort((a, b) => {
    for (const name of names) {
      const x = a.labels[name] ?? '';
      const y = b.labels[name] ?? '';
      if (x !== y) return sign * naturalCompare(x, y);
    }
    return sign * compareLabels(a.labels, b.labels);
  });
  return { type: 'vector', samples: out };
}

function nonCounterInfo(ctx: Ctx, s: Series, at: number): void {
  const name = s.labels['__name__'];
  if (
    name === undefined ||
    name.endsWith('_total') ||
    name.endsWith('_sum') ||
    name.endsWith('_count') ||
    name.endsWith('_bucket')
  )
    return;
  annotate(
    ctx,
    'info',
    `metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${JSON.stringify(name)}`,
    at,
  );
}

// Functions that read floats only: over a series that also has histograms they ignore them, with a note.
const FLOATS_ONLY: ReadonlySet<string> = new Set([
  'min_over_time',
  'max_over_time',
  'ts_of_min_over_time',
  'ts_of_max_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'mad_over_time',
]);
// Functions that need two floats; a single float next to histograms gets the note too.
const TWO_FLOATS: ReadonlySet<string> = new Set(['deriv', 'predict_linear', 'double_exponential_smoothing']);

// A range function over a series that holds native histograms (mixed with floats or not).
function overHistograms(
  ctx: Ctx,
  e: Call,
  m: Value & { type: 'matrix' },
  s: Series,
  notesAt: number,
): number | FloatHistogram | undefined {
  const f = e.func;
  const hs = s.histograms!;
  const n: RangeNotes = { ctx, at: notesAt, name: seriesName(s) };
  const floats = s.t.length;
  const all = floats + hs.t.length;
  switch (f) {
    case 'rate':
    case 'increase':
    case 'delta':
      return histogramRate(n, s, m.endMs - m.rangeMs, m.endMs, m.rangeMs, f !== 'delta', f === 'rate');
    case 'irate':
    case 'idelta':
      return instantHistogramValue(n, s, f === 'irate');
    case 'resets':
      return histogramResets(s);
    case 'changes':
      return histogramChanges(s);
    case 'count_over_time':
      return all;
    case 'present_over_time':
      return 1;
    case 'sum_over_time':
    case 'avg_over_time':
      return histogramSumOverTime(n, s, f === 'avg_over_time');
    case 'last_over_time':
      return floats > 0 && s.t[floats - 1]! > hs.t[hs.t.length - 1]! ? s.v[floats - 1]! : hs.h[hs.h.length - 1]!;
    case 'first_over_time':
      return floats > 0 && s.t[0]! < hs.t[0]! ? s.v[0]! : hs.h[0]!;
    case 'ts_of_last_over_time':
      return Math.max(floats > 0 ? s.t[floats - 1]! : 0, hs.t[hs.t.length - 1]!) / 1000;
    case 'ts_of_first_over_time':
      return Math.min(floats > 0 ? s.t[0]! : Number.POSITIVE_INFINITY, hs.t[0]!) / 1000;
  }
  if (TWO_FLOATS.has(f) && floats < 2) {
    if (floats === 1) annotate(ctx, 'info', ignoredInRange(n), notesAt);
    return undefined;
  }
  if (floats === 0) return undefined;
  annotate(ctx, 'info', ignoredInRange(n), notesAt);
  const onlyFloats: Series = { labels: s.labels, t: s.t, v: s.v, drop: s.drop };
  if (f === 'quantile_over_time') return quantile(scalarOf(ctx.ev(ctx, e.args[0]!)), s.v);
  if (f === 'predict_linear') return predictLinear(onlyFloats, ctx.t, scalarOf(ctx.ev(ctx, e.args[1]!)));
  if (f === 'double_exponential_smoothing')
    return doubleExponentialSmoothing(onlyFloats, scalarOf(ctx.ev(ctx, e.args[1]!)), scalarOf(ctx.ev(ctx, e.args[2]!)));
  return FLOATS_ONLY.has(f) || f === 'deriv' ? OVER_TIME[f]!(onlyFloats) : undefined;
}

function overRange(ctx: Ctx, e: Call): Value {
  const blocked = seriesMajorStep(ctx, e, (c, s) => nonCounterInfo(c, s, e.args[0]!.from));
  if (blocked !== undefined) return { type: 'vector', samples: blocked };
  const f = e.func;
  const matrixAt = f === 'quantile_over_time' ? 1 : 0;
  const m = matrixOf(ctx.ev(ctx, e.args[matrixAt]!));
  const out: Sample[] = [];
  const keepName = f === 'last_over_time' || f === 'first_over_time';
  const push = (s: Series, value: number | undefined): void => {
    if (value !== undefined) out.push({ labels: s.labels, value, drop: keepName ? s.drop : true });
  };
  // Series with native histograms take their own path, leaving the float loops below as they were.
  let series = m.series;
  if (series.some((s) => s.histograms !== undefined)) {
    // A series with samples, histograms or not, is not absent.
    if (f === 'absent_over_time') return { type: 'vector', samples: [] };
    series = [];
    for (const s of m.series) {
      if (s.histograms === undefined) {
        series.push(s);
        continue;
      }
      const value = overHistograms(ctx, e, m, s, e.args[0]!.from);
      if (value === undefined) continue;
      if (typeof value === 'number') push(s, value);
      else out.push({ labels: s.labels, value: 0, h: value, drop: keepName ? s.drop : true });
    }
  }
  if (f === 'rate' || f === 'increase' || f === 'delta') {
    for (const s of series) {
      if (f !== 'delta' && s.t.length > 0) nonCounterInfo(ctx, s, e.args[0]!.from);
      push(s, extrapolatedRate(s, m.endMs - m.rangeMs, m.endMs, m.rangeMs, f !== 'delta', f === 'rate'));
    }
  } else if (f === 'absent_over_time') {
    if (series.length === 0) out.push({ labels: absentLabels(e.args[0]!), value: 1 });
  } else if (f === 'quantile_over_time') {
    const q = scalarOf(ctx.ev(ctx, e.args[0]!));
    if (!(q >= 0 && q <= 1))
      annotate(ctx, 'warning', `quantile value should be between 0 and 1, got ${formatFloat(q)}`, e.args[0]!.from);
    for (const s of series) push(s, quantile(q, s.v));
  } else if (f === 'predict_linear') {
    const seconds = scalarOf(ctx.ev(ctx, e.args[1]!));
    for (const s of series) push(s, predictLinear(s, ctx.t, seconds));
  } else if (f === 'double_exponential_smoothing') {
    const sf = scalarOf(ctx.ev(ctx, e.args[1]!));
    const tf = scalarOf(ctx.ev(ctx, e.args[2]!));
    for (const s of series) push(s, doubleExponentialSmoothing(s, sf, tf));
  } else {
    const fn = OVER_TIME[f]!;
    for (const s of series) push(s, fn(s));
  }
  if (series !== m.series) {
    // Back to the selection's order, which the histogram series left.
    const order = new Map(m.series.map((s, i) => [s.labels, i]));
    out.sort((a, b) => order.get(a.labels)! - order.get(b.labels)!);
  }
  return { type: 'vector', samples: out };
}

const RANGE_FUNCTIONS: ReadonlySet<string> = new Set([
  ...Object.keys(OVER_TIME),
  'rate',
  'increase',
  'delta',
  'absent_over_time',
  'quantile_over_time',
  'predict_linear',
  'double_exponential_smoothing',
]);

export function call(ctx: Ctx, e: Call): Value {
  const f = e.func;
  switch (f) {
    case 'time':
      return { type: 'scalar', value: ctx.t / 1000 };
    case 'pi':
      return { type: 'scalar', value: Math.PI };
    case 'step':
      return { type: 'scalar', value: ctx.step / 1000 };
    case 'range':
      return { type: 'scalar', value: (ctx.end - ctx.start) / 1000 };
    case 'start':
      return { type: 'scalar', value: ctx.start / 1000 };
    case 'end':
      return { type: 'scalar', value: ctx.end / 1000 };
    case 'min_of':
    case 'max_of': {
      const a = scalarOf(ctx.ev(ctx, e.args[0]!));
      const b = scalarOf(ctx.ev(ctx, e.args[1]!));
      return { type: 'scalar', value: f === 'min_of' ? Math.min(a, b) : Math.max(a, b) };
    }
  }
  if (RANGE_FUNCTIONS.has(f)) return overRange(ctx, e);
  const args = e.args.map((a) => ctx.ev(ctx, a));
  const math = MATH[f];
  if (math !== undefined) return mapVector(vectorOf(args[0]!), math);
  const date = DATE[f];
  if (date !== undefined) {
    if (args.length === 0) return { type: 'vector', samples: [{ labels: {}, value: date(new Date(ctx.t)) }] };
    return mapVector(vectorOf(args[0]!), (x) =>
      Number.isFinite(x) ? date(new Date(Math.trunc(x) * 1000)) : Number.NaN,
    );
  }
  if (NATIVE_ONLY.has(f)) return nativeHistogramFunction(f, vectorOf(args[0]!));
  if (SORTS.has(f)) return sortBy(ctx, e, vectorOf(args[0]!), args);
  switch (f) {
    case 'absent':
      return {
        type: 'vector',
        samples: vectorOf(args[0]!).length > 0 ? [] : [{ labels: absentLabels(e.args[0]!), value: 1 }],
      };
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
    case 'timestamp': {
      // Only a selector (parentheses aside) gives its samples' own times: any other expression's samples are
      // at the evaluation time, even `x or x` or `sort(x)` (Prometheus special-cases the vector selector).
      const own = unparen(e.args[0])?.kind === 'vector';
      return {
        type: 'vector',
        samples: vectorOf(args[0]!).map((s) => ({
          labels: s.labels,
          value: (own ? (s.t ?? ctx.t) : ctx.t) / 1000,
          drop: true,
        })),
      };
    }
    case 'vector':
      return { type: 'vector', samples: [{ labels: {}, value: scalarOf(args[0]!) }] };
    case 'scalar': {
      const v = vectorOf(args[0]!);
      const floats = v.filter((s) => s.h === undefined);
      return { type: 'scalar', value: floats.length === 1 ? floats[0]!.value : Number.NaN };
    }
    case 'label_replace':
      return labelReplace(
        vectorOf(args[0]!),
        stringOf(args[1]!),
        stringOf(args[2]!),
        stringOf(args[3]!),
        stringOf(args[4]!),
      );
    case 'label_join':
      return labelJoin(vectorOf(args[0]!), stringOf(args[1]!), stringOf(args[2]!), args.slice(3).map(stringOf));
    case 'histogram_quantile':
      return histogramQuantile(ctx, scalarOf(args[0]!), vectorOf(args[1]!), e.args[0]!.from, e.args[1]!.from);
    case 'histogram_quantiles':
      return histogramQuantiles(
        ctx,
        vectorOf(args[0]!),
        stringOf(args[1]!),
        args.slice(2).map(scalarOf),
        e.args.slice(2).map((a) => a.from),
        e.args[0]!.from,
      );
    case 'histogram_fraction':
      return histogramFraction(ctx, scalarOf(args[0]!), scalarOf(args[1]!), vectorOf(args[2]!), e.args[2]!.from);
    default:
      throw evalError(`function ${f}() is not implemented`);
  }
}
