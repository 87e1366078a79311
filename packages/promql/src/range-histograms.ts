// Functions over range vectors whose series hold native histograms: rate/increase/delta, irate/idelta, resets,
// changes and the *_over_time functions, with Prometheus's annotations for mixed or incompatible samples.
import {
  addHistograms,
  compactHistogram,
  createHistogram,
  detectReset,
  divHistogram,
  type FloatHistogram,
  histogramOverflows,
  histogramsEqual,
  type KahanSum,
  kahanAddHistograms,
  kahanResult,
  type MutableHistogram,
  mulHistogram,
  toSchema,
  usesCustomBuckets,
} from './native-histogram.ts';
import { type Annotation, annotate, type Ctx, type Series } from './values.ts';

/** Where a function's annotations go: the query's position of its range argument and the series' name. */
export interface RangeNotes {
  readonly ctx: Ctx;
  readonly at: number;
  readonly name: string;
}

function note(n: RangeNotes, level: Annotation['level'], message: string): void {
  annotate(n.ctx, level, message, n.at);
}

const mixed = (n: RangeNotes): string =>
  `encountered a mix of histograms and floats for metric name ${JSON.stringify(n.name)}`;
const mixedSchemas = (n: RangeNotes): string =>
  `vector contains a mix of histograms with exponential and custom buckets schemas for metric name ${JSON.stringify(n.name)}`;
const notCounter = (n: RangeNotes): string =>
  `this native histogram metric is not a counter: ${JSON.stringify(n.name)}`;
const notGauge = (n: RangeNotes): string => `this native histogram metric is not a gauge: ${JSON.stringify(n.name)}`;
/** The info note of histograms ignored next to floats. */
export const ignoredInRange = (n: RangeNotes): string =>
  `ignored histograms in a range containing both floats and histograms for metric name ${JSON.stringify(n.name)}`;
const reconciled = (op: string): string => `mismatched custom buckets were reconciled during ${op}`;

// Prometheus's histogramRate: the last histogram minus the first, plus the value before every reset.
function histogramDelta(n: RangeNotes, h: readonly FloatHistogram[], isCounter: boolean): FloatHistogram | undefined {
  const notes: Array<[Annotation['level'], string]> = [];
  let prev = h[0]!;
  const last = h[h.length - 1]!;
  let custom = usesCustomBuckets(prev);
  if (isCounter && (prev.counterResetHint === 'gauge' || last.counterResetHint === 'gauge'))
    notes.push(['warning', notCounter(n)]);
  if (isCounter && detectReset(h[1]!, prev)) {
    prev = createHistogram({ schema: h[1]!.schema, customValues: h[1]!.customValues });
    custom = usesCustomBuckets(h[1]!);
  }
  const fail = (): undefined => {
    note(n, 'warning', mixedSchemas(n));
    return undefined;
  };
  if (usesCustomBuckets(last) !== custom) {
    for (const [level, message] of notes) note(n, level, message);
    return fail();
  }
  let minSchema = Math.min(last.schema, prev.schema);
  for (let i = 1; i < h.length - 1; i++) {
    if (!isCounter) continue;
    const curr = h[i]!;
    if (curr.counterResetHint === 'gauge') notes.push(['warning', notCounter(n)]);
    if (curr.schema < minSchema) minSchema = curr.schema;
    if (usesCustomBuckets(curr) !== custom) return fail();
  }
  const diff = addHistograms(toSchema(last, minSchema), prev, true);
  if (diff.h === undefined) return fail();
  let out: MutableHistogram = diff.h;
  if (diff.reconciled) notes.push(['info', reconciled('subtraction')]);
  if (isCounter) {
    let before = prev;
    for (let i = 1; i < h.length; i++) {
      const curr = h[i]!;
      if (detectReset(curr, before)) {
        const sum = addHistograms(out, before);
        if (sum.h === undefined) return fail();
        out = sum.h;
        if (sum.reconciled) notes.push(['info', reconciled('addition')]);
      }
      before = curr;
    }
  } else if (h[0]!.counterResetHint !== 'gauge' || last.counterResetHint !== 'gauge')
    notes.push(['warning', notGauge(n)]);
  for (const [level, message] of notes) note(n, level, message);
  out.counterResetHint = 'gauge';
  return compactHistogram(out);
}

/** rate(), increase() and delta() of a series: a histogram, or undefined (with a warning when samples mix). */
export function histogramRate(
  n: RangeNotes,
  s: Series,
  rangeStart: number,
  rangeEnd: number,
  rangeMs: number,
  isCounter: boolean,
  isRate: boolean,
): FloatHistogram | undefined {
  const hs = s.histograms!;
  if (s.t.length > 0) {
    note(n, 'warning', mixed(n));
    return undefined;
  }
  const count = hs.t.length;
  if (count < 2) return undefined;
  const result = histogramDelta(n, hs.h, isCounter);
  if (result === undefined) return undefined;
  const firstT = hs.t[0]!;
  const lastT = hs.t[count - 1]!;
  let durationToStart = (firstT - rangeStart) / 1000;
  let durationToEnd = (rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageBetween = sampledInterval / (count - 1);
  const threshold = averageBetween * 1.1;
  if (durationToStart >= threshold) durationToStart = averageBetween / 2;
  if (isCounter) {
    let durationToZero = durationToStart;
    const first = hs.h[0]!;
    if (result.count > 0 && first.count >= 0) durationToZero = sampledInterval * (first.count / result.count);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= threshold) durationToEnd = averageBetween / 2;
  let factor = sampledInterval === 0 ? 1 : (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= rangeMs / 1000;
  return mulHistogram(result, factor);
}

/** irate() and idelta() over the last two samples, floats or histograms. */
export function instantHistogramValue(n: RangeNotes, s: Series, isRate: boolean): number | FloatHistogram | undefined {
  const hs = s.histograms!;
  const points: Array<{ t: number; f: number; h: FloatHistogram | undefined }> = [];
  for (let i = Math.max(0, s.t.length - 2); i < s.t.length; i++) points.push({ t: s.t[i]!, f: s.v[i]!, h: undefined });
  for (let i = Math.max(0, hs.t.length - 2); i < hs.t.length; i++) points.push({ t: hs.t[i]!, f: 0, h: hs.h[i]! });
  if (points.length < 2) return undefined;
  points.sort((a, b) => a.t - b.t);
  const [a, b] = points.slice(-2) as [(typeof points)[0], (typeof points)[0]];
  const interval = b.t - a.t;
  if (interval === 0) return undefined;
  if (a.h === undefined && b.h === undefined) {
    let f = b.f;
    if (!isRate || !(b.f < a.f)) f = b.f - a.f;
    return isRate ? f / (interval / 1000) : f;
  }
  if (a.h === undefined || b.h === undefined) {
    note(n, 'warning', mixed(n));
    return undefined;
  }
  if (isRate && (a.h.counterResetHint === 'gauge' || b.h.counterResetHint === 'gauge'))
    note(n, 'warning', notCounter(n));
  if (!isRate && (a.h.counterResetHint !== 'gauge' || b.h.counterResetHint !== 'gauge'))
    note(n, 'warning', notGauge(n));
  // A counter that was reset counts from zero: its last value is the increase.
  let out: MutableHistogram = compactHistogram(b.h);
  if (!isRate || !detectReset(b.h, a.h)) {
    const diff = addHistograms(b.h, a.h, true);
    if (diff.h === undefined) {
      note(n, 'warning', mixedSchemas(n));
      return undefined;
    }
    if (diff.reconciled) note(n, 'info', reconciled('subtraction'));
    out = compactHistogram(diff.h);
  }
  out.counterResetHint = 'gauge';
  return isRate ? divHistogram(out, interval / 1000) : out;
}

type Point = { t: number; f: number; h: FloatHistogram | undefined };

function merged(s: Series): Point[] {
  const out: Point[] = [];
  for (let i = 0; i < s.t.length; i++) out.push({ t: s.t[i]!, f: s.v[i]!, h: undefined });
  const hs = s.histograms;
  if (hs !== undefined) for (let i = 0; i < hs.t.length; i++) out.push({ t: hs.t[i]!, f: 0, h: hs.h[i]! });
  return out.sort((a, b) => a.t - b.t);
}

/** resets() over floats and histograms: a switch between the two counts as a reset. */
export function histogramResets(s: Series): number {
  const points = merged(s);
  let n = 0;
  for (let i = 1; i < points.length; i++) {
    const prev = points[i - 1]!;
    const cur = points[i]!;
    if (prev.h === undefined && cur.h === undefined) {
      if (cur.f < prev.f) n++;
    } else if (prev.h === undefined || cur.h === undefined) n++;
    else if (detectReset(cur.h, prev.h)) n++;
  }
  return n;
}

/** changes() over floats and histograms: a switch between the two counts as a change. */
export function histogramChanges(s: Series): number {
  const points = merged(s);
  let n = 0;
  for (let i = 1; i < points.length; i++) {
    const prev = points[i - 1]!;
    const cur = points[i]!;
    if (prev.h === undefined && cur.h === undefined) {
      if (cur.f !== prev.f && !(Number.isNaN(cur.f) && Number.isNaN(prev.f))) n++;
    } else if (prev.h === undefined || cur.h === undefined) n++;
    else if (!histogramsEqual(cur.h, prev.h)) n++;
  }
  return n;
}

/** sum_over_time() or avg_over_time() of a series of histograms only; undefined with a warning otherwise. */
export function histogramSumOverTime(n: RangeNotes, s: Series, average: boolean): FloatHistogram | undefined {
  const hs = s.histograms!;
  if (s.t.length > 0) {
    note(n, 'warning', mixed(n));
    return undefined;
  }
  let resetSeen = false;
  let notResetSeen = false;
  let reconciledSeen = false;
  const track = (h: FloatHistogram): void => {
    if (h.counterResetHint === 'reset') resetSeen = true;
    else if (h.counterResetHint === 'not_reset') notResetSeen = true;
  };
  let acc: KahanSum = { sum: hs.h[0]!, c: undefined };
  track(acc.sum);
  let mean: FloatHistogram | undefined;
  for (let i = 1; i < hs.h.length; i++) {
    const h = hs.h[i]!;
    track(h);
    const count = i + 1;
    if (mean === undefined) {
      const next = kahanAddHistograms(acc, h);
      if (next.sum === undefined) {
        note(n, 'warning', mixedSchemas(n));
        return undefined;
      }
      if (next.reconciled) reconciledSeen = true;
      if (!average || !histogramOverflows(next.sum.sum)) {
        acc = next.sum;
        continue;
      }
      // The sum overflows: the mean goes on incrementally, as Prometheus does.
      mean = divHistogram(kahanResult(acc), count - 1);
    }
    const next = addHistograms(mulHistogram(mean, (count - 1) / count), divHistogram(h, count));
    if (next.h === undefined) {
      note(n, 'warning', mixedSchemas(n));
      return undefined;
    }
    if (next.reconciled) reconciledSeen = true;
    mean = next.h;
  }
  if (resetSeen && notResetSeen) note(n, 'warning', 'conflicting counter resets during histogram aggregation');
  if (reconciledSeen) note(n, 'info', reconciled('aggregation'));
  const sum = kahanResult(acc);
  if (!average) return sum;
  return mean ?? divHistogram(sum, hs.h.length);
}

/** The name a function's annotations give a series. */
export function seriesName(s: Series): string {
  return s.labels['__name__'] ?? '';
}
