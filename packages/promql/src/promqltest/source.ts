// The in-memory series of a test script: float samples, staleness markers and native histograms, read back as
// Prometheus's TSDB would return them (the histograms' counter reset hints follow its chunks).
import type { Matcher } from '../ast.ts';
import { matches, type SampleSource, type SelectedSeries } from '../engine.ts';
import { HintTracker } from '../internal/histogram-chunks.ts';
import { compareLabels, type Labels, labelsKey } from '../labels.ts';
import type { FloatHistogram } from '../native-histogram.ts';

interface MemorySeries {
  readonly labels: Labels;
  readonly t: number[];
  /** A float, a staleness marker ('stale') or a histogram, per timestamp. */
  readonly p: Array<number | 'stale' | FloatHistogram>;
  /** The histograms as read back, computed on first read after a change. */
  stored: Array<FloatHistogram | undefined> | undefined;
}

/** A sample source a script loads into. */
export interface ScriptSource extends SampleSource {
  add(labels: Labels, t: number, point: number | 'stale' | FloatHistogram): void;
  clear(): void;
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

function stored(s: MemorySeries): Array<FloatHistogram | undefined> {
  if (s.stored !== undefined) return s.stored;
  const tracker = new HintTracker();
  s.stored = s.p.map((p, i) => {
    if (typeof p === 'number' || p === 'stale') {
      tracker.float();
      return undefined;
    }
    return tracker.next(s.t[i]!, p);
  });
  return s.stored;
}

export function createScriptSource(): ScriptSource {
  let series = new Map<string, MemorySeries>();
  // Prometheus' storage returns series sorted by their label sets; results built in input order match it.
  let sorted: MemorySeries[] | undefined;
  return {
    add(labels, t, point) {
      const key = labelsKey(labels);
      let s = series.get(key);
      if (s === undefined) {
        s = { labels: Object.freeze({ ...labels }), t: [], p: [], stored: undefined };
        series.set(key, s);
        sorted = undefined;
      }
      s.stored = undefined;
      // Loads may interleave times; keep each series sorted, a later load replacing an equal timestamp.
      const i = firstAfter(s.t, t);
      if (i > 0 && s.t[i - 1] === t) {
        s.p[i - 1] = point;
        return;
      }
      s.t.splice(i, 0, t);
      s.p.splice(i, 0, point);
    },
    clear() {
      series = new Map();
      sorted = undefined;
    },
    *select(matchers: readonly Matcher[], minT: number, maxT: number): Iterable<SelectedSeries> {
      sorted ??= [...series.values()].sort((a, b) => compareLabels(a.labels, b.labels));
      for (const s of sorted) {
        if (!matchers.every((m) => matches(m, s.labels))) continue;
        const from = firstAfter(s.t, minT);
        const to = firstAfter(s.t, maxT);
        if (from >= to) continue;
        const hist = stored(s);
        const t: number[] = [];
        const v: number[] = [];
        const stale: number[] = [];
        const ht: number[] = [];
        const hv: FloatHistogram[] = [];
        for (let i = from; i < to; i++) {
          const p = s.p[i]!;
          const h = hist[i];
          if (h !== undefined) {
            ht.push(s.t[i]!);
            hv.push(h);
            continue;
          }
          t.push(s.t[i]!);
          v.push(typeof p === 'number' ? p : Number.NaN);
          stale.push(p === 'stale' ? 1 : 0);
        }
        yield ht.length === 0
          ? { labels: s.labels, t, v, stale }
          : { labels: s.labels, t, v, stale, histograms: { t: ht, h: hv } };
      }
    },
  };
}
