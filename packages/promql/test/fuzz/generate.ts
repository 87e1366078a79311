// The differential fuzzer's seeded generator: a synthetic data set in promtool's series notation, and random
// PromQL expressions over it that avoid, by construction, every documented difference between Prometheus 2.42
// (Debian's promtool) and 3.x (our semantics). See the package README, "Differential fuzzing".
//
// Time layout: one sample a minute from 0 to 30m; every evaluation at k·60s + 30s. A window's lower edge
// (t - offset - range, the lookback's t - 5m, a subquery's end - range) must never fall on a sample (3.x windows
// are left-open, 2.42's closed), so each place tracks its phase (the time mod 60s: 30s outside subqueries, 0
// inside them, whose steps are whole minutes) and picks offsets and ranges that keep every edge at :30.

/** A seeded PRNG (mulberry32). */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const chance = (r: Rand, p: number): boolean => r() < p;

/** Samples of the data set: one a minute, from 0 to 30m. */
export const SAMPLES = 31;
export const INTERVAL_MS = 60_000;

/** The series of one seed's data set, in promtool's notation (`g{i="0",k="a"} 1 2.5 _ stale`). */
export function dataset(seed: number): string[] {
  const r = createRandom(seed * 7919 + 1);
  const lines: string[] = [];
  // g: finite gauges, no value used twice (topk/bottomk never meet a tie, even with a gap's older sample).
  const gLabels = ['{i="0",k="a"}', '{i="1",k="b"}', '{i="2",k="a"}', '{i="3",k="b",job="x"}'];
  const g: string[][] = gLabels.map(() => []);
  const used = new Set<number>();
  for (let s = 0; s < SAMPLES; s++) {
    for (const col of g) {
      let v: number;
      do v = Math.round((r() * 40 - 20) * 4) / 4;
      while (used.has(v));
      used.add(v);
      col.push(String(v));
    }
  }
  for (let s = 0; s < SAMPLES; s++) if (chance(r, 0.3)) g[3]![s] = '_';
  g[2]![5 + Math.floor(r() * 20)] = 'stale';
  gLabels.forEach((l, i) => {
    lines.push(`g${l} ${g[i]!.join(' ')}`);
  });
  // c: counters, negative all along (so rate's extrapolation never stops at zero: 2.51 changed that rule),
  // with resets. The first two share g's label sets, so `{__name__=~"g|c"}` collides once names go.
  for (const l of ['{i="0",k="a"}', '{i="1",k="b"}', '{i="2",k="a",job="x"}']) {
    const vs: string[] = [];
    let v = -1000 - Math.round(r() * 400) / 4;
    for (let s = 0; s < SAMPLES; s++) {
      if (chance(r, 0.08)) v -= 200 + Math.round(r() * 200);
      else v += Math.round(r() * 20) / 4;
      vs.push(chance(r, 0.05) ? '_' : String(v));
    }
    lines.push(`c${l} ${vs.join(' ')}`);
  }
  // n: special values.
  const special = ['NaN', 'Inf', '-Inf', '0', '-1', '1', '0.5', '2', '-2.5'];
  for (const l of ['{i="0",k="a"}', '{i="1",k="c"}'])
    lines.push(`n${l} ${Array.from({ length: SAMPLES }, () => pick(r, special)).join(' ')}`);
  // f: series notation with steps that are not exact in binary (expanded by repeated addition).
  lines.push('f{i="0",k="b"} 0+0.1x30');
  lines.push('f{i="1",k="a"} 3-0.3x30');
  return lines;
}

/** A generated expression: text parts and sub-expressions, so that it can be shrunk. */
export interface GenNode {
  readonly kind: 'vector' | 'scalar' | 'matrix';
  /** The evaluation time mod 60s where the node is evaluated: 30000 outside subqueries, 0 inside. */
  readonly phase: number;
  /** A position that demands exactly this kind of node (a plain selector): never replaced by shrinking. */
  readonly fixed?: boolean;
  readonly parts: ReadonlyArray<string | GenNode>;
}

/** The text of a generated expression. */
export function render(n: GenNode): string {
  return n.parts.map((p) => (typeof p === 'string' ? p : render(p))).join('');
}

const FINITE = ['g', 'c', 'f'];
const MATH = [
  'abs',
  'ceil',
  'floor',
  'exp',
  'sqrt',
  'ln',
  'log2',
  'log10',
  'sgn',
  'acos',
  'asin',
  'atan',
  'cos',
  'sin',
  'tan',
  'cosh',
  'sinh',
  'tanh',
  'asinh',
  'acosh',
  'atanh',
  'deg',
  'rad',
];
const DATE = ['minute', 'hour', 'day_of_week', 'day_of_month', 'day_of_year', 'days_in_month', 'month', 'year'];
// Range functions as Prometheus 2.42 has them, less the ones 3.x changed: rate/increase only over the
// negative counters; the *_over_time sums and deviations only over finite series.
const OVER_FINITE = [
  'delta',
  'idelta',
  'irate',
  'deriv',
  'resets',
  'changes',
  'sum_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'min_over_time',
  'max_over_time',
];
const OVER_ANY = ['count_over_time', 'last_over_time', 'present_over_time', 'absent_over_time'];
// No avg/avg_over_time: 2.42's incremental mean is off by an ulp where 3.x's is exact, and ceil() or a
// comparison can turn that into a different answer.
const AGG = ['sum', 'min', 'max', 'count', 'group'];
const LABELS = ['i', 'k', 'job'];
// atan2 kept the metric name before 2.47: it only joins scalars here.
const ARITH = ['+', '-', '*', '/', '%', '^'];
const CMP = ['==', '!=', '>', '<', '>=', '<='];
const NUMBERS = ['0', '1', '2', '-1', '0.5', '3', '-2.5', '10', '0.25', '1e3', 'Inf', '-Inf', 'NaN'];

const n = (kind: GenNode['kind'], phase: number, parts: Array<string | GenNode>, fixed?: boolean): GenNode =>
  fixed === true ? { kind, phase, parts, fixed } : { kind, phase, parts };

function matchers(r: Rand): string {
  const options = ['k="a"', 'k!="b"', 'i=~"0|1"', 'i!~"2"', 'job=""', 'job="x"', 'k=~"a|c"', 'k="nope"', 'i="1"'];
  const roll = r();
  if (roll < 0.3) return '';
  if (roll < 0.8) return `{${pick(r, options)}}`;
  return `{${pick(r, options)},${pick(r, options)}}`;
}

// Modifiers of a selector or subquery and the phase they leave its time in.
function timeModifiers(r: Rand, phase: number): { text: string; q: number } {
  const roll = r();
  // No `@` inside a subquery: 2.42 evaluates a step-invariant expression there once, not at every step.
  if (roll < 0.14 && phase === 0) return { text: '', q: phase };
  if (roll < 0.1) return { text: ` @ ${(3 + Math.floor(r() * 26)) * 60 + 30}`, q: 30_000 };
  if (roll < 0.14) return { text: pick(r, [' @ end()', ' @ start()']), q: 30_000 };
  if (roll < 0.3) {
    const whole = pick(r, ['1m', '2m', '5m', '-1m', '10m']);
    return { text: ` offset ${whole}`, q: phase };
  }
  if (roll < 0.4) {
    const half = pick(r, ['30s', '90s', '-30s']);
    return { text: ` offset ${half}`, q: (phase + 30_000) % 60_000 };
  }
  return { text: '', q: phase };
}

// An instant selector: its time must be at :30, so that the lookback's edge (t - 5m) is off the samples.
function selector(r: Rand, phase: number, metrics: readonly string[], fixed?: boolean): GenNode {
  let mods = timeModifiers(r, phase);
  while (mods.q !== 30_000) mods = timeModifiers(r, phase);
  const metric = pick(r, metrics);
  const text =
    metric === '*' ? `{__name__=~"g|c"${matchers(r).replace(/^\{/, ',').replace(/\}$/, '')}}` : metric + matchers(r);
  return n('vector', phase, [text + mods.text], fixed);
}

function range(r: Rand, q: number): string {
  return q === 30_000 ? pick(r, ['1m', '2m', '3m', '5m', '10m']) : pick(r, ['90s', '150s', '4m30s']);
}

function matrixSelector(r: Rand, phase: number, metrics: readonly string[]): GenNode {
  const mods = timeModifiers(r, phase);
  const metric = pick(r, metrics);
  return n('matrix', phase, [`${metric}${matchers(r)}[${range(r, mods.q)}]${mods.text}`]);
}

// A subquery: steps of whole minutes, so its inner phase is 0; its range keeps end - range at :30.
function subquery(r: Rand, depth: number, phase: number): GenNode {
  const mods = timeModifiers(r, phase);
  const inner = vector(r, depth - 1, 0);
  const step = pick(r, ['1m', '2m', '']);
  // A range no shorter than the step: 2.42 evaluates the step-invariant part of a subquery with no steps
  // at all (and may fail there), 3.x returns nothing.
  let rangeText = range(r, mods.q);
  while (step === '2m' && ['1m', '90s'].includes(rangeText)) rangeText = range(r, mods.q);
  return n('matrix', phase, ['(', inner, `)[${rangeText}:${step}]${mods.text}`]);
}

function grouping(r: Rand): string {
  const roll = r();
  if (roll < 0.35) return '';
  const labels = LABELS.filter(() => chance(r, 0.5));
  return `${roll < 0.75 ? 'by' : 'without'} (${labels.join(', ')})`;
}

function matching(r: Rand, group: boolean): string {
  const roll = r();
  if (roll < 0.4) return '';
  const on = chance(r, 0.5);
  const labels = LABELS.filter(() => chance(r, 0.4));
  let out = ` ${on ? 'on' : 'ignoring'}(${labels.join(', ')})`;
  if (group && chance(r, 0.3)) out += ` ${pick(r, ['group_left', 'group_right'])}(${pick(r, ['', 'job', 'k', 'i'])})`;
  return out;
}

function operand(r: Rand, e: GenNode): GenNode {
  // Binary operands are parenthesised, except (sometimes) arithmetic inside arithmetic: precedence, offset and
  // unary minus binding are what that exercises; both engines read the same text.
  const text = render(e);
  const bare = /^[\w:{"]/.test(text) && !/\s(and|or|unless|==|!=|>=|<=|>|<)\s/.test(text);
  if (e.parts.length === 1 || (bare && chance(r, 0.35))) return e;
  return n(e.kind, e.phase, ['(', e, ')']);
}

// Go's math library and V8's differ in the last bit of exp, pow, the trigonometric functions...; 2.42 sums
// without compensation. Where a value becomes a label (count_values), only exact arithmetic may produce it.
const INEXACT =
  /\b(exp|ln|log2|log10|a?sinh?|a?cosh?|a?tanh?|acos|asin|atan2?|avg|stddev|stdvar|quantile|rate|increase|delta|deriv|predict_linear|irate|idelta|sum_over_time|avg_over_time|quantile_over_time|pi)\b|\^|\bf\b|\bf\{|\bsum\b|__name__/;

function exactVector(r: Rand, depth: number, phase: number): GenNode {
  for (let i = 0; i < 20; i++) {
    const v = vector(r, depth, phase);
    if (!INEXACT.test(render(v))) return v;
  }
  return selector(r, phase, ['g', 'c']);
}

export function scalar(r: Rand, depth: number, phase: number): GenNode {
  const roll = depth <= 0 ? 0 : r();
  if (roll < 0.45) return n('scalar', phase, [pick(r, NUMBERS)]);
  if (roll < 0.6) return n('scalar', phase, ['scalar(', vector(r, depth - 1, phase), ')']);
  if (roll < 0.67) return n('scalar', phase, [pick(r, ['time()', 'pi()'])]);
  if (roll < 0.75) return n('scalar', phase, ['-', operand(r, scalar(r, depth - 1, phase))]);
  const op = pick(r, [...ARITH, 'atan2', ...CMP]);
  const bool = CMP.includes(op) ? ' bool' : '';
  return n('scalar', phase, [
    operand(r, scalar(r, depth - 1, phase)),
    ` ${op}${bool} `,
    operand(r, scalar(r, depth - 1, phase)),
  ]);
}

export function vector(r: Rand, depth: number, phase: number): GenNode {
  if (depth <= 0) return selector(r, phase, [...FINITE, 'n', 'g', 'g']);
  const d = depth - 1;
  const roll = r();
  if (roll < 0.1) return selector(r, phase, [...FINITE, 'n', '*']);
  if (roll < 0.2) {
    const f = pick(r, [...OVER_FINITE, ...OVER_ANY, 'rate', 'increase', 'quantile_over_time', 'predict_linear']);
    const metrics = f === 'rate' || f === 'increase' ? ['c'] : OVER_ANY.includes(f) ? [...FINITE, 'n'] : FINITE;
    const m =
      chance(r, 0.25) && f !== 'rate' && f !== 'increase' ? subquery(r, d, phase) : matrixSelector(r, phase, metrics);
    if (f === 'quantile_over_time')
      return n('vector', phase, [`${f}(${pick(r, ['0', '0.5', '0.9', '1', '2'])}, `, m, ')']);
    if (f === 'predict_linear') return n('vector', phase, [`${f}(`, m, `, ${pick(r, ['60', '0', '-30'])})`]);
    return n('vector', phase, [`${f}(`, m, ')']);
  }
  if (roll < 0.27) {
    // Periodic functions amplify a last-bit difference of Go's and V8's pow or exp: exact arguments only.
    const f = pick(r, MATH);
    const arg = ['sin', 'cos', 'tan'].includes(f) ? exactVector(r, d, phase) : vector(r, d, phase);
    return n('vector', phase, [`${f}(`, arg, ')']);
  }
  if (roll < 0.37) {
    const op = pick(r, AGG);
    const g = grouping(r);
    const inner = vector(r, d, phase);
    return chance(r, 0.5)
      ? n('vector', phase, [`${op} ${g} (`, inner, ')'])
      : n('vector', phase, [`${op}(`, inner, `) ${g}`]);
  }
  if (roll < 0.42) {
    const which = r();
    if (which < 0.3) {
      const op = pick(r, ['stddev', 'stdvar']);
      return n('vector', phase, [`${op} ${grouping(r)} (`, selector(r, phase, FINITE, true), ')']);
    }
    if (which < 0.55) {
      const op = pick(r, ['topk', 'bottomk']);
      return n('vector', phase, [
        `${op} ${grouping(r)} (${pick(r, ['1', '2', '3', '5'])}, `,
        selector(r, phase, ['g'], true),
        ')',
      ]);
    }
    if (which < 0.8)
      return n('vector', phase, [
        `quantile ${grouping(r)} (${pick(r, ['0', '0.25', '0.5', '0.9', '1', '-1', '2'])}, `,
        vector(r, d, phase),
        ')',
      ]);
    return n('vector', phase, [
      `count_values ${grouping(r)} ("${pick(r, ['v', 'k'])}", `,
      exactVector(r, d, phase),
      ')',
    ]);
  }
  if (roll < 0.62) {
    const kind = r();
    if (kind < 0.35) {
      // Arithmetic between vectors, or a vector and a scalar.
      const op = pick(r, ARITH);
      const withScalar = chance(r, 0.4);
      // `%` amplifies a last-bit difference too: exact operands only.
      const vec = (): GenNode => (op === '%' ? exactVector(r, d, phase) : vector(r, d, phase));
      const lhs = withScalar && chance(r, 0.5) ? scalar(r, d, phase) : vec();
      const rhs = withScalar && lhs.kind === 'vector' ? scalar(r, d, phase) : vec();
      const mod = lhs.kind === 'vector' && rhs.kind === 'vector' ? matching(r, true) : chance(r, 0.1) ? ' on()' : '';
      return n('vector', phase, [operand(r, lhs), ` ${op}${mod} `, operand(r, rhs)]);
    }
    if (kind < 0.55) {
      const op = pick(r, ['and', 'or', 'unless']);
      return n('vector', phase, [
        operand(r, vector(r, d, phase)),
        ` ${op}${matching(r, false)} `,
        operand(r, vector(r, d, phase)),
      ]);
    }
    if (kind < 0.75) {
      const op = pick(r, CMP);
      const bool = chance(r, 0.3) ? ' bool' : '';
      const s = scalar(r, d, phase);
      const v = vector(r, d, phase);
      return chance(r, 0.5)
        ? n('vector', phase, [operand(r, v), ` ${op}${bool} `, operand(r, s)])
        : n('vector', phase, [operand(r, s), ` ${op}${bool} `, operand(r, v)]);
    }
    const op = pick(r, CMP);
    if (chance(r, 0.4))
      return n('vector', phase, [
        operand(r, vector(r, d, phase)),
        ` ${op} bool${matching(r, true)} `,
        operand(r, vector(r, d, phase)),
      ]);
    // A filter between vectors: 3.9 checks the matching of pairs the filter drops too, 2.42 does not, so the
    // left side is one metric's selector (unique labels) and the matching keeps its series apart.
    const mod = pick(r, ['', ' ignoring(k)', ' on(i)', ' on(i, k)', ' ignoring(job)']);
    return n('vector', phase, [selector(r, phase, FINITE, true), ` ${op}${mod} `, operand(r, vector(r, d, phase))]);
  }
  if (roll < 0.65) return n('vector', phase, ['-', operand(r, vector(r, d, phase))]);
  if (roll < 0.67) {
    // A modified selector between two operators, unparenthesised: `3 - x offset 3m * 2`, `-x offset 3m ^ 2`.
    let s = selector(r, phase, FINITE);
    while (!/offset|@/.test(render(s))) s = selector(r, phase, FINITE);
    const ops = ['+', '-', '*', '/', '^', '%'];
    const rhs = chance(r, 0.5) ? scalar(r, 0, phase) : selector(r, phase, FINITE);
    if (chance(r, 0.3)) return n('vector', phase, ['-', s, ` ${pick(r, ops)} `, rhs]);
    const lhs = chance(r, 0.5) ? scalar(r, 0, phase) : selector(r, phase, FINITE);
    return n('vector', phase, [lhs, ` ${pick(r, ops)} `, s, ` ${pick(r, ops)} `, rhs]);
  }
  if (roll < 0.72) {
    const dst = pick(r, ['k', 'i', 'new', '__name__']);
    const src = pick(r, ['i', 'k', '__name__', 'job']);
    const regex = pick(r, ['(.*)', '(a|b)', 'g.*', '', '(.)']);
    const repl = pick(r, ['$1', 'z', '$1-$1', '', 'x$1']);
    if (chance(r, 0.8))
      return n('vector', phase, [
        'label_replace(',
        vector(r, d, phase),
        `, "${dst}", "${repl}", "${src}", "${regex}")`,
      ]);
    return n('vector', phase, ['label_join(', vector(r, d, phase), `, "${dst}", "-", "${src}", "k")`]);
  }
  if (roll < 0.76)
    return n('vector', phase, [`${pick(r, ['sort', 'sort_desc', 'timestamp'])}(`, vector(r, d, phase), ')']);
  if (roll < 0.8)
    return n('vector', phase, [
      'absent(',
      chance(r, 0.5) ? selector(r, phase, [...FINITE, 'nope']) : vector(r, d, phase),
      ')',
    ]);
  if (roll < 0.84) return n('vector', phase, ['vector(', scalar(r, d, phase), ')']);
  if (roll < 0.88) {
    const f = pick(r, ['clamp', 'clamp_min', 'clamp_max', 'round']);
    const args =
      f === 'clamp'
        ? [pick(r, NUMBERS.slice(0, 9)), pick(r, NUMBERS.slice(0, 9))]
        : f === 'round'
          ? chance(r, 0.5)
            ? []
            : [pick(r, ['0.5', '2', '0.25', '5'])]
          : [pick(r, NUMBERS.slice(0, 9))];
    return n('vector', phase, [`${f}(`, vector(r, d, phase), args.map((a) => `, ${a}`).join(''), ')']);
  }
  if (roll < 0.91) {
    // Date functions over finite values only (2.42 converts NaN and Inf with a bare int64()).
    const f = pick(r, DATE);
    return chance(r, 0.3)
      ? n('vector', phase, [`${f}()`])
      : n('vector', phase, [`${f}(`, selector(r, phase, FINITE, true), ')']);
  }
  if (roll < 0.95) return n('vector', phase, ['timestamp(', selector(r, phase, [...FINITE, 'n']), ')']);
  return n('vector', phase, ['(', vector(r, d, phase), ')']);
}

/** One random expression (an instant vector, or sometimes a scalar) for the top level, where the phase is :30. */
export function expression(r: Rand, maxDepth = 4): GenNode {
  const depth = 1 + Math.floor(r() * maxDepth);
  return chance(r, 0.08) ? scalar(r, depth, 30_000) : vector(r, depth, 30_000);
}

/** An evaluation time: k minutes and 30 seconds, k in 3..28. */
export function evalTime(r: Rand): number {
  return (3 + Math.floor(r() * 26)) * 60_000 + 30_000;
}

/**
 * Smaller expressions to try when shrinking `root`: a vector or scalar node replaced by one of its own
 * sub-expressions of the same kind and phase, or by a leaf; fixed positions are kept.
 */
export function shrinkCandidates(root: GenNode): GenNode[] {
  const out: GenNode[] = [];
  const descendants = (e: GenNode, acc: GenNode[]): GenNode[] => {
    for (const p of e.parts)
      if (typeof p !== 'string') {
        acc.push(p);
        descendants(p, acc);
      }
    return acc;
  };
  const replaceAt = (e: GenNode, target: GenNode, by: GenNode): GenNode =>
    e === target ? by : { ...e, parts: e.parts.map((p) => (typeof p === 'string' ? p : replaceAt(p, target, by))) };
  const nodes = [root, ...descendants(root, [])];
  for (const target of nodes) {
    if (target.fixed === true || target.kind === 'matrix') continue;
    const replacements = descendants(target, []).filter(
      (c) => c.kind === target.kind && c.phase === target.phase && render(c).length < render(target).length,
    );
    const leaf =
      target.kind === 'scalar'
        ? n('scalar', target.phase, ['1'])
        : n('vector', target.phase, [target.phase === 30_000 ? 'g' : 'g offset 30s']);
    if (render(leaf).length < render(target).length) replacements.push(leaf);
    for (const by of replacements) out.push(replaceAt(root, target, by));
  }
  const seen = new Set<string>();
  return out
    .filter((c) => {
      const text = render(c);
      if (seen.has(text)) return false;
      seen.add(text);
      return true;
    })
    .sort((a, b) => render(a).length - render(b).length);
}
