import type { Matcher } from './ast.ts';
import { type LatestSample, matches, type SampleSource, type SelectedSeries } from './engine.ts';
import { ChunkedSeries, type Decoded } from './internal/chunk.ts';
import { HintTracker } from './internal/histogram-chunks.ts';
import { firstAfter } from './internal/preselect.ts';
import { type Labels, labelsKey, seriesKey } from './labels.ts';
import type { FloatHistogram } from './native-histogram.ts';

/** One sample of a snapshot given to {@link SampleStore.ingest}: a series name, its other labels and a value. */
export interface NamedSample {
  /** The metric name, stored as `__name__`. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The float value (ignored when `histogram` is set). */
  readonly value: number;
  /** A native histogram sample instead of a float. */
  readonly histogram?: FloatHistogram | undefined;
}

/** Options of {@link createSampleStore}. */
export interface SampleStoreOptions {
  /** How much history to keep per series, in ms; older samples are dropped. @default 900000 (15m) */
  readonly retentionMs?: number;
}

/** Memory used by the store. */
export interface SampleStoreStats {
  readonly series: number;
  readonly samples: number;
  /**
   * Bytes held by the compressed chunks (their arenas, with the head chunks' slack, and the chunk tables), plus an
   * estimate of the heap the native histogram samples take.
   */
  readonly bytes: number;
  /** `bytes / samples`, 0 with no samples. */
  readonly bytesPerSample: number;
  /** `bytes / series`, 0 with no series. */
  readonly bytesPerSeries: number;
}

/** Per-series compressed chunks (Prometheus's head encoding), bounded by a retention, that the PromQL engine reads. */
export interface SampleStore extends SampleSource {
  /** The label sets of the series `select` would give, without their samples (label names and values, series). */
  selectLabels(matchers: readonly Matcher[], minT: number, maxT: number): Labels[];
  /** Each matching series' newest sample in `(minT, maxT]`, read without decoding when it is the head's last. */
  selectLatest(matchers: readonly Matcher[], minT: number, maxT: number): Iterable<LatestSample>;
  /** Appends one sample; a sample older than the series' newest is ignored. */
  append(labels: Labels, t: number, v: number): void;
  /**
   * Appends one native histogram sample; a sample older than the series' newest is ignored. A series may switch
   * between floats and histograms. (Optional in the interface so that other stores need not take histograms;
   * {@link createSampleStore}'s always does.)
   */
  appendHistogram?(labels: Labels, t: number, h: FloatHistogram): void;
  /** Appends a staleness marker: the series disappeared at `t`. */
  markStale(labels: Labels, t: number): void;
  /** Appends a whole snapshot (all the series scraped at `at`); series absent from it since the previous one become stale. */
  ingest(at: number, samples: readonly NamedSample[]): void;
  /** Changes how much history is kept (the loaded rules' longest range). */
  setRetention(ms: number): void;
  stats(): SampleStoreStats;
}

function matchesAll(matchers: readonly Matcher[], labels: Labels): boolean {
  for (let i = 0; i < matchers.length; i++) if (!matches(matchers[i]!, labels)) return false;
  return true;
}

/**
 * A selected series decoded when its samples are first read: /api/v1/series and label lookups read only the
 * labels. Samples appended after the selection are not part of it. A class, not an object with getters, since a
 * query yields thousands of them.
 */
class LazySeries implements SelectedSeries {
  readonly labels: Labels;
  private readonly chunks: ChunkedSeries;
  private readonly minT: number;
  private readonly upTo: number;
  private out: Decoded | undefined;
  constructor(labels: Labels, chunks: ChunkedSeries, minT: number, upTo: number) {
    this.labels = labels;
    this.chunks = chunks;
    this.minT = minT;
    this.upTo = upTo;
  }
  private decoded(): Decoded {
    let out = this.out;
    if (out === undefined) {
      out = { t: [], v: [], stale: undefined };
      this.chunks.decode(this.minT, this.upTo, out);
      this.out = out;
    }
    return out;
  }
  get t(): readonly number[] {
    return this.decoded().t;
  }
  get v(): readonly number[] {
    return this.decoded().v;
  }
  get stale(): readonly number[] | undefined {
    return this.decoded().stale;
  }
}

/**
 * A series' native histogram samples, kept apart from its float chunks (which stay as compact and fast as
 * before): plain arrays, each histogram with the counter reset hint Prometheus's TSDB would read back.
 */
interface HistogramTrack {
  readonly t: number[];
  readonly h: FloatHistogram[];
  readonly hints: HintTracker;
}

interface Entry {
  readonly labels: Labels;
  readonly chunks: ChunkedSeries;
  hist: HistogramTrack | undefined;
}

const lastOf = (e: Entry): number => {
  const hist = e.hist;
  const c = e.chunks.lastT;
  return hist === undefined || hist.t.length === 0 ? c : Math.max(c, hist.t[hist.t.length - 1]!);
};

// Approximate heap bytes of a stored histogram (objects, arrays, spans; measured with V8 on Node 20: about 570 B
// for one with a span of 20 buckets, its read-back copy included).
const histogramBytes = (h: FloatHistogram): number =>
  224 +
  12 * (h.positiveBuckets.length + h.negativeBuckets.length + h.customValues.length) +
  40 * (h.positiveSpans.length + h.negativeSpans.length);

// One series' samples in `(minT, maxT]`: floats decoded from the chunks, histograms sliced; undefined if none.
function windowWithHistograms(e: Entry, minT: number, maxT: number): SelectedSeries | undefined {
  const hist = e.hist!;
  const c = e.chunks;
  const out: Decoded = { t: [], v: [], stale: undefined };
  if (c.hasSampleIn(minT, maxT) !== false) c.decode(minT, maxT, out);
  const lower = Math.max(minT, c.floorT);
  const from = firstAfter(hist.t, lower);
  const to = firstAfter(hist.t, maxT);
  if (from >= to) return out.t.length > 0 ? { labels: e.labels, t: out.t, v: out.v, stale: out.stale } : undefined;
  return {
    labels: e.labels,
    t: out.t,
    v: out.v,
    stale: out.stale,
    histograms: { t: hist.t.slice(from, to), h: hist.h.slice(from, to) },
  };
}

/** Creates a sample store; feed it from `metrics:collected` or any other source. */
export function createSampleStore(options: SampleStoreOptions = {}): SampleStore {
  let retention = options.retentionMs ?? 900_000;
  const series = new Map<string, Entry>();
  const byName = new Map<string, Set<Entry>>();
  let previous = new Set<Entry>();

  const entry = (labels: Labels): Entry => {
    const key = labelsKey(labels);
    let e = series.get(key);
    if (e === undefined) {
      e = { labels: Object.freeze({ ...labels }), chunks: new ChunkedSeries(), hist: undefined };
      series.set(key, e);
      const name = labels['__name__'] ?? '';
      let set = byName.get(name);
      if (set === undefined) {
        set = new Set();
        byName.set(name, set);
      }
      set.add(e);
    }
    return e;
  };
  // The series whose labels satisfy every matcher: those of the name when one is given (`__name__="x"`). An array,
  // not a generator inside the selections' generators: a rule evaluation walks thousands of series this way.
  function matching(matchers: readonly Matcher[]): Entry[] {
    const nameEq = matchers.find((m) => m.name === '__name__' && m.op === '=');
    const rest = nameEq === undefined ? matchers : matchers.filter((m) => m !== nameEq);
    const candidates = nameEq === undefined ? series.values() : (byName.get(nameEq.value) ?? []);
    const out: Entry[] = [];
    for (const e of candidates) if (rest.length === 0 || matchesAll(rest, e.labels)) out.push(e);
    return out;
  }
  const put = (e: Entry, t: number, v: number, stale: boolean): void => {
    const c = e.chunks;
    if (t <= c.lastT) return;
    const hist = e.hist;
    if (hist !== undefined) {
      if (t <= lastOf(e)) return;
      hist.hints.float();
      dropHistograms(hist, t - retention);
    }
    // Samples older than the retention are hidden at once and their chunks go when wholly past it, as
    // Prometheus's head truncation drops whole chunks.
    c.dropBefore(t - retention);
    c.append(t, v, stale);
  };
  const dropHistograms = (hist: HistogramTrack, floorT: number): void => {
    const k = firstAfter(hist.t, floorT);
    if (k === 0) return;
    hist.t.splice(0, k);
    hist.h.splice(0, k);
  };
  const putHistogram = (e: Entry, t: number, h: FloatHistogram): void => {
    if (t <= lastOf(e)) return;
    e.hist ??= { t: [], h: [], hints: new HintTracker() };
    e.chunks.dropBefore(t - retention);
    dropHistograms(e.hist, t - retention);
    e.hist.t.push(t);
    e.hist.h.push(e.hist.hints.next(t, h));
  };

  return {
    append(labels, t, v) {
      put(entry(labels), t, v, false);
    },
    appendHistogram(labels, t, h) {
      putHistogram(entry(labels), t, h);
    },
    markStale(labels, t) {
      put(entry(labels), t, Number.NaN, true);
    },
    ingest(at, samples) {
      const seen = new Set<Entry>();
      for (const s of samples) {
        const e = series.get(seriesKey(s.name, s.labels)) ?? entry({ ...s.labels, __name__: s.name });
        if (s.histogram === undefined) put(e, at, s.value, false);
        else putHistogram(e, at, s.histogram);
        seen.add(e);
      }
      // Prometheus writes a staleness marker for every series a scrape no longer returns.
      for (const e of previous) if (!seen.has(e)) put(e, at, Number.NaN, true);
      previous = seen;
      // Series whose every sample has aged out are forgotten.
      for (const [key, e] of series) {
        const last = lastOf(e);
        if (last <= at - retention && !seen.has(e)) {
          series.delete(key);
          byName.get(e.labels['__name__'] ?? '')?.delete(e);
        }
      }
    },
    setRetention(ms) {
      retention = ms;
    },
    *select(matchers: readonly Matcher[], minT: number, maxT: number): Iterable<SelectedSeries> {
      for (const e of matching(matchers)) {
        if (e.hist !== undefined) {
          const w = windowWithHistograms(e, minT, maxT);
          if (w !== undefined) yield w;
          continue;
        }
        const c = e.chunks;
        const has = c.hasSampleIn(minT, maxT);
        if (has === false) continue;
        if (has === 'maybe') {
          const out: Decoded = { t: [], v: [], stale: undefined };
          c.decode(minT, maxT, out);
          if (out.t.length > 0) yield { labels: e.labels, t: out.t, v: out.v, stale: out.stale };
          continue;
        }
        yield new LazySeries(e.labels, c, minT, Math.min(maxT, c.lastT));
      }
    },
    selectLabels(matchers: readonly Matcher[], minT: number, maxT: number): Labels[] {
      const out: Labels[] = [];
      for (const e of matching(matchers)) {
        if (e.hist !== undefined) {
          if (windowWithHistograms(e, minT, maxT) !== undefined) out.push(e.labels);
          continue;
        }
        const has = e.chunks.hasSampleIn(minT, maxT);
        if (has === false) continue;
        if (has === 'maybe') {
          const probe: Decoded = { t: [], v: [], stale: undefined };
          e.chunks.decode(minT, maxT, probe);
          if (probe.t.length === 0) continue;
        }
        out.push(e.labels);
      }
      return out;
    },
    *selectLatest(matchers: readonly Matcher[], minT: number, maxT: number): Iterable<LatestSample> {
      for (const e of matching(matchers)) {
        const c = e.chunks;
        if (e.hist !== undefined) {
          const w = windowWithHistograms(e, minT, maxT);
          if (w === undefined) continue;
          const n = w.t.length;
          const hs = w.histograms;
          const hn = hs === undefined ? 0 : hs.t.length;
          if (hn > 0 && (n === 0 || hs!.t[hn - 1]! > w.t[n - 1]!))
            yield { labels: e.labels, t: hs!.t[hn - 1]!, v: 0, stale: false, h: hs!.h[hn - 1]! };
          else yield { labels: e.labels, t: w.t[n - 1]!, v: w.v[n - 1]!, stale: w.stale?.[n - 1] === 1 };
          continue;
        }
        if (c.lastT <= maxT) {
          if (c.lastT > minT && c.lastT > c.floorT)
            yield { labels: e.labels, t: c.lastT, v: c.lastV, stale: c.lastStale };
          continue;
        }
        // An evaluation in the past: decode the window.
        if (c.hasSampleIn(minT, maxT) === false) continue;
        const out: Decoded = { t: [], v: [], stale: undefined };
        c.decode(minT, maxT, out);
        const n = out.t.length;
        if (n > 0) yield { labels: e.labels, t: out.t[n - 1]!, v: out.v[n - 1]!, stale: out.stale?.[n - 1] === 1 };
      }
    },
    stats() {
      let samples = 0;
      let bytes = 0;
      for (const e of series.values()) {
        samples += e.chunks.sampleCount();
        bytes += e.chunks.bytes();
        const hist = e.hist;
        if (hist !== undefined) {
          samples += hist.t.length;
          for (const h of hist.h) bytes += 8 + histogramBytes(h);
        }
      }
      return {
        series: series.size,
        samples,
        bytes,
        bytesPerSeries: series.size === 0 ? 0 : bytes / series.size,
        bytesPerSample: samples === 0 ? 0 : bytes / samples,
      };
    },
  };
}
