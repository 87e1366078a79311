// `load_with_nhcb`: classic histograms (`x_bucket{le=…}`, `x_count`, `x_sum`) also loaded as native histograms
// with custom buckets (NHCB), one sample per timestamp, as Prometheus's util/convertnhcb converts them.
import type { Labels } from '../labels.ts';
import { CUSTOM_BUCKETS_SCHEMA, compactHistogram, createHistogram, type FloatHistogram } from '../native-histogram.ts';
import type { ScriptSeries } from './script.ts';

interface Temp {
  buckets: Map<number, number>;
  count: number | undefined;
  sum: number;
}

function parseLe(text: string): number {
  const t = text.trim().toLowerCase();
  if (t === '+inf' || t === 'inf') return Number.POSITIVE_INFINITY;
  if (t === '-inf') return Number.NEGATIVE_INFINITY;
  return t === '' ? Number.NaN : Number(t);
}

// Prometheus's TempHistogram.Convert; undefined where it would fail (counts not cumulative or not matching).
function convert(temp: Temp): FloatHistogram | undefined {
  const les = [...temp.buckets.keys()].sort((a, b) => a - b);
  const buckets = les.map((le) => ({ le, count: temp.buckets.get(le)! }));
  for (let i = 1; i < buckets.length; i++) if (buckets[i]!.count < buckets[i - 1]!.count) return undefined;
  let count = temp.count;
  if (count === undefined) count = buckets.length > 0 ? buckets[buckets.length - 1]!.count : 0;
  if (buckets.length === 0 || buckets[buckets.length - 1]!.le !== Number.POSITIVE_INFINITY)
    buckets.push({ le: Number.POSITIVE_INFINITY, count });
  if (count !== buckets[buckets.length - 1]!.count) return undefined;
  const integer = Number.isInteger(count) && buckets.every((b) => Number.isInteger(b.count));
  const counts: number[] = [];
  let prev = 0;
  for (const b of buckets) {
    counts.push(b.count - prev);
    prev = b.count;
  }
  const h = createHistogram({
    schema: CUSTOM_BUCKETS_SCHEMA,
    count,
    sum: temp.sum,
    positiveSpans: [{ offset: 0, length: counts.length }],
    positiveBuckets: counts,
    customValues: buckets.slice(0, -1).map((b) => b.le),
  });
  // Integer histograms are compacted keeping runs of two empty buckets, float ones keeping none.
  return compactHistogram(h, integer ? 2 : 0);
}

/** The native histogram series a `load_with_nhcb` block adds, with their samples in time order. */
export function nhcbSeries(
  series: readonly ScriptSeries[],
  intervalMs: number,
): Array<{ labels: Labels; t: number[]; h: FloatHistogram[] }> {
  const byBase = new Map<string, { labels: Labels; byT: Map<number, Temp> }>();
  for (const s of series) {
    const name = s.labels['__name__'] ?? '';
    const m = /^(.*)_(bucket|count|sum)$/.exec(name);
    if (m === null) continue;
    const kind = m[2]!;
    let le = Number.NaN;
    if (kind === 'bucket') {
      if (s.labels['le'] === undefined) continue;
      le = parseLe(s.labels['le']);
      if (Number.isNaN(le)) continue;
    }
    const { le: _, ...rest } = s.labels;
    const labels: Labels = { ...rest, __name__: m[1]! };
    const key = JSON.stringify(Object.entries(labels).sort());
    let base = byBase.get(key);
    if (base === undefined) {
      base = { labels, byT: new Map() };
      byBase.set(key, base);
    }
    s.points.forEach((p, i) => {
      if (typeof p !== 'number') return;
      const t = i * intervalMs;
      let temp = base.byT.get(t);
      if (temp === undefined) {
        temp = { buckets: new Map(), count: undefined, sum: 0 };
        base.byT.set(t, temp);
      }
      if (kind === 'bucket') {
        if (!temp.buckets.has(le)) temp.buckets.set(le, p);
      } else if (kind === 'count') temp.count = p;
      else temp.sum = p;
    });
  }
  const out: Array<{ labels: Labels; t: number[]; h: FloatHistogram[] }> = [];
  for (const { labels, byT } of byBase.values()) {
    const ts = [...byT.keys()].sort((a, b) => a - b);
    const t: number[] = [];
    const h: FloatHistogram[] = [];
    for (const at of ts) {
      const converted = convert(byT.get(at)!);
      if (converted === undefined) continue;
      t.push(at);
      h.push(converted);
    }
    out.push({ labels, t, h });
  }
  return out;
}
