// Range functions of a range query, series by series. Evaluated step by step, `rate(x[5m])` would select, slice
// and dispatch for every series at every step; Prometheus computes a matrix function per series across the
// steps instead. Here, for a plain matrix selector (no `@`), each series' windows are walked with two cursors over
// a block of steps at once, and each step then reads its values from the block: the same windows and the same
// functions as the step-by-step path, in the same series order.
import type { Call } from '../ast.ts';
import { dropName, type Labels, labelsKey } from '../labels.ts';
import { extrapolatedRate, OVER_TIME } from '../range-functions.ts';
import type { Ctx, Sample, Series, SeriesMajor } from '../values.ts';
import { type Cached, Preselected, withoutStale } from './preselect.ts';

/** Steps computed at a time: bounds the memory (series x BLOCK values) and the time one step may take. */
const BLOCK = 32;

interface Block {
  readonly series: readonly Cached[];
  /** Each series' window cursors, carried from one block to the next. */
  readonly lo: Int32Array;
  readonly hi: Int32Array;
  /** The first step of the block computed last, -1 before any. */
  first: number;
  readonly values: Float64Array;
  readonly present: Uint8Array;
  readonly counterChecked: Uint8Array;
  /**
   * The series' labels without their name, when the name goes at once (no delayed removal) and no two series
   * differ by their name alone: the step's samples then need no name-dropping pass (see dropNamesNow).
   */
  readonly unnamed: readonly Labels[] | undefined;
}

const FUNCTIONS: ReadonlySet<string> = new Set(['rate', 'increase', 'delta', ...Object.keys(OVER_TIME)]);

const keepsName = (f: string): boolean => f === 'last_over_time' || f === 'first_over_time';

function distinctUnnamed(series: readonly Cached[]): Labels[] | undefined {
  const out = series.map((s) => dropName(s.labels));
  const keys = new Set<string>();
  for (const labels of out) {
    const key = labelsKey(labels);
    if (keys.has(key)) return undefined;
    keys.add(key);
  }
  return out;
}

export function createSeriesMajor(start: number, end: number, step: number): SeriesMajor {
  return { start, end, step, blocks: new Map() };
}

/**
 * The function's samples at this step, from the block that holds it; undefined when the call is not of this
 * shape (the caller evaluates it step by step).
 */
export function seriesMajorStep(
  ctx: Ctx,
  e: Call,
  nonCounterInfo: (ctx: Ctx, s: Series) => void,
): Sample[] | undefined {
  const sm = ctx.seriesMajor;
  const arg = e.args[0];
  if (sm === undefined || arg?.kind !== 'matrix' || arg.selector.at !== undefined || !FUNCTIONS.has(e.func))
    return undefined;
  if (!(ctx.source instanceof Preselected)) return undefined;
  const k = (ctx.t - sm.start) / sm.step;
  if (!Number.isInteger(k) || k < 0) return undefined;
  const { offsetMs } = arg.selector;
  const range = arg.rangeMs;
  let block = sm.blocks.get(e) as Block | null | undefined;
  if (block === undefined) {
    const series = ctx.source.cached(arg.selector.matchers, sm.start - offsetMs - range, sm.end - offsetMs);
    // Series with native histograms are evaluated step by step.
    block =
      series === undefined || series.some((s) => s.histograms !== undefined)
        ? null
        : {
            series,
            lo: new Int32Array(series.length),
            hi: new Int32Array(series.length),
            first: -1,
            values: new Float64Array(series.length * BLOCK),
            present: new Uint8Array(series.length * BLOCK),
            counterChecked: new Uint8Array(series.length),
            unnamed: ctx.delayedNameRemoval || keepsName(e.func) ? undefined : distinctUnnamed(series),
          };
    sm.blocks.set(e, block);
  }
  if (block === null) return undefined;
  if (block.first < 0 || k < block.first || k >= block.first + BLOCK) fill(ctx, e, block, k, sm, nonCounterInfo);
  const keepName = keepsName(e.func);
  const at = k - block.first;
  const out: Sample[] = [];
  const { series, values, present, unnamed } = block;
  for (let i = 0; i < series.length; i++) {
    const j = i * BLOCK + at;
    if (present[j] !== 1) continue;
    if (unnamed !== undefined) out.push({ labels: unnamed[i]!, value: values[j]! });
    else out.push({ labels: series[i]!.labels, value: values[j]!, drop: keepName ? undefined : true });
  }
  return out;
}

function fill(
  ctx: Ctx,
  e: Call,
  block: Block,
  first: number,
  sm: SeriesMajor,
  nonCounterInfo: (ctx: Ctx, s: Series) => void,
): void {
  const arg = e.args[0] as Extract<Call['args'][number], { kind: 'matrix' }>;
  const { offsetMs } = arg.selector;
  const range = arg.rangeMs;
  const f = e.func;
  const over = OVER_TIME[f];
  // Cursors only move forward: a block before the last one starts again from the first sample.
  if (block.first >= 0 && first < block.first) {
    block.lo.fill(0);
    block.hi.fill(0);
  }
  block.first = first;
  block.present.fill(0);
  const lastStep = Math.floor((sm.end - sm.start) / sm.step);
  for (let i = 0; i < block.series.length; i++) {
    const s = block.series[i]!;
    const n = s.t.length;
    let lo = block.lo[i]!;
    let hi = block.hi[i]!;
    for (let b = 0; b < BLOCK && first + b <= lastStep; b++) {
      const endT = sm.start + (first + b) * sm.step - offsetMs;
      const startT = endT - range;
      while (lo < n && s.t[lo]! <= startT) lo++;
      if (hi < lo) hi = lo;
      while (hi < n && s.t[hi]! <= endT) hi++;
      if (lo >= hi) continue;
      const w: Series | undefined =
        s.stale === undefined
          ? { labels: s.labels, t: s.t.subarray(lo, hi), v: s.v.subarray(lo, hi) }
          : withoutStale(s.labels, s.t, s.v, s.stale, lo, hi);
      if (w === undefined) continue;
      let value: number | undefined;
      if (f === 'rate' || f === 'increase' || f === 'delta') {
        if (f !== 'delta' && block.counterChecked[i] === 0) {
          block.counterChecked[i] = 1;
          nonCounterInfo(ctx, w);
        }
        value = extrapolatedRate(w, startT, endT, range, f !== 'delta', f === 'rate');
      } else value = over!(w);
      if (value === undefined) continue;
      const j = i * BLOCK + b;
      block.values[j] = value;
      block.present[j] = 1;
    }
    block.lo[i] = lo;
    block.hi[i] = hi;
  }
}
