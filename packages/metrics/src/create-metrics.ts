import type { MetricDescriptor, MetricSample, ObsLogger } from '@obs/core';
import { silentLogger } from '@obs/core';
import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { metricsError } from './errors.ts';
import { CONTENT_TYPES, encodeRegistry, expositionHandler, renderRegistry } from './exposition.ts';
import { createHistogram, type Histogram, type HistogramOptions } from './histogram.ts';
import { createHttpMiddleware, type HttpMetricsOptions } from './http-middleware.ts';
import { HistogramFamily, type TextFormat } from './internal/families.ts';
import { collectSamples, createMetricSet, describeRegistry, type MetricSet } from './internal/metric-set.ts';
import { type MetricsOptions, type ResolvedMetricsOptions, resolveMetricsOptions } from './options.ts';
import { type PushOptions, pushText } from './pushgateway.ts';

/** The seed's metric set with its own registry: record, render, serve, push. */
export interface Metrics {
  /** The prom-client registry every metric is in; register the app's own metrics here. */
  readonly registry: Registry;
  /** Counts one API call and observes its duration (with an exemplar when a span is recording). */
  recordApiCall(endpoint: string, status: number, durationMs: number): void;
  /** Sets the cache gauges: hit ratio 0..1, size in bytes, entries. */
  updateCacheStats(hitRatio: number, sizeBytes: number, entries?: number): void;
  /** Counts one export operation of `kind` with its outcome, and its `count` items. */
  recordExport(kind: string, status: string, count: number): void;
  /** Sets the busy worker gauge. */
  setActiveWorkers(active: number): void;
  /** The exposition text: Prometheus 0.0.4 (default) or OpenMetrics 1.0.0. */
  render(format?: TextFormat): Promise<string>;
  /** The exposition in Prometheus's protobuf format (delimited MetricFamily messages), native histograms included. */
  encode(): Promise<Uint8Array>;
  /** An express handler serving the exposition, negotiated and gzipped (mount it at `/metrics`). */
  handler(): RequestHandler;
  /** Express middleware recording request count, duration and sizes by method, route template and status (one per registry: later calls return the first). */
  httpMiddleware(options?: HttpMetricsOptions): RequestHandler;
  /**
   * A histogram of the app's own, registered in this set: exposed (text, OpenMetrics, protobuf with its native
   * buckets), stored, pushed and summed across a cluster like the built-in ones.
   * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` for a bad or taken name, bad labels, buckets or native options.
   */
  histogram(options: HistogramOptions): Histogram;
  /** Every sample now, for rule evaluation. */
  snapshot(): Promise<MetricSample[]>;
  /** What each metric is (for dashboards). */
  descriptors(): MetricDescriptor[];
  /** Pushes every metric to a Pushgateway. @throws ObsError `OBS_ERR_METRICS_PUSH` */
  push(options: PushOptions): Promise<void>;
}

/** @internal What the plugin needs beyond the public API. */
export interface MetricsInternals extends Metrics {
  readonly set: MetricSet;
  readonly options: ResolvedMetricsOptions;
  startDefaultMetrics(): void;
}

const MISNAMED_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

const isCount = (n: unknown): boolean => typeof n === 'number' && Number.isInteger(n) && n >= 0;
const isAmount = (n: unknown): boolean => typeof n === 'number' && n >= 0 && Number.isFinite(n);

/**
 * Creates the metric set in its own registry, for an app without a monitor.
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` for bad options.
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const metrics = createMetricsInternal(options);
  if (metrics.options.defaultMetrics) metrics.startDefaultMetrics();
  return metrics;
}

/** @internal Like createMetrics, without starting the default metrics (the plugin does that in start). */
export function createMetricsInternal(options: MetricsOptions): MetricsInternals {
  const resolved = resolveMetricsOptions(options);
  const registry = options.registry ?? new Registry();
  const logger: ObsLogger = options.logger ?? silentLogger;
  const fail = (error: Error): void => {
    logger.error(error.message);
    options.onError?.(error);
  };
  const set = createMetricSet(resolved, registry, (family) =>
    logger.warn(
      `[@obs/metrics] ${family} reached its cardinality limit (${resolved.cardinalityLimit} label sets): new label sets now fold into one series labelled __overflow__`,
    ),
  );
  const render = (format: TextFormat = 'prometheus'): Promise<string> =>
    renderRegistry(registry, format, resolved.exemplars);
  const encode = (): Promise<Uint8Array> => encodeRegistry(registry, resolved.exemplars);
  const invalid = (what: string, value: unknown): void =>
    fail(metricsError('OBS_ERR_RECORD_INVALID', `[@obs/metrics] ${what} (got ${String(value)}); dropped`));
  let defaultsStarted = false;
  let http: RequestHandler | undefined;

  return {
    registry,
    set,
    options: resolved,
    startDefaultMetrics() {
      if (defaultsStarted || !resolved.defaultMetrics) return;
      defaultsStarted = true;
      collectDefaultMetrics({ register: registry });
      // prom-client names three gauges *_total, which Prometheus reserves for counters (promtool rejects
      // them); each is the sum of its per-type sibling (nodejs_active_handles{type} and so on).
      for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(name);
    },
    recordApiCall(endpoint, status, durationMs) {
      if (typeof endpoint !== 'string' || endpoint === '')
        invalid('recordApiCall: endpoint must be a non-empty string', endpoint);
      else if (!isCount(status)) invalid('recordApiCall: status must be an HTTP status code', status);
      else if (!isAmount(durationMs)) invalid('recordApiCall: durationMs must be a number >= 0', durationMs);
      else set.apiCalled(endpoint, status, durationMs);
    },
    updateCacheStats(hitRatio, sizeBytes, entries) {
      if (!(hitRatio >= 0 && hitRatio <= 1)) invalid('updateCacheStats: hitRatio must be in 0..1', hitRatio);
      else if (!isAmount(sizeBytes)) invalid('updateCacheStats: sizeBytes must be a number >= 0', sizeBytes);
      else if (entries !== undefined && !isCount(entries))
        invalid('updateCacheStats: entries must be an integer >= 0', entries);
      else set.cacheUpdated(hitRatio, sizeBytes, entries);
    },
    recordExport(kind, status, count) {
      if (typeof kind !== 'string' || kind === '') invalid('recordExport: kind must be a non-empty string', kind);
      else if (typeof status !== 'string' || status === '')
        invalid('recordExport: status must be a non-empty string', status);
      else if (!isCount(count)) invalid('recordExport: count must be an integer >= 0', count);
      else set.exportRecorded(kind, status, count);
    },
    setActiveWorkers(active) {
      if (!isCount(active)) invalid('setActiveWorkers: active must be an integer >= 0', active);
      else set.workersChanged(active);
    },
    render,
    encode,
    handler: () =>
      expositionHandler(
        (format) => (format === 'protobuf' ? encode() : render(format)),
        (err) =>
          fail(
            metricsError('OBS_ERR_METRICS_COLLECT', `[@obs/metrics] collection failed: ${(err as Error).message}`, {
              cause: err,
            }),
          ),
      ),
    // One set of HTTP families per registry: the first call's options define them.
    httpMiddleware: (httpOptions) => {
      http ??= createHttpMiddleware(set, resolved.cardinalityLimit, resolved.nativeHistograms, httpOptions);
      return http;
    },
    histogram: (histogramOptions) =>
      createHistogram(
        set,
        {
          buckets: resolved.buckets,
          native: resolved.nativeHistograms,
          cardinalityLimit: resolved.cardinalityLimit,
          exemplars: resolved.exemplars,
        },
        histogramOptions,
        (name) => registry.getSingleMetric(name) !== undefined,
        invalid,
      ),
    snapshot: () => collectSamples(registry),
    descriptors: () => describeRegistry(registry),
    // Native histograms reach the Pushgateway (1.5+) only as protobuf; without them the text is pushed, as before.
    push: async (pushOptions) =>
      set.families.some((f) => f instanceof HistogramFamily && f.native !== undefined && f.size > 0)
        ? pushText(pushOptions, await encode(), CONTENT_TYPES.protobuf)
        : pushText(pushOptions, await render('prometheus')),
  };
}
