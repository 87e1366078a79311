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

/** A pending or firing alert, as Prometheus's `/api/v1/alerts` reports it. */
export interface ActiveAlertStatus {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly state: 'pending' | 'firing';
  /** When the condition started to hold, ms since the epoch. */
  readonly activeAt: number;
  /** Since when a `keep_firing_for` rule has kept it firing without its condition, ms since the epoch. */
  readonly keepFiringSince?: number | undefined;
  /** The expression's value at the last evaluation. */
  readonly value: number;
}

/** A rule's last evaluation, as Prometheus's `/api/v1/rules` reports it. */
export interface RuleStatus {
  readonly type: 'alerting' | 'recording';
  /** The alert name, or the recorded series' name. */
  readonly name: string;
  /** The expression as loaded. */
  readonly query: string;
  readonly labels: Readonly<Record<string, string>>;
  /** `unknown` before the first evaluation, `err` when the last one failed. */
  readonly health: 'ok' | 'err' | 'unknown';
  readonly lastError?: string | undefined;
  /** How long the last evaluation took, in ms. */
  readonly evaluationMs: number;
  /** When the rule last evaluated, ms since the epoch; undefined before its first evaluation. */
  readonly lastEvaluation: number | undefined;
  // Alerting rules only.
  readonly annotations?: Readonly<Record<string, string>> | undefined;
  readonly forMs?: number | undefined;
  readonly keepFiringForMs?: number | undefined;
  /** The highest state of its alerts. */
  readonly state?: AlertState | undefined;
  readonly alerts?: readonly ActiveAlertStatus[] | undefined;
}

/** A rule group's last evaluation, as Prometheus's `/api/v1/rules` reports it. */
export interface RuleGroupStatus {
  readonly name: string;
  /** The rule file it was loaded from ("" for rules given in code). */
  readonly file: string;
  readonly intervalMs: number;
  /** At most this many alerts or series per rule; 0: no limit. */
  readonly limit: number;
  readonly rules: readonly RuleStatus[];
  readonly evaluationMs: number;
  readonly lastEvaluation: number | undefined;
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
  /** The label sets of the series `select` would give, without reading their samples. */
  selectLabels?(
    matchers: readonly SeriesMatcher[],
    minT: number,
    maxT: number,
  ): readonly Readonly<Record<string, string>>[];
  /**
   * Instant selectors' fast path: each matching series' newest sample in `(minT, maxT]`, `stale` when it is a
   * staleness marker.
   */
  selectLatest?(
    matchers: readonly SeriesMatcher[],
    minT: number,
    maxT: number,
  ): Iterable<{ readonly labels: Readonly<Record<string, string>>; t: number; v: number; stale: boolean }>;
  /**
   * Writes a sample that a rule computed (a recorded series, `ALERTS`), as Prometheus's rule manager writes to its
   * TSDB; from then on, collected samples with that metric name are not stored (the rule's are).
   */
  append?(labels: Readonly<Record<string, string>>, t: number, v: number): void;
  /**
   * Writes a native histogram sample that a recording rule computed (`h` is @obs/promql's `FloatHistogram`), as
   * Prometheus's rule manager appends histograms.
   */
  appendHistogram?(labels: Readonly<Record<string, string>>, t: number, h: object): void;
  /** Ends a series a rule no longer returns (a staleness marker at `t`). */
  markStale?(labels: Readonly<Record<string, string>>, t: number): void;
}
