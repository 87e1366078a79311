// The samples the rules read and write. Until start, the plugin's own store fed by `metrics:collected`; when
// @obs/metrics keeps an embedded store (the `metrics.store` service), the rules read that one and write their
// results (recorded series, ALERTS, ALERTS_FOR_STATE) into it, as Prometheus's rule manager writes to its TSDB:
// nothing is kept twice, and the query API sees what the rules recorded.
import type { MetricStore } from '@obs/core';
import {
  createSampleStore,
  type Labels,
  type LatestSample,
  latestSamples,
  type Matcher,
  type SampleSource,
  type SampleStore,
  type SelectedSeries,
} from '@obs/promql';

/** A sample store that can switch to the metrics plugin's store. */
export interface RuleStore extends SampleStore {
  /** Reads and writes `shared` from now on (the own store's samples are dropped). */
  share(shared: Required<Pick<MetricStore, 'append' | 'markStale'>> & MetricStore): void;
  /** Whether the rules use the metrics plugin's store. */
  readonly shared: boolean;
}

/** Whether the metrics plugin's store takes rule results (an older or custom one may not). */
export function isWritableStore(
  store: MetricStore,
): store is Required<Pick<MetricStore, 'append' | 'markStale'>> & MetricStore {
  return typeof store.append === 'function' && typeof store.markStale === 'function';
}

export function createRuleStore(retentionMs: number): RuleStore {
  let own: SampleStore | undefined = createSampleStore({ retentionMs });
  let shared: (Required<Pick<MetricStore, 'append' | 'markStale'>> & MetricStore) | undefined;
  return {
    get shared() {
      return shared !== undefined;
    },
    share(store) {
      shared = store;
      own = undefined;
    },
    select(matchers: readonly Matcher[], minT: number, maxT: number): Iterable<SelectedSeries> {
      return shared !== undefined ? shared.select(matchers, minT, maxT) : own!.select(matchers, minT, maxT);
    },
    selectLabels(matchers: readonly Matcher[], minT: number, maxT: number): Labels[] {
      if (shared === undefined) return own!.selectLabels(matchers, minT, maxT);
      if (shared.selectLabels !== undefined) return [...shared.selectLabels(matchers, minT, maxT)];
      return Array.from(shared.select(matchers, minT, maxT), (s) => s.labels);
    },
    selectLatest(matchers: readonly Matcher[], minT: number, maxT: number): Iterable<LatestSample> {
      return shared === undefined
        ? own!.selectLatest(matchers, minT, maxT)
        : latestSamples(shared as SampleSource, matchers, minT, maxT);
    },
    append(labels, t, v) {
      if (shared !== undefined) shared.append(labels, t, v);
      else own!.append(labels, t, v);
    },
    appendHistogram(labels, t, h) {
      if (shared !== undefined) shared.appendHistogram?.(labels, t, h);
      else own!.appendHistogram?.(labels, t, h);
    },
    markStale(labels, t) {
      if (shared !== undefined) shared.markStale(labels, t);
      else own!.markStale(labels, t);
    },
    ingest(at, samples) {
      // The shared store is fed by its own plugin.
      own?.ingest(at, samples);
    },
    setRetention(ms) {
      own?.setRetention(ms);
    },
    stats() {
      if (shared === undefined) return own!.stats();
      const { series, samples, bytes } = shared.stats();
      return {
        series,
        samples,
        bytes,
        bytesPerSample: samples === 0 ? 0 : bytes / samples,
        bytesPerSeries: series === 0 ? 0 : bytes / series,
      };
    },
  };
}
