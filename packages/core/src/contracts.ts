// The seams between plugins. Plugins never import each other, so the payloads that cross from one
// package to another are declared here, once; each event still has exactly one emitting package.

/** The status of one health check, or of the whole service. */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

/** What a health check found, with the latency the checker measured. */
export interface HealthCheckResult {
  readonly status: HealthStatus;
  readonly message?: string | undefined;
  readonly details?: Readonly<Record<string, unknown>> | undefined;
  readonly latencyMs: number;
}

/** The state of an alert, as Prometheus names it. */
export type AlertState = 'inactive' | 'pending' | 'firing';

/** One sample of one series, as `metrics:collected` carries it. */
export interface MetricSample {
  /** Series name, e.g. `trakt_api_requests_total` or `trakt_api_duration_seconds_bucket`. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** What a metric is, for consumers that build on the metric set (dashboards). */
export interface MetricDescriptor {
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram' | 'summary';
  readonly help: string;
  readonly labelNames: readonly string[];
  /** The unit suffix, when the name has one: `seconds`, `bytes`, `ratio`. */
  readonly unit?: string | undefined;
}

/** An alert rule as loaded, for consumers that show rules (dashboards' threshold lines and alert lists). */
export interface AlertRuleDescriptor {
  readonly name: string;
  /** The PromQL expression, comparison included: `trakt_cache_hit_ratio < 0.5`. */
  readonly expr: string;
  /** The threshold the expression compares against, when it has one. */
  readonly threshold?: number | undefined;
  /** How long the condition must hold before firing, in ms. */
  readonly forMs: number;
  readonly severity: 'info' | 'warning' | 'critical';
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** A label matcher, as PromQL writes it (`name="v"`, `!=`, `=~`, `!~`); regexes are fully anchored. */
export interface SeriesMatcher {
  readonly name: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
  /** The compiled pattern of a `=~` or `!~` matcher; compiled from `value` when absent. */
  readonly regex?: { test(text: string): boolean } | undefined;
}

/** One series of the metric store with its samples in the selected window, oldest first. */
export interface StoredSeries {
  /** Every label, the metric name as `__name__`. */
  readonly labels: Readonly<Record<string, string>>;
  /** Timestamps, ms since the epoch. */
  readonly t: ArrayLike<number>;
  readonly v: ArrayLike<number>;
  /** Non-zero where the sample is a staleness marker (the series disappeared); absent when none is. */
  readonly stale?: ArrayLike<number> | undefined;
}

/**
 * The app's recent samples, kept in memory by @obs/metrics at every collection: a PromQL sample source
 * (`instantQuery(store, expr, t)` of @obs/promql reads it), for consumers that evaluate rules or queries.
 */
export interface MetricStore {
  /** The series whose labels satisfy every matcher, with their samples in `(minT, maxT]` (ms). */
  select(matchers: readonly SeriesMatcher[], minT: number, maxT: number): Iterable<StoredSeries>;
  /** How much history is kept, in ms. */
  readonly retentionMs: number;
  /** The collection interval that feeds the store, in ms. */
  readonly intervalMs: number;
  /** Series and samples held. */
  stats(): { readonly series: number; readonly samples: number; readonly bytes: number };
}
