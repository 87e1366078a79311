// The embedded store: the plugin's own collections kept for `retention`, bounded to `max_series`, with the
// exemplars (trace ids) seen at each collection. Provided as the `metrics.store` service and read by /api/v1.
import type { MetricSample, MetricStore, SeriesMatcher, StoredSeries } from '@obs/core';
import {
  anchoredRegex,
  createSampleStore,
  type FloatHistogram,
  labelsKey,
  type Matcher,
  type NamedSample,
  seriesKey,
} from '@obs/promql';

/** One exemplar as /api/v1/query_exemplars returns it. */
export interface StoredExemplar {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** ms since the epoch. */
  readonly t: number;
}

/** An exemplar of a series at a collection (series labels with `__name__`). */
export interface ExemplarSample {
  readonly series: Readonly<Record<string, string>>;
  readonly exemplar: StoredExemplar;
}

/** @internal The store with what the plugin and the query API need beyond the service. */
export interface EmbeddedStore extends MetricStore {
  selectLabels(
    matchers: readonly SeriesMatcher[],
    minT: number,
    maxT: number,
  ): readonly Readonly<Record<string, string>>[];
  /**
   * Adds a collection; returns how many new series were dropped by `max_series`. The float samples kept go to
   * `kept`; `histograms` are the native histogram samples of the same collection (one series per histogram),
   * those kept go to `keptHistograms`.
   */
  ingest(
    at: number,
    samples: readonly MetricSample[],
    exemplars: readonly ExemplarSample[],
    kept?: MetricSample[],
    histograms?: readonly NamedSample[],
    keptHistograms?: NamedSample[],
  ): number;
  /** The exemplars of the series matching one of the sets, in `[minT, maxT]`. */
  exemplars(
    sets: readonly (readonly SeriesMatcher[])[],
    minT: number,
    maxT: number,
  ): { labels: Readonly<Record<string, string>>; exemplars: StoredExemplar[] }[];
}

/** Options of {@link createEmbeddedStore}. */
export interface EmbeddedStoreOptions {
  readonly retentionMs: number;
  readonly intervalMs: number;
  readonly maxSeries: number;
  /** Exemplars kept per series. @default 16 */
  readonly exemplarsPerSeries?: number;
}

const toMatcher = (m: SeriesMatcher): Matcher =>
  m.op === '=' || m.op === '!=' || m.regex !== undefined
    ? (m as Matcher)
    : { name: m.name, op: m.op, value: m.value, regex: anchoredRegex(m.value) };

function matchesAll(matchers: readonly SeriesMatcher[], labels: Readonly<Record<string, string>>): boolean {
  for (const m of matchers) {
    const v = labels[m.name] ?? '';
    const re = m.regex ?? (m.op === '=~' || m.op === '!~' ? anchoredRegex(m.value) : undefined);
    const ok =
      m.op === '=' ? v === m.value : m.op === '!=' ? v !== m.value : m.op === '=~' ? re!.test(v) : !re!.test(v);
    if (!ok) return false;
  }
  return true;
}

/** @internal Creates the embedded store. */
export function createEmbeddedStore(options: EmbeddedStoreOptions): EmbeddedStore {
  const { retentionMs, intervalMs, maxSeries } = options;
  const perSeries = options.exemplarsPerSeries ?? 16;
  const samples = createSampleStore({ retentionMs });
  // The series admitted, with the time each was last collected: past max_series, new ones are refused.
  const admitted = new Map<string, number>();
  let previous = new Set<string>();
  const exemplars = new Map<string, { labels: Readonly<Record<string, string>>; list: StoredExemplar[] }>();
  // Metric names that rules write (recorded series, ALERTS): the copies a collection carries (the ALERTS family
  // that /metrics exposes for scrapers) would collide with them.
  const written = new Set<string>();

  return {
    retentionMs,
    intervalMs,
    select(matchers: readonly SeriesMatcher[], minT: number, maxT: number): Iterable<StoredSeries> {
      return samples.select(matchers.map(toMatcher), minT, maxT);
    },
    selectLabels(matchers: readonly SeriesMatcher[], minT: number, maxT: number) {
      return samples.selectLabels(matchers.map(toMatcher), minT, maxT);
    },
    selectLatest(matchers: readonly SeriesMatcher[], minT: number, maxT: number) {
      return samples.selectLatest(matchers.map(toMatcher), minT, maxT);
    },
    append(labels, t, v) {
      written.add(labels['__name__'] ?? '');
      samples.append(labels, t, v);
    },
    appendHistogram(labels, t, h) {
      written.add(labels['__name__'] ?? '');
      samples.appendHistogram?.(labels, t, h as FloatHistogram);
    },
    markStale(labels, t) {
      written.add(labels['__name__'] ?? '');
      samples.markStale(labels, t);
    },
    stats() {
      const { series, samples: n, bytes } = samples.stats();
      return { series, samples: n, bytes };
    },
    ingest(at, collected, seen, kept = [], histograms = [], keptHistograms = []) {
      let dropped = 0;
      const seenNow = new Set<string>();
      const admit = (s: { readonly name: string; readonly labels: Readonly<Record<string, string>> }): boolean => {
        const key = seriesKey(s.name, s.labels);
        if (!admitted.has(key) && admitted.size >= maxSeries) {
          dropped++;
          return false;
        }
        admitted.set(key, at);
        seenNow.add(key);
        return true;
      };
      for (const s of collected) if (admit(s)) kept.push(s);
      for (const s of histograms) if (admit(s)) keptHistograms.push(s);
      // A series that disappeared gets its staleness marker now, which keeps it in the sample store as long.
      for (const key of previous) if (!seenNow.has(key) && admitted.has(key)) admitted.set(key, at);
      previous = seenNow;
      const floats: readonly NamedSample[] = written.size === 0 ? kept : kept.filter((s) => !written.has(s.name));
      // One ingest for both: a series absent from it since the previous collection becomes stale.
      samples.ingest(at, keptHistograms.length === 0 ? floats : [...floats, ...keptHistograms]);
      const horizon = at - retentionMs;
      for (const [key, last] of admitted) if (last <= horizon) admitted.delete(key);
      for (const { series, exemplar } of seen) {
        const key = labelsKey(series);
        if (!admitted.has(key)) continue;
        let entry = exemplars.get(key);
        if (entry === undefined) {
          entry = { labels: series, list: [] };
          exemplars.set(key, entry);
        }
        const last = entry.list.at(-1);
        // The families keep the last traced observation: the same one is seen at every collection until the next.
        if (last !== undefined && last.t >= exemplar.t) continue;
        entry.list.push(exemplar);
        if (entry.list.length > perSeries) entry.list.shift();
      }
      for (const [key, entry] of exemplars) {
        while (entry.list.length > 0 && entry.list[0]!.t <= horizon) entry.list.shift();
        if (entry.list.length === 0) exemplars.delete(key);
      }
      return dropped;
    },
    exemplars(sets, minT, maxT) {
      const out: { labels: Readonly<Record<string, string>>; exemplars: StoredExemplar[] }[] = [];
      for (const entry of exemplars.values()) {
        if (!sets.some((set) => matchesAll(set, entry.labels))) continue;
        const list = entry.list.filter((e) => e.t >= minT && e.t <= maxT);
        if (list.length > 0) out.push({ labels: entry.labels, exemplars: list });
      }
      return out;
    },
  };
}
