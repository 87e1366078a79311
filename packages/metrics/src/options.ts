import {
  type ConfigIssue,
  type ConfigSection,
  configDuration,
  defaultServiceName,
  ObsConfigError,
  type ObsLogger,
  z,
} from '@obs/core';
import type { Registry } from 'prom-client';
import {
  DEFAULT_ZERO_THRESHOLD,
  type NativeConfig,
  type NativeHistogramOptions,
  nativeConfig,
  nativeOptionIssues,
} from './internal/native-histogram.ts';
import { RESERVED_HEADERS } from './internal/reserved-headers.ts';

export type { NativeHistogramOptions } from './internal/native-histogram.ts';

/** prom-client's default histogram buckets, in seconds. */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** Options of `createMetrics()`. The plugin fills them from `[monitoring.prometheus]`. */
export interface MetricsOptions {
  /** First part of every metric name of the set (`myapp` gives `myapp_api_requests_total`). @default "" */
  readonly namespace?: string;
  /** Inserted between namespace and name when not empty. @default "" */
  readonly subsystem?: string;
  /** Buckets of the API duration histogram, in seconds, increasing. @default prom-client's */
  readonly buckets?: readonly number[];
  /** Node's process metrics (prom-client's default metrics). @default true */
  readonly defaultMetrics?: boolean;
  /** Attach the active OpenTelemetry span to OpenMetrics exemplars. @default true */
  readonly exemplars?: boolean;
  /** Distinct label sets per metric before new ones fold into one overflow series. @default 2000 */
  readonly cardinalityLimit?: number;
  /** Export kinds whose `success` and `error` series start at 0 (the seed's: movies, ratings, watchlist). @default [] */
  readonly exportKinds?: readonly string[];
  /**
   * Native (exponential) histograms besides the classic buckets, for every histogram of the set (the API
   * duration, and the HTTP middleware's unless its own option says otherwise): `true` for client_golang's
   * defaults, or the options. @default false
   */
  readonly nativeHistograms?: boolean | NativeHistogramOptions;
  /** The registry to register in. @default a new Registry (never prom-client's global one) */
  readonly registry?: Registry;
  /** @default silent */
  readonly logger?: ObsLogger;
  /** Run-time failures (a failed push, a failed collection). @default ignored after logging */
  readonly onError?: (error: Error) => void;
}

/** {@link MetricsOptions} after validation. */
export interface ResolvedMetricsOptions {
  readonly namespace: string;
  readonly subsystem: string;
  readonly buckets: readonly number[];
  readonly defaultMetrics: boolean;
  readonly exemplars: boolean;
  readonly cardinalityLimit: number;
  readonly exportKinds: readonly string[];
  readonly nativeHistograms: NativeConfig | undefined;
}

/** Resolves a histogram's native option; `path` names it in the issues. */
export function resolveNative(
  value: boolean | NativeHistogramOptions | undefined,
  path: string,
  issues: ConfigIssue[],
): NativeConfig | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return nativeConfig({});
  if (typeof value !== 'object' || value === null) {
    issues.push({ path, message: 'must be a boolean or native histogram options' });
    return undefined;
  }
  const found = nativeOptionIssues(value);
  for (const [option, message] of found) issues.push({ path: `${path}.${option}`, message });
  return found.length === 0 ? nativeConfig(value) : undefined;
}

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const LABEL_NAME = /^(?!__)[a-zA-Z_][a-zA-Z0-9_]*$/;
const NAME_PART = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_VALUE = z.string().min(1);

/** Validates the options once, reporting every problem. @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` */
export function resolveMetricsOptions(input: MetricsOptions): ResolvedMetricsOptions {
  const issues: ConfigIssue[] = [];
  const namespace = input.namespace ?? '';
  const subsystem = input.subsystem ?? '';
  if (namespace !== '' && !NAME_PART.test(namespace))
    issues.push({ path: 'namespace', message: 'must match [a-zA-Z_:][a-zA-Z0-9_:]*' });
  if (subsystem !== '' && !NAME_PART.test(subsystem))
    issues.push({ path: 'subsystem', message: 'must match [a-zA-Z_:][a-zA-Z0-9_:]*' });
  const buckets = input.buckets ?? DEFAULT_BUCKETS;
  if (
    !Array.isArray(buckets) ||
    buckets.length === 0 ||
    buckets.some((b) => typeof b !== 'number' || !Number.isFinite(b))
  ) {
    issues.push({ path: 'buckets', message: 'must be a non-empty list of finite numbers' });
  } else if (buckets.some((b, i) => i > 0 && b <= buckets[i - 1]!)) {
    issues.push({ path: 'buckets', message: 'must be strictly increasing' });
  }
  const cardinalityLimit = input.cardinalityLimit ?? 2000;
  if (!Number.isInteger(cardinalityLimit) || cardinalityLimit < 1) {
    issues.push({ path: 'cardinalityLimit', message: 'must be an integer >= 1' });
  }
  const exportKinds = input.exportKinds ?? [];
  if (!Array.isArray(exportKinds) || exportKinds.some((k) => !LABEL_VALUE.safeParse(k).success)) {
    issues.push({ path: 'exportKinds', message: 'must be a list of non-empty strings' });
  }
  const nativeHistograms = resolveNative(input.nativeHistograms, 'nativeHistograms', issues);
  if (issues.length > 0) throw new ObsConfigError('@obs/metrics', issues);
  return Object.freeze({
    nativeHistograms,
    namespace,
    subsystem,
    buckets: Object.freeze([...buckets]),
    defaultMetrics: input.defaultMetrics ?? true,
    exemplars: input.exemplars ?? true,
    cardinalityLimit,
    exportKinds: Object.freeze([...exportKinds]),
  });
}

/** The keys @obs/metrics adds to `[monitoring.prometheus]`. */
export const prometheusSection: ConfigSection = {
  name: 'prometheus',
  schema: z
    .object({
      buckets: z
        .array(z.number())
        .min(1)
        .refine((b) => b.every((v, i) => i === 0 || v > b[i - 1]!), { message: 'must be strictly increasing' })
        .default([...DEFAULT_BUCKETS]),
      cardinality_limit: z.number().int().min(1).default(2000),
      exemplars: z.boolean().default(true),
      export_kinds: z.array(z.string().min(1)).default([]),
      push_interval: configDuration('30s', { allowZero: true }),
      push_job: z
        .string()
        .min(1)
        .default(() => defaultServiceName()),
      push_instance: z.string().default(''),
      retention: configDuration('1h', { allowZero: true }),
      max_series: z.number().int().min(1).default(50_000),
      query_api: z.boolean().default(true),
      query_timeout: configDuration('10s'),
      query_max_samples: z.number().int().min(1).default(5_000_000),
      query_concurrency: z.number().int().min(1).default(4),
      remote_write_url: z
        .string()
        .default('')
        .refine((u) => u === '' || (URL.canParse(u) && /^https?:$/.test(new URL(u).protocol)), {
          message: 'must be an http:// or https:// URL (or empty)',
        }),
      remote_write_interval: configDuration('15s'),
      remote_write_timeout: configDuration('30s'),
      remote_write_headers: z
        .record(z.string().regex(HEADER_NAME, 'must be an HTTP header name'), z.string())
        .refine((h) => Object.keys(h).every((k) => !RESERVED_HEADERS.has(k.toLowerCase())), {
          message: `cannot set ${[...RESERVED_HEADERS].join(', ')}: remote write sets them`,
        })
        .default({}),
      remote_write_bearer_token: z.string().default(''),
      remote_write_username: z.string().default(''),
      remote_write_password: z.string().default(''),
      remote_write_max_samples_per_send: z.number().int().min(1).default(2000),
      remote_write_queue_capacity: z.number().int().min(1).default(100_000),
      native_histograms: z.boolean().default(false),
      classic_buckets: z.boolean().default(true),
      bucket_factor: z.number().gt(1, 'must be > 1').finite().default(1.1),
      max_buckets: z.number().int().min(0).default(160),
      zero_threshold: z.number().min(0).finite().default(DEFAULT_ZERO_THRESHOLD),
      max_zero_threshold: z.number().min(0).finite().default(0),
      min_reset_duration: configDuration('0', { allowZero: true }),
      external_labels: z
        .record(z.string().regex(LABEL_NAME, 'must be a label name ([a-zA-Z_][a-zA-Z0-9_]*, not __*)'), z.string())
        .default({}),
    })
    .superRefine((p, ctx) => {
      const basic = p.remote_write_username !== '' || p.remote_write_password !== '';
      if (basic && p.remote_write_username === '')
        ctx.addIssue({
          code: 'custom',
          path: ['remote_write_username'],
          message: 'is needed with remote_write_password',
        });
      if (basic && p.remote_write_bearer_token !== '')
        ctx.addIssue({
          code: 'custom',
          path: ['remote_write_bearer_token'],
          message: 'set either remote_write_bearer_token or remote_write_username/password, not both',
        });
      const hasAuthHeader = Object.keys(p.remote_write_headers).some((k) => k.toLowerCase() === 'authorization');
      if (hasAuthHeader && (basic || p.remote_write_bearer_token !== ''))
        ctx.addIssue({
          code: 'custom',
          path: ['remote_write_headers'],
          message: 'has an Authorization header and basic or bearer auth is set too: choose one',
        });
    }),
};

declare module '@obs/core' {
  /** The keys @obs/metrics adds to `[monitoring.prometheus]`. */
  interface PrometheusConfig {
    /** Buckets of the API duration histogram, in seconds. @default prom-client's */
    readonly buckets: readonly number[];
    /** Distinct label sets per metric before folding into an overflow series. @default 2000 */
    readonly cardinality_limit: number;
    /** OpenMetrics exemplars from the active OpenTelemetry span. @default true */
    readonly exemplars: boolean;
    /** Export kinds whose success and error series start at 0. @default [] */
    readonly export_kinds: readonly string[];
    /** Push to the Pushgateway this often while running (0: only when stopping). @default "30s" */
    readonly push_interval: number;
    /** The `job` grouping label of pushes. @default the app's package name, else "unknown_service:node" */
    readonly push_job: string;
    /** The `instance` grouping label of pushes; empty uses the host name. @default "" */
    readonly push_instance: string;
    /** History kept by the embedded store (0: no store, no query API). @default "1h" */
    readonly retention: number;
    /** Series the embedded store holds; new series past it are dropped, counted and warned once. @default 50000 */
    readonly max_series: number;
    /** Prometheus's HTTP query API (`/api/v1/*`) on the metrics listener. @default true */
    readonly query_api: boolean;
    /** The longest a query may run (a request's `timeout` can only shorten it). @default "10s" */
    readonly query_timeout: number;
    /** Samples one query may load (per step of a range query). @default 5000000 */
    readonly query_max_samples: number;
    /** Queries evaluated at once; the others wait, within their timeout. @default 4 */
    readonly query_concurrency: number;
    /** Send every collected sample to this Prometheus remote write 1.0 endpoint (Prometheus, Mimir, Thanos, VictoriaMetrics); empty: off. @default "" */
    readonly remote_write_url: string;
    /** How often queued samples are sent. @default "15s" */
    readonly remote_write_interval: number;
    /** Longest one remote write request may take. @default "30s" */
    readonly remote_write_timeout: number;
    /** Extra request headers (`X-Scope-OrgID` for Mimir, an API key): a secret table, redacted when printed. @default {} */
    readonly remote_write_headers: Readonly<Record<string, string>>;
    /** `Authorization: Bearer` for remote write. @default "" */
    readonly remote_write_bearer_token: string;
    /** With `remote_write_password`: basic auth for remote write (credentials in the URL work too). @default "" */
    readonly remote_write_username: string;
    /** @default "" */
    readonly remote_write_password: string;
    /** Samples per request at most (Prometheus's `max_samples_per_send`). @default 2000 */
    readonly remote_write_max_samples_per_send: number;
    /** Samples the queue holds while the receiver is slow or down; past it new samples are dropped and counted. @default 100000 */
    readonly remote_write_queue_capacity: number;
    /** Every histogram of the set is also a native (exponential) histogram, scraped as protobuf; classic buckets stay. @default false */
    readonly native_histograms: boolean;
    /**
     * With native_histograms, keep the classic buckets alongside (for `_bucket` dashboards and text scrapers);
     * false exposes native buckets only (text then shows `le="+Inf"`, `_sum` and `_count`). @default true
     */
    readonly classic_buckets: boolean;
    /** Largest growth factor between native buckets: picks the schema (1.1 gives schema 3, 8 buckets per power of 2). @default 1.1 */
    readonly bucket_factor: number;
    /** Populated native buckets per series before the resolution is halved; 0: no limit. @default 160 */
    readonly max_buckets: number;
    /** Observations with an absolute value up to this go in the zero bucket. @default 2^-128 */
    readonly zero_threshold: number;
    /** How far the zero bucket may widen to stay within max_buckets (at or below zero_threshold: never). @default 0 */
    readonly max_zero_threshold: number;
    /** After this long since the last reset, a histogram over max_buckets is reset instead of coarsened; 0: never. @default "0" */
    readonly min_reset_duration: number;
    /**
     * Labels added to every remote-written series that lacks them, as Prometheus's `global.external_labels`
     * (besides `job` and `instance`, which default to `push_job` and `push_instance`). @default {}
     */
    readonly external_labels: Readonly<Record<string, string>>;
  }
}
