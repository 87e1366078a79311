import type { Matcher } from './ast.ts';
import { type LatestSample, matches, type SampleSource, type SelectedSeries } from './engine.ts';
import { ChunkedSeries, type Decoded } from './internal/chunk.ts';
import { type Labels, labelsKey, seriesKey } from './labels.ts';

/** One sample of a snapshot given to {@link SampleStore.ingest}: a series name, its other labels and a value. */
export interface NamedSample {
  /** The metric name, stored as `__name__`. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
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
  /** Bytes held by the compressed chunks (their arenas, with the head chunks' slack, and the chunk tables). */
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

interface Entry {
  readonly labels: Labels;
  readonly chunks: ChunkedSeries;
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
      e = { labels: Object.freeze({ ...labels }), chunks: new ChunkedSeries() };
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
    // Samples older than the retention are hidden at once and their chunks go when wholly past it, as
    // Prometheus's head truncation drops whole chunks.
    c.dropBefore(t - retention);
    c.append(t, v, stale);
  };

  return {
    append(labels, t, v) {
      put(entry(labels), t, v, false);
    },
    markStale(labels, t) {
      put(entry(labels), t, Number.NaN, true);
    },
    ingest(at, samples) {
      const seen = new Set<Entry>();
      for (const s of samples) {
        const e = series.get(seriesKey(s.name, s.labels)) ?? entry({ ...s.labels, __name__: s.name });
        put(e, at, s.value, false);
        seen.add(e);
      }
      // Prometheus writes a staleness marker for every series a scrape no longer returns.
      for (const e of previous) if (!seen.has(e)) put(e, at, Number.NaN, true);
      previous = seen;
      // Series whose every sample has aged out are forgotten.
      for (const [key, e] of series) {
        const last = e.chunks.lastT;
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
