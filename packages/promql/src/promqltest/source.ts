// The in-memory series of a test script: float samples, staleness markers, and where native histograms were
// loaded (the engine reads no histograms, so any evaluation that touches one is skipped, not failed).
import type { Matcher } from '../ast.ts';
import { matches, type SampleSource, type SelectedSeries } from '../engine.ts';
import type { WindowObserver } from '../internal/preselect.ts';
import { compareLabels, type Labels, labelsKey } from '../labels.ts';

const STALE = 1;
const HISTOGRAM = 2;

interface MemorySeries {
  readonly labels: Labels;
  readonly t: number[];
  readonly v: number[];
  /** 0 for a float, STALE or HISTOGRAM. */
  readonly kind: number[];
}

/** A sample source that also reports whether a selection reached native histogram samples. */
export interface ScriptSource extends SampleSource, WindowObserver {
  add(labels: Labels, t: number, point: number | 'stale' | 'histogram'): void;
  clear(): void;
  /** True once any selection since the last reset covered a native histogram sample. */
  touchedHistograms(): boolean;
  resetTouched(): void;
}

function firstAfter(t: readonly number[], minT: number): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t[mid]! <= minT) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function createScriptSource(): ScriptSource {
  let series = new Map<string, MemorySeries>();
  // Prometheus' storage returns series sorted by their label sets; results built in input order match it.
  let sorted: MemorySeries[] | undefined;
  let touched = false;
  return {
    add(labels, t, point) {
      const key = labelsKey(labels);
      let s = series.get(key);
      if (s === undefined) {
        s = { labels: Object.freeze({ ...labels }), t: [], v: [], kind: [] };
        series.set(key, s);
        sorted = undefined;
      }
      const kind = point === 'stale' ? STALE : point === 'histogram' ? HISTOGRAM : 0;
      const value = typeof point === 'number' ? point : Number.NaN;
      // Loads may interleave times; keep each series sorted, a later load replacing an equal timestamp.
      let i = firstAfter(s.t, t);
      if (i > 0 && s.t[i - 1] === t) {
        i--;
        s.v[i] = value;
        s.kind[i] = kind;
        return;
      }
      s.t.splice(i, 0, t);
      s.v.splice(i, 0, value);
      s.kind.splice(i, 0, kind);
    },
    clear() {
      series = new Map();
      sorted = undefined;
    },
    touchedHistograms: () => touched,
    observeWindow(matchers, minT, maxT) {
      if (touched) return;
      for (const s of series.values()) {
        if (!matchers.every((m) => matches(m, s.labels))) continue;
        const to = firstAfter(s.t, maxT);
        for (let i = firstAfter(s.t, minT); i < to; i++) if (s.kind[i] === HISTOGRAM) touched = true;
      }
    },
    unobserved(read) {
      const before = touched;
      try {
        return read();
      } finally {
        touched = before;
      }
    },
    resetTouched() {
      touched = false;
    },
    *select(matchers: readonly Matcher[], minT: number, maxT: number): Iterable<SelectedSeries> {
      sorted ??= [...series.values()].sort((a, b) => compareLabels(a.labels, b.labels));
      for (const s of sorted) {
        if (!matchers.every((m) => matches(m, s.labels))) continue;
        const from = firstAfter(s.t, minT);
        const to = firstAfter(s.t, maxT);
        if (from >= to) continue;
        const t: number[] = [];
        const v: number[] = [];
        const stale: number[] = [];
        for (let i = from; i < to; i++) {
          const kind = s.kind[i]!;
          if (kind === HISTOGRAM) {
            touched = true;
            continue;
          }
          t.push(s.t[i]!);
          v.push(s.v[i]!);
          stale.push(kind === STALE ? 1 : 0);
        }
        if (t.length > 0) yield { labels: s.labels, t, v, stale };
      }
    },
  };
}
