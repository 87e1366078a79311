import type { AlertState, HealthStatus, MetricDescriptor, MetricSample } from '@obs/core';
import { Registry } from 'prom-client';
import type { ResolvedMetricsOptions } from '../options.ts';
import {
  CounterFamily,
  type CounterSeries,
  type Family,
  FreeGaugeFamily,
  GaugeFamily,
  HistogramFamily,
  type HistogramSeries,
  isFamily,
  type JsonMetric,
} from './families.ts';
import { activeExemplar } from './otel.ts';

/** Builds a metric name as Prometheus' BuildFQName does: the non-empty parts joined by `_`. */
export function fqName(namespace: string, subsystem: string, name: string): string {
  return [namespace, subsystem, name].filter((p) => p !== '').join('_');
}

const HEALTH_VALUE: Readonly<Record<HealthStatus, number>> = { healthy: 1, degraded: 0.5, unhealthy: 0 };

interface EndpointHandles {
  readonly duration: HistogramSeries;
  readonly byStatus: Map<number, CounterSeries>;
}

/** The seed's metric set and @obs's own metrics, with the recorders that feed them. */
export interface MetricSet {
  readonly families: readonly Family<{ labels: Record<string, string>; text: string }>[];
  apiCalled(endpoint: string, status: number, durationMs: number): void;
  cacheUpdated(hitRatio: number, sizeBytes: number, entries: number | undefined): void;
  exportRecorded(kind: string, status: string, count: number): void;
  workersChanged(active: number): void;
  healthChanged(check: string, status: HealthStatus): void;
  alertChanged(rule: string, state: AlertState, labels: Readonly<Record<string, string>>): void;
  errorReported(plugin: string, code: string): void;
  dropped(plugin: string, what: string, count: number): void;
  notified(channel: string, outcome: string): void;
  /** A family for the HTTP middleware and other in-package users, registered like the others. */
  register<F extends Family<{ labels: Record<string, string>; text: string }>>(family: F): F;
  overflowCounter: (family: string) => void;
  /** The families the app's work feeds (API, cache, exports, workers): in a cluster, only workers have them. */
  readonly workload: ReadonlySet<string>;
}

/** Creates the families, registers them in `registry`, and returns their recorders. */
export function createMetricSet(
  options: ResolvedMetricsOptions,
  registry: Registry,
  onFirstOverflow: (family: string) => void,
): MetricSet {
  const { namespace, subsystem, cardinalityLimit, exemplars } = options;
  const name = (n: string): string => fqName(namespace, subsystem, n);
  const families: Family<{ labels: Record<string, string>; text: string }>[] = [];
  const warned = new Set<string>();
  const overflows = new CounterFamily({
    name: 'obs_series_overflow_total',
    help: "Recordings folded into a metric's overflow series because it reached its cardinality limit",
    labelNames: ['metric'],
  });
  const overflowCounter = (family: string): void => {
    overflows.child([family]).value++;
    if (!warned.has(family)) {
      warned.add(family);
      onFirstOverflow(family);
    }
  };
  const limited = { maxSeries: cardinalityLimit, onOverflow: overflowCounter };
  const register = <F extends Family<{ labels: Record<string, string>; text: string }>>(family: F): F => {
    families.push(family);
    registry.registerMetric(family as never);
    return family;
  };

  const requests = register(
    new CounterFamily({
      name: name('api_requests_total'),
      help: 'Total API requests',
      labelNames: ['endpoint', 'status'],
      ...limited,
    }),
  );
  const duration = register(
    new HistogramFamily({
      name: name('api_duration_seconds'),
      help: 'API request duration',
      labelNames: ['endpoint'],
      buckets: options.nativeHistograms?.classicBuckets === false ? [] : options.buckets,
      native: options.nativeHistograms,
      unit: 'seconds',
      ...limited,
    }),
  );
  const hitRatio = register(
    new GaugeFamily({
      name: name('cache_hit_ratio'),
      help: 'Cache hit ratio, from 0 to 1',
      aggregator: 'average',
      unit: 'ratio',
      lazy: true,
    }),
  );
  // The app's work (cache, workers) has no series until the app reports it: an app that never calls the
  // seed's recorders gets none, and a cache check or alert never reads a 0 nobody measured.
  const cacheSize = register(
    new GaugeFamily({ name: name('cache_size_bytes'), help: 'Cache size', unit: 'bytes', lazy: true }),
  );
  const cacheEntries = register(
    new GaugeFamily({ name: name('cache_entries'), help: 'Entries in the cache', lazy: true }),
  );
  const exportOps = register(
    new CounterFamily({
      name: name('export_operations_total'),
      help: 'Export operations, by kind and outcome',
      labelNames: ['type', 'status'],
      ...limited,
    }),
  );
  const exportItems = register(
    new CounterFamily({
      name: name('export_items_total'),
      help: 'Items exported, by kind and outcome',
      labelNames: ['type', 'status'],
      ...limited,
    }),
  );
  register(
    new GaugeFamily({
      name: name('system_memory_bytes'),
      help: 'Process memory usage, by type',
      labelNames: ['type'],
      unit: 'bytes',
      // Read at scrape time: process.memoryUsage() costs microseconds, so never on a hot path.
      collect(family) {
        const m = process.memoryUsage();
        family.child(['heap_used']).value = m.heapUsed;
        family.child(['heap_total']).value = m.heapTotal;
        family.child(['rss']).value = m.rss;
        family.child(['external']).value = m.external;
      },
    }),
  );
  const workers = register(
    new GaugeFamily({ name: name('worker_pool_active'), help: 'Workers currently busy', lazy: true }),
  );
  const health = register(
    new GaugeFamily({
      name: name('health_status'),
      help: 'Health check status: 1 healthy, 0.5 degraded, 0 unhealthy',
      labelNames: ['check'],
      aggregator: 'min',
      ...limited,
    }),
  );
  const alerts = register(
    new FreeGaugeFamily({
      name: 'ALERTS',
      help: 'Alerts that are pending or firing, as Prometheus exposes them',
      aggregator: 'max',
    }),
  );
  const errors = register(
    new CounterFamily({
      name: 'obs_errors_total',
      help: 'Run-time errors inside @obs, by plugin and code',
      labelNames: ['plugin', 'code'],
      ...limited,
    }),
  );
  const dropped = register(
    new CounterFamily({
      name: 'obs_dropped_total',
      help: 'Telemetry dropped on purpose, by plugin and what',
      labelNames: ['plugin', 'what'],
      ...limited,
    }),
  );
  const notifications = register(
    new CounterFamily({
      name: 'obs_alert_notifications_total',
      help: 'Alert notifications by channel and outcome (sent, failed attempt, dropped)',
      labelNames: ['channel', 'outcome'],
      ...limited,
    }),
  );
  register(overflows);

  // Error series that alert rules watch exist at 0 from the start, so a first error is an increase.
  const zeroKind = (kind: string): void => {
    for (const status of ['success', 'error']) {
      exportOps.child([kind, status]);
      exportItems.child([kind, status]);
    }
  };
  const knownKinds = new Set<string>();
  for (const kind of options.exportKinds) {
    knownKinds.add(kind);
    zeroKind(kind);
  }

  const endpoints = new Map<string, EndpointHandles>();
  const alertSeries = new Map<string, Record<string, string>>();

  const workload = new Set(
    [requests, duration, hitRatio, cacheSize, cacheEntries, exportOps, exportItems, workers].map((f) => f.name),
  );

  return {
    families,
    workload,
    register,
    overflowCounter,
    apiCalled(endpoint, status, durationMs) {
      let handles = endpoints.get(endpoint);
      if (handles === undefined) {
        handles = { duration: duration.child([endpoint]), byStatus: new Map() };
        // Past the limit the handles are the overflow series: do not let the cache grow with them.
        if (endpoints.size < cardinalityLimit) endpoints.set(endpoint, handles);
      }
      let counter = handles.byStatus.get(status);
      if (counter === undefined) {
        counter = requests.child([endpoint, `${status}`]);
        if (handles.byStatus.size < 64) handles.byStatus.set(status, counter);
      }
      counter.value++;
      const seconds = durationMs / 1000;
      const bucket = duration.observe(handles.duration, seconds);
      if (exemplars) {
        const exemplar = activeExemplar(seconds);
        if (exemplar !== undefined) {
          counter.exemplar = { ...exemplar, value: 1 };
          handles.duration.exemplars ??= [];
          handles.duration.exemplars[bucket] = exemplar;
        }
      }
    },
    cacheUpdated(ratio, sizeBytes, entries) {
      hitRatio.child([]).value = ratio;
      cacheSize.child([]).value = sizeBytes;
      if (entries !== undefined) cacheEntries.child([]).value = entries;
    },
    exportRecorded(kind, status, count) {
      if (!knownKinds.has(kind) && knownKinds.size < cardinalityLimit) {
        knownKinds.add(kind);
        zeroKind(kind);
      }
      exportOps.child([kind, status]).value++;
      exportItems.child([kind, status]).value += count;
    },
    workersChanged(active) {
      workers.child([]).value = active;
    },
    healthChanged(check, status) {
      health.child([check]).value = HEALTH_VALUE[status];
    },
    alertChanged(rule, state, labels) {
      const rest = Object.keys(labels)
        .filter((k) => k !== 'alertname' && k !== 'alertstate')
        .sort();
      const identity = `${rule}\u0001${rest.map((k) => `${k}=${labels[k]}`).join('\u0001')}`;
      const previous = alertSeries.get(identity);
      if (previous !== undefined) alerts.delete(previous);
      if (state === 'inactive') {
        alertSeries.delete(identity);
        return;
      }
      const series: Record<string, string> = { alertname: rule, alertstate: state };
      for (const k of rest) series[k] = labels[k]!;
      alerts.set(series, 1);
      alertSeries.set(identity, series);
    },
    errorReported(plugin, code) {
      errors.child([plugin, code]).value++;
    },
    dropped(plugin, what, count) {
      dropped.child([plugin, what]).value += count;
    },
    notified(channel, outcome) {
      notifications.child([channel, outcome]).value++;
    },
  };
}

/** Every sample of a registry, ours read directly and the others through get(). */
export async function collectSamples(registry: Registry): Promise<MetricSample[]> {
  const out: MetricSample[] = [];
  for (const metric of registry.getMetricsAsArray() as unknown[]) {
    if (isFamily(metric)) {
      metric.refresh();
      metric.samples(out);
      continue;
    }
    const data = (await (metric as { get(): Promise<JsonMetric> }).get()) as JsonMetric;
    for (const v of data.values ?? []) {
      const labels: Record<string, string> = {};
      for (const [k, value] of Object.entries(v.labels ?? {})) labels[k] = `${value}`;
      out.push({ name: v.metricName ?? data.name, labels, value: v.value });
    }
  }
  return out;
}

/** Descriptors of every metric in a registry. */
export function describeRegistry(registry: Registry): MetricDescriptor[] {
  return (registry.getMetricsAsArray() as unknown[]).map((metric) => {
    if (isFamily(metric)) return metric.descriptor();
    const m = metric as { name: string; help: string; type: MetricDescriptor['type']; labelNames?: readonly string[] };
    const unit = /_(seconds|bytes|ratio)(_total)?$/.exec(m.name)?.[1];
    return { name: m.name, type: m.type, help: m.help, labelNames: m.labelNames ?? [], unit };
  });
}

/**
 * Runs each recorder of a throwaway set (in a throwaway registry) a few times, so that V8 has compiled their
 * code before the app's first call: compiling it made a started monitor's first recordApiCall cost 0.5 to
 * 0.9 ms (#22). A few calls, not hundreds: the garbage of a longer warm-up would bring the next collection
 * forward, into the app's first calls.
 */
export function warmUpMetricSet(options: ResolvedMetricsOptions): void {
  const set = createMetricSet(options, new Registry(), () => {});
  for (let i = 0; i < 8; i++) {
    set.apiCalled(i < 4 ? 'warm_up' : 'warm_up_too', i & 1 ? 200 : 503, i);
    set.cacheUpdated(0.5, i, i);
    set.exportRecorded('warm_up', 'success', i);
    set.workersChanged(i);
  }
}
