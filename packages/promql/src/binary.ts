// Binary operators: arithmetic, comparisons and set operators, with Prometheus' vector matching.
import type { Binary, VectorMatching } from './ast.ts';
import { type Labels, labelsKey } from './labels.ts';
import {
  addHistograms,
  compactHistogram,
  divHistogram,
  type FloatHistogram,
  histogramsEqual,
  mulHistogram,
} from './native-histogram.ts';
import {
  type Annotation,
  annotate,
  type Ctx,
  evalError,
  type Sample,
  scalarOf,
  type Value,
  vectorOf,
} from './values.ts';

const COMPARISON: ReadonlySet<string> = new Set(['==', '!=', '>', '<', '>=', '<=']);

function goPow(x: number, y: number): number {
  // Go's math.Pow differs from ** in these cases.
  if (y === 0 || x === 1) return 1;
  if (x === -1 && !Number.isFinite(y) && !Number.isNaN(y)) return 1;
  return x ** y;
}

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
    case 'atan2':
      return Math.atan2(l, r);
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

/** The outcome of an operation with a native histogram on either side. */
interface HistogramElem {
  readonly h: FloatHistogram | undefined;
  readonly keep: boolean;
  /** A note for the query; with `drop`, the pair gives no sample. */
  readonly note?: readonly [Annotation['level'], string] | undefined;
  readonly drop?: boolean;
}

function incompatible(op: string, l: string, r: string): HistogramElem {
  return {
    h: undefined,
    keep: false,
    drop: true,
    note: ['info', `incompatible sample types encountered for binary operator ${JSON.stringify(op)}: ${l} ${op} ${r}`],
  };
}

// Prometheus's vectorElemBinop when a histogram is involved: scaling, adding, subtracting and comparing for
// equality are defined; anything else drops the pair with an info note.
function histogramElem(
  op: string,
  lf: number,
  rf: number,
  lh: FloatHistogram | undefined,
  rh: FloatHistogram | undefined,
): HistogramElem {
  if (lh === undefined) {
    if (op === '*') return { h: compactHistogram(mulHistogram(rh!, lf)), keep: true };
    return incompatible(op, 'float', 'histogram');
  }
  if (rh === undefined) {
    if (op === '*') return { h: compactHistogram(mulHistogram(lh, rf)), keep: true };
    if (op === '/') return { h: compactHistogram(divHistogram(lh, rf)), keep: true };
    return incompatible(op, 'histogram', 'float');
  }
  if (op === '+' || op === '-') {
    const name = op === '+' ? 'addition' : 'subtraction';
    const r = addHistograms(lh, rh, op === '-');
    if (r.h === undefined)
      return {
        h: undefined,
        keep: false,
        drop: true,
        note: ['warning', `incompatible bucket layout encountered for binary operator ${op}`],
      };
    if (op === '-') r.h.counterResetHint = 'gauge';
    if (r.collision)
      return {
        h: undefined,
        keep: false,
        drop: true,
        note: ['warning', `conflicting counter resets during histogram ${name}`],
      };
    return {
      h: compactHistogram(r.h),
      keep: true,
      note: r.reconciled ? ['info', `mismatched custom buckets were reconciled during ${name}`] : undefined,
    };
  }
  if (op === '==') return { h: lh, keep: histogramsEqual(lh, rh) };
  if (op === '!=') return { h: lh, keep: !histogramsEqual(lh, rh) };
  return incompatible(op, 'histogram', 'histogram');
}

function signature(labels: Labels, m: VectorMatching): string {
  return m.on ? labelsKey(labels, m.labels) : labelsKey(labels, undefined, ['__name__', ...m.labels]);
}

/** Go's labels.String(): `{a="1", b="2"}`. */
function formatLabels(labels: Labels): string {
  return `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(', ')}}`;
}

function matchedLabels(labels: Labels, m: VectorMatching): Labels {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels))
    if (m.on ? m.labels.includes(k) : k !== '__name__' && !m.labels.includes(k)) out[k] = v;
  return out;
}

function resultLabels(l: Labels, r: Labels, e: Binary): Labels {
  const m = e.matching;
  let out: Record<string, string> = { ...l };
  // Arithmetic drops the name at once, even with delayed name removal (Prometheus' resultMetric).
  if (!COMPARISON.has(e.op)) delete out['__name__'];
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

function vectorScalar(ctx: Ctx, e: Binary, vec: Sample[], scalar: number, swap: boolean): Value {
  const cmp = COMPARISON.has(e.op);
  const out: Sample[] = [];
  let note: HistogramElem['note'];
  for (const s of vec) {
    if (s.h !== undefined) {
      const r = swap ? histogramElem(e.op, scalar, 0, undefined, s.h) : histogramElem(e.op, 0, scalar, s.h, undefined);
      if (r.drop === true) {
        note = r.note;
        continue;
      }
      if (e.bool) out.push({ labels: s.labels, value: r.keep ? 1 : 0, drop: true });
      else if (r.keep) out.push({ labels: s.labels, value: 0, h: r.h, drop: !cmp ? true : s.drop });
      continue;
    }
    const [l, r] = swap ? [scalar, s.value] : [s.value, scalar];
    let [value, keep] = elem(e.op, l, r);
    if (cmp && swap) value = r;
    if (e.bool) {
      value = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    out.push({ labels: s.labels, value, drop: !cmp || e.bool ? true : s.drop });
  }
  if (note !== undefined) annotate(ctx, note[0], note[1], e.from);
  return { type: 'vector', samples: out };
}

function setOp(e: Binary, lhs: Sample[], rhs: Sample[]): Value {
  const m = e.matching;
  if (e.op === 'and') {
    if (lhs.length === 0 || rhs.length === 0) return { type: 'vector', samples: [] };
    const rightSigs = new Set(rhs.map((s) => signature(s.labels, m)));
    return { type: 'vector', samples: lhs.filter((s) => rightSigs.has(signature(s.labels, m))) };
  }
  if (e.op === 'unless') {
    if (lhs.length === 0 || rhs.length === 0) return { type: 'vector', samples: lhs };
    const rightSigs = new Set(rhs.map((s) => signature(s.labels, m)));
    return { type: 'vector', samples: lhs.filter((s) => !rightSigs.has(signature(s.labels, m))) };
  }
  if (lhs.length === 0) return { type: 'vector', samples: rhs };
  if (rhs.length === 0) return { type: 'vector', samples: lhs };
  const leftSigs = new Set(lhs.map((s) => signature(s.labels, m)));
  return { type: 'vector', samples: [...lhs, ...rhs.filter((s) => !leftSigs.has(signature(s.labels, m)))] };
}

function vectorVector(ctx: Ctx, e: Binary, lhs: Sample[], rhs: Sample[]): Value {
  const m = e.matching;
  if (lhs.length === 0 || rhs.length === 0) return { type: 'vector', samples: [] };
  const [many, one] = m.card === 'one-to-many' ? [rhs, lhs] : [lhs, rhs];
  const oneSide = new Map<string, Sample>();
  for (const s of one) {
    const sig = signature(s.labels, m);
    const dup = oneSide.get(sig);
    if (dup !== undefined)
      throw evalError(
        `found duplicate series for the match group ${formatLabels(matchedLabels(s.labels, m))} on the ${m.card === 'one-to-many' ? 'left' : 'right'} hand-side of the operation: [${formatLabels(dup.labels)}, ${formatLabels(s.labels)}];many-to-many matching not allowed: matching labels must be unique on one side`,
      );
    oneSide.set(sig, s);
  }
  const matched = new Map<string, Set<string> | undefined>();
  const out: Sample[] = [];
  let note: HistogramElem['note'];
  for (const s of many) {
    const sig = signature(s.labels, m);
    const other = oneSide.get(sig);
    if (other === undefined) continue;
    const [l, r] = m.card === 'one-to-many' ? [other, s] : [s, other];
    let value: number;
    let keep: boolean;
    let h: FloatHistogram | undefined;
    if (l.h === undefined && r.h === undefined) [value, keep] = elem(e.op, l.value, r.value);
    else {
      const res = histogramElem(e.op, l.value, r.value, l.h, r.h);
      if (res.note !== undefined) note = res.note;
      if (res.drop === true) continue;
      value = 0;
      keep = res.keep;
      h = res.h;
    }
    if (e.bool) {
      value = keep ? 1 : 0;
      keep = true;
      h = undefined;
    }
    // Matching errors are found even among the pairs a comparison filters out.
    const labels = resultLabels(s.labels, other.labels, e);
    if (m.card === 'one-to-one') {
      if (matched.has(sig))
        throw evalError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
      matched.set(sig, undefined);
    } else {
      let inserted = matched.get(sig);
      if (inserted === undefined) {
        inserted = new Set();
        matched.set(sig, inserted);
      }
      const key = labelsKey(labels);
      if (inserted.has(key)) throw evalError('multiple matches for labels: grouping labels must ensure unique matches');
      inserted.add(key);
    }
    if (!keep) continue;
    const drop = e.bool || (COMPARISON.has(e.op) && s.drop === true);
    out.push(h === undefined ? { labels, value, drop } : { labels, value, drop, h });
  }
  if (note !== undefined) annotate(ctx, note[0], note[1], e.from);
  return { type: 'vector', samples: out };
}

export function binary(ctx: Ctx, e: Binary): Value {
  const lv = ctx.ev(ctx, e.lhs);
  const rv = ctx.ev(ctx, e.rhs);
  if (lv.type === 'scalar' && rv.type === 'scalar') {
    const [value, keep] = elem(e.op, lv.value, rv.value);
    return { type: 'scalar', value: COMPARISON.has(e.op) ? (keep ? 1 : 0) : value };
  }
  if (lv.type === 'scalar') return vectorScalar(ctx, e, vectorOf(rv), lv.value, true);
  if (rv.type === 'scalar') return vectorScalar(ctx, e, vectorOf(lv), scalarOf(rv), false);
  const lhs = vectorOf(lv);
  const rhs = vectorOf(rv);
  if (e.op === 'and' || e.op === 'or' || e.op === 'unless') return setOp(e, lhs, rhs);
  return vectorVector(ctx, e, lhs, rhs);
}
