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
