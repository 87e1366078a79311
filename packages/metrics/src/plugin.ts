import cluster from 'node:cluster';
import { hostname } from 'node:os';
import type { MetricSample, ObsPlugin, PluginContext } from '@obs/core';
import type { NamedSample } from '@obs/promql';
import { Registry } from 'prom-client';
import { answerClusterRequests, gatherCluster } from './cluster.ts';
import { createMetricsInternal, type Metrics, type MetricsInternals } from './create-metrics.ts';
import { metricsError } from './errors.ts';
import { encodeRegistry, expositionHandler, renderRegistry } from './exposition.ts';
import { CounterFamily, GaugeFamily, HistogramFamily } from './internal/families.ts';
import { warmUpMetricSet } from './internal/metric-set.ts';
import { prometheusSection } from './options.ts';
import type { RemoteWriter } from './remote-write.ts';
import type { EmbeddedStore, ExemplarSample } from './store.ts';

declare module '@obs/core' {
  interface ObsServices {
    /** The prom-client registry of @obs/metrics: register the app's own metrics in it. */
    'metrics.registry': Registry;
    /** The metric set: HTTP middleware, render, push. */
    metrics: Metrics;
  }
}

/** Options of {@link metricsPlugin}; everything else comes from `[monitoring.prometheus]`. */
export interface MetricsPluginOptions {
  /** @default a new Registry */
  readonly registry?: Registry;
  /**
   * Node cluster mode. `worker`: answer the primary's requests and serve no /metrics of its own.
   * `primary`: /metrics shows the sum of every worker's metrics and the primary's.
   * @default "worker" inside a cluster worker, otherwise none
   */
  readonly cluster?: 'primary' | 'worker' | 'none';
  /** How long the primary waits for each worker's metrics. @default 2000 */
  readonly clusterTimeoutMs?: number;
  /** Serve Prometheus's HTTP query API at `/api/v1` (false overrides `[monitoring.prometheus] query_api`). @default true */
  readonly queryApi?: boolean;
}

/** The metrics plugin, with the metric set once set up. */
export interface MetricsPlugin extends ObsPlugin {
  readonly name: '@obs/metrics';
  /** The metric set (after setup). @throws ObsError `OBS_ERR_MONITOR_STATE` before setup */
  readonly metrics: Metrics;
}

/**
 * Prometheus metrics for a monitor: the seed's `trakt_*` set fed by the bus, served at
 * `[monitoring.prometheus] endpoint` on the metrics listener, pushed to a Pushgateway when configured.
 */
export function metricsPlugin(options: MetricsPluginOptions = {}): MetricsPlugin {
  let metrics: MetricsInternals | undefined;
  let ctx: PluginContext | undefined;
  let collectTimer: NodeJS.Timeout | undefined;
  let pushTimer: NodeJS.Timeout | undefined;
  let pushing: Promise<void> | undefined;
  let stopAnswering: (() => void) | undefined;
  let store: EmbeddedStore | undefined;
  let writer: RemoteWriter | undefined;
  let collecting: Promise<void> | undefined;
  let warnedFull = false;
  const mode = options.cluster ?? (cluster.isWorker ? 'worker' : 'none');

  const push = (): Promise<void> => {
    const context = ctx;
    if (metrics === undefined || context === undefined) return Promise.resolve();
    const p = context.config.prometheus;
    if (p.pushgateway_url === '') return Promise.resolve();
    // One push at a time: a slow Pushgateway must not pile up requests.
    pushing ??= metrics
      .push({
        url: p.pushgateway_url,
        job: p.push_job,
        instance: p.push_instance === '' ? hostname() : p.push_instance,
      })
      .catch((err: unknown) => context.reportError(err))
      .finally(() => {
        pushing = undefined;
      });
    return pushing;
  };

  const collect = (final = false): Promise<void> => {
    collecting ??= collectOnce(final).finally(() => {
      collecting = undefined;
    });
    return collecting;
  };

  // `final`: the collection at stop, for remote write only (a batch run's last values), not for listeners.
  const collectOnce = async (final: boolean): Promise<void> => {
    const context = ctx;
    if (metrics === undefined || context === undefined) return;
    const listened = !final && context.bus.listenerCount('metrics:collected') > 0;
    if (!listened && store === undefined && writer === undefined) return;
    try {
      const samples = await metrics.snapshot();
      const at = Date.now();
      // Native histogram samples go to the store and remote write only (metrics:collected carries floats).
      const histograms: NamedSample[] = [];
      if (store !== undefined || writer !== undefined)
        for (const family of metrics.set.families)
          if (family instanceof HistogramFamily) family.nativeSamples(histograms);
      if (store === undefined) writer?.enqueue(at, samples, histograms);
      else {
        const exemplars: ExemplarSample[] = [];
        if (metrics.options.exemplars) for (const family of metrics.set.families) family.exemplarSamples(exemplars);
        const kept: MetricSample[] = [];
        const keptHistograms: NamedSample[] = [];
        const dropped = store.ingest(at, samples, exemplars, kept, histograms, keptHistograms);
        writer?.enqueue(at, kept, keptHistograms);
        if (dropped > 0) {
          context.bus.emit('obs:dropped', { plugin: '@obs/metrics', what: 'series', count: dropped });
          if (!warnedFull) {
            warnedFull = true;
            context.logger.warn(
              `[@obs/metrics] the embedded store holds max_series (${store.stats().series}) series: new series are dropped and counted in obs_dropped_total{what="series"}`,
            );
          }
        }
      }
      if (listened) context.bus.emit('metrics:collected', { at, samples });
    } catch (err) {
      context.reportError(
        metricsError('OBS_ERR_METRICS_COLLECT', `[@obs/metrics] snapshot failed: ${(err as Error).message}`, {
          cause: err,
        }),
      );
    }
  };

  return {
    name: '@obs/metrics',
    section: 'prometheus',
    configSection: prometheusSection,
    get metrics(): Metrics {
      if (metrics === undefined)
        throw metricsError(
          'OBS_ERR_MONITOR_STATE',
          '[@obs/metrics] the metric set exists once the monitor has started',
        );
      return metrics;
    },
    async setup(context) {
      ctx = context;
      const p = context.config.prometheus;
      const m = createMetricsInternal({
        namespace: p.namespace,
        subsystem: p.subsystem,
        buckets: p.buckets,
        defaultMetrics: p.default_metrics,
        exemplars: p.exemplars,
        cardinalityLimit: p.cardinality_limit,
        exportKinds: p.export_kinds,
        nativeHistograms: p.native_histograms
          ? {
              bucketFactor: p.bucket_factor,
              maxBuckets: p.max_buckets,
              zeroThreshold: p.zero_threshold,
              maxZeroThreshold: p.max_zero_threshold,
              minResetDurationMs: p.min_reset_duration,
              classicBuckets: p.classic_buckets,
            }
          : false,
        ...(options.registry === undefined ? {} : { registry: options.registry }),
        logger: context.logger,
        onError: (error) => context.reportError(error),
      });
      metrics = m;
      const { set } = m;
      const { bus } = context;
      // The monitor validated the recorders' values; the listeners only update series.
      bus.on('api:called', (e) => set.apiCalled(e.endpoint, e.status, e.durationMs));
      bus.on('cache:updated', (e) => set.cacheUpdated(e.hitRatio, e.sizeBytes, e.entries));
      bus.on('export:recorded', (e) => set.exportRecorded(e.kind, e.status, e.count));
      bus.on('workers:changed', (e) => set.workersChanged(e.active));
      bus.on('health:changed', (e) => set.healthChanged(e.check, e.current));
      bus.on('alert:changed', (e) => set.alertChanged(e.rule, e.state, e.labels));
      bus.on('obs:error', (e) => set.errorReported(e.plugin, (e.error as { code?: string }).code ?? e.error.name));
      bus.on('obs:dropped', (e) => set.dropped(e.plugin, e.what, e.count));
      bus.on('alert:notified', (e) => set.notified(e.channel, e.outcome));
      if (mode !== 'worker') {
        const onError = (err: unknown): void => context.reportError(err);
        const handler =
          mode === 'primary'
            ? expositionHandler(async (format) => {
                // The primary's own zero-valued workload series would skew averages: only workers do the work.
                const own = new Registry();
                for (const metric of m.registry.getMetricsAsArray())
                  if (!set.workload.has(metric.name)) own.registerMetric(metric as never);
                const all = await gatherCluster(own, options.clusterTimeoutMs ?? 2_000, onError);
                return format === 'protobuf'
                  ? encodeRegistry(all.registry, false, all.natives)
                  : renderRegistry(all.registry, format, false);
              }, onError)
            : m.handler();
        context.endpoints.mount('metrics', p.endpoint, (req, res, next) =>
          req.path === '/' ? handler(req, res, next) : next(),
        );
      }
      if (p.remote_write_url !== '' && mode !== 'worker') {
        const outcomes = set.register(
          new CounterFamily({
            name: 'obs_remote_write_samples_total',
            help: 'Samples of remote write by outcome: sent, retried (an attempt failed), rejected (4xx), dropped (queue full or unsent at stop)',
            labelNames: ['outcome'],
          }),
        );
        for (const outcome of ['sent', 'retried', 'rejected', 'dropped']) outcomes.child([outcome]);
        set.register(
          new GaugeFamily({
            name: 'obs_remote_write_pending_samples',
            help: 'Samples waiting in the remote write queue',
            collect: (family) => {
              family.child([]).value = writer?.pending() ?? 0;
            },
          }),
        );
        // Remote write, the embedded store and its query API (with the PromQL engine) are loaded only by the
        // runs that use them, not by every import of @obs/metrics (#22).
        const { createRemoteWriter } = await import('./remote-write.ts');
        writer = createRemoteWriter({
          url: p.remote_write_url,
          headers: p.remote_write_headers,
          bearerToken: p.remote_write_bearer_token,
          username: p.remote_write_username,
          password: p.remote_write_password,
          intervalMs: p.remote_write_interval,
          timeoutMs: p.remote_write_timeout,
          maxSamplesPerSend: p.remote_write_max_samples_per_send,
          capacity: p.remote_write_queue_capacity,
          externalLabels: {
            job: p.push_job,
            instance: p.push_instance === '' ? hostname() : p.push_instance,
            ...p.external_labels,
          },
          metadata: () =>
            m.descriptors().map((d) => ({ type: d.type, family: d.name, help: d.help, unit: d.unit ?? '' })),
          onOutcome: (outcome, n) => {
            outcomes.child([outcome]).value += n;
            if (outcome === 'dropped')
              bus.emit('obs:dropped', { plugin: '@obs/metrics', what: 'remote_write', count: n });
          },
          onError: (error) => context.reportError(error),
          logger: context.logger,
        });
      }
      context.provide('metrics.registry', m.registry);
      context.provide('metrics', m);
      context.provide('metrics.descriptors', () => m.descriptors());
      // A cluster worker's samples live in the primary's /metrics: it keeps no store of its own.
      if (p.retention > 0 && mode !== 'worker') {
        const { createEmbeddedStore } = await import('./store.ts');
        const embedded = createEmbeddedStore({
          retentionMs: p.retention,
          intervalMs: p.collect_interval,
          maxSeries: p.max_series,
        });
        store = embedded;
        context.provide('metrics.store', embedded);
        if (p.query_api && options.queryApi !== false) {
          const { queryApi } = await import('./query-api.ts');
          context.endpoints.mount(
            'metrics',
            '/api/v1',
            { postIsRead: true },
            queryApi({
              store: embedded,
              descriptors: () => m.descriptors(),
              timeoutMs: p.query_timeout,
              maxSamples: p.query_max_samples,
              concurrency: p.query_concurrency,
              rules: () => (context.has('alerts.status') ? context.need('alerts.status')() : undefined),
              onError: (error) => context.reportError(error),
            }),
          );
        }
      }
    },
    async start() {
      const p = ctx?.config.prometheus;
      if (metrics === undefined || p === undefined) return;
      metrics.startDefaultMetrics();
      warmUpMetricSet(metrics.options);
      if (mode === 'worker') stopAnswering = answerClusterRequests(metrics.registry);
      collectTimer = setInterval(() => void collect(), p.collect_interval);
      collectTimer.unref();
      // The store (and the remote write receiver) has samples from the start, not one interval later.
      if (store !== undefined || writer !== undefined) void collect();
      writer?.start();
      if (p.pushgateway_url !== '' && p.push_interval > 0) {
        pushTimer = setInterval(() => void push(), p.push_interval);
        pushTimer.unref();
      }
    },
    async stop() {
      clearInterval(collectTimer);
      clearInterval(pushTimer);
      stopAnswering?.();
      stopAnswering = undefined;
      collectTimer = undefined;
      pushTimer = undefined;
      // A batch job's last state reaches the Pushgateway and the remote write receiver even when it ran
      // shorter than an interval; the flush leaves a tenth of shutdown_timeout for the rest of the stop.
      if (metrics !== undefined && ctx !== undefined) {
        const budget = Math.floor(ctx.config.shutdown_timeout * 0.9);
        const remote = writer;
        const flushing = (async () => {
          if (remote === undefined) return;
          await collecting;
          await collect(true);
          await remote.stop(budget);
        })();
        await pushing;
        await Promise.all([push(), flushing]);
      }
      ctx = undefined;
    },
  };
}
