import type { z } from 'zod';
import { tryParseDuration } from '../duration.ts';
import { lazyZ, loadZod } from '../internal/lazy-zod.ts';
import { defaultServiceName } from './service-name.ts';

/**
 * The schema of one `[monitoring.<name>]` section. A plugin contributes its own: a section named like
 * one of core's (`prometheus`, `tracing`, `health`, `alerts`) adds keys to it; a new name adds a section.
 */
export interface ConfigSection {
  /** The section's name: `tracing` for `[monitoring.tracing]`. */
  readonly name: string;
  /** A zod object schema whose keys carry their defaults; build it with the `z` that core exports. */
  readonly schema: z.ZodObject;
}

/** Basic or bearer authentication for one listener. */
export interface EndpointAuth {
  /** Accept `Authorization: Bearer <token>`. */
  readonly bearer_token?: string | undefined;
  /** With `password`: accept `Authorization: Basic`. */
  readonly username?: string | undefined;
  readonly password?: string | undefined;
}

/** `[monitoring]`: the keys that are not in a sub-section. Durations are in milliseconds. */
export interface MonitoringConfig {
  /** Master switch: `false` turns every plugin off and binds nothing. @default true */
  readonly enabled: boolean;
  /** Port of the `metrics` listener; 0 picks a free one. @default 8081 */
  readonly metrics_port: number;
  /** Port of the `health` listener; the same port as metrics shares one server. @default 8082 */
  readonly health_port: number;
  /** Address the listeners bind. @default "0.0.0.0" */
  readonly host: string;
  /** Longest time to receive a whole request. @default "30s" */
  readonly request_timeout: number;
  /** Longest time to receive the request headers. @default "10s" */
  readonly headers_timeout: number;
  /** Longest time each plugin may take to start or stop. @default "10s" */
  readonly shutdown_timeout: number;
  /** Optional authentication per listener (`[monitoring.auth.metrics]`, `[monitoring.auth.health]`). */
  readonly auth: { readonly metrics?: EndpointAuth | undefined; readonly health?: EndpointAuth | undefined };
}

/** `[monitoring.prometheus]`. */
export interface PrometheusConfig {
  /** @default true */
  readonly enabled: boolean;
  /** Path of the scrape endpoint on the metrics listener. @default "/metrics" */
  readonly endpoint: string;
  /** First part of every metric name (`myapp` gives `myapp_api_requests_total`). @default "" */
  readonly namespace: string;
  /** Inserted between namespace and name when set. @default "" */
  readonly subsystem: string;
  /** Node's process metrics (CPU, event loop, GC). @default true */
  readonly default_metrics: boolean;
  /** How often samples are taken for in-process alerting. @default "15s" */
  readonly collect_interval: number;
  /** Push to this Prometheus Pushgateway when set. @default "" */
  readonly pushgateway_url: string;
}

/** The trace exporters; `auto` picks memory, jaeger or otlp from `endpoint`. */
export type TracingExporterName = 'auto' | 'otlp' | 'jaeger' | 'console' | 'memory';

/** `[monitoring.tracing]`. */
export interface TracingConfig {
  /** @default true */
  readonly enabled: boolean;
  /** The service name of traces. @default the app's package name, else "unknown_service:node" */
  readonly service_name: string;
  /** Collector URL; empty keeps spans in memory. @default "" */
  readonly endpoint: string;
  /** Share of new traces that are recorded, 0 to 1. @default 0.1 */
  readonly sample_rate: number;
  /** @default "auto" */
  readonly exporter: TracingExporterName;
}

/** `[monitoring.health]`. */
export interface HealthConfig {
  /** @default true */
  readonly enabled: boolean;
  /** Path of the health report on the health listener. @default "/health" */
  readonly endpoint: string;
  /** How often checks run in the background. @default "30s" */
  readonly checks_interval: number;
  /** Longest a single check may take. @default "5s" */
  readonly timeout: number;
  /** Whether `/health` shows each check's details; `when-authorized` needs the health listener's auth. @default "always" */
  readonly show_details: 'always' | 'never' | 'when-authorized';
}

/**
 * `[monitoring.alerts]`. Its keys (the seed's `smtp_host`, `smtp_port`, `webhook_url` and the rest) are declared
 * by @obs/alerts, in one place; without it the section is accepted and ignored, so the seed's config loads
 * with any set of plugins.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by @obs/alerts (declaration merging)
export interface AlertsConfig {}

/** The sub-sections, by name. Plugins add keys or sections by declaration merging. */
export interface ObsConfigSections {
  readonly prometheus: PrometheusConfig;
  readonly tracing: TracingConfig;
  readonly health: HealthConfig;
  readonly alerts: AlertsConfig;
}

/** The validated, frozen `[monitoring]` table. Printing or logging it redacts secrets. */
export type ObsConfig = MonitoringConfig & ObsConfigSections;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * A config value written as a Go-style duration (`"30s"`), validated and turned into milliseconds,
 * for plugins' config sections. Without a default (`undefined`), the key is optional.
 */
export function configDuration(defaultText: string, options?: { allowZero?: boolean }): z.ZodType<number>;
export function configDuration(
  defaultText: undefined,
  options?: { allowZero?: boolean },
): z.ZodType<number | undefined>;
export function configDuration(
  defaultText: string | undefined,
  { allowZero = false }: { allowZero?: boolean } = {},
): z.ZodType<number | undefined> {
  const schema = lazyZ.string().transform((text, ctx) => {
    const ms = tryParseDuration(text);
    if (ms === undefined) {
      ctx.issues.push({
        code: 'custom',
        input: text,
        message: `must be a duration like "30s", "5m" or "2h34m12s" (got ${JSON.stringify(text)})`,
      });
      return lazyZ.NEVER;
    }
    if (ms < 0 || (!allowZero && ms === 0)) {
      ctx.issues.push({
        code: 'custom',
        input: text,
        message: `must be ${allowZero ? 'zero or positive' : 'positive'} (got ${JSON.stringify(text)})`,
      });
      return lazyZ.NEVER;
    }
    return ms;
  });
  return defaultText === undefined ? schema.optional() : schema.prefault(defaultText);
}

const port = (defaultPort: number) => lazyZ.number().int().min(0).max(65_535).default(defaultPort);

const path = (defaultPath: string) =>
  lazyZ
    .string()
    .regex(/^\/[^\s?#]*$/, { message: 'must be a path starting with "/"' })
    .default(defaultPath);

const url = () =>
  lazyZ
    .string()
    .refine((s) => s === '' || (URL.canParse(s) && /^https?:$/.test(new URL(s).protocol)), {
      message: 'must be an http:// or https:// URL, or empty',
    })
    .default('');

const metricNamePart = (defaultValue: string) =>
  lazyZ
    .string()
    .refine((s) => s === '' || METRIC_NAME.test(s), { message: 'must match [a-zA-Z_:][a-zA-Z0-9_:]* or be empty' })
    .default(defaultValue);

const endpointAuth = lazyZ
  .strictObject({
    bearer_token: lazyZ.string().min(1).optional(),
    username: lazyZ.string().min(1).optional(),
    password: lazyZ.string().min(1).optional(),
  })
  .superRefine((auth, ctx) => {
    const basic = auth.username !== undefined || auth.password !== undefined;
    if (basic && (auth.username === undefined || auth.password === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'basic auth needs both username and password' });
    }
    if (basic && auth.bearer_token !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'set either bearer_token or username/password, not both' });
    }
  });

// `[monitoring]`'s own keys.
const monitoringShape = {
  enabled: lazyZ.boolean().default(true),
  metrics_port: port(8081),
  health_port: port(8082),
  host: lazyZ.string().min(1).default('0.0.0.0'),
  request_timeout: configDuration('30s'),
  headers_timeout: configDuration('10s'),
  shutdown_timeout: configDuration('10s'),
  auth: lazyZ.strictObject({ metrics: endpointAuth.optional(), health: endpointAuth.optional() }).prefault({}),
};

/** @internal The seed's four sections, with our additions, as core validates them. */
export const coreSections: readonly ConfigSection[] = [
  {
    name: 'prometheus',
    schema: lazyZ.strictObject({
      enabled: lazyZ.boolean().default(true),
      endpoint: path('/metrics'),
      namespace: metricNamePart(''),
      subsystem: metricNamePart(''),
      default_metrics: lazyZ.boolean().default(true),
      collect_interval: configDuration('15s'),
      pushgateway_url: url(),
    }),
  },
  {
    name: 'tracing',
    schema: lazyZ.strictObject({
      enabled: lazyZ.boolean().default(true),
      service_name: lazyZ
        .string()
        .min(1)
        .default(() => defaultServiceName()),
      endpoint: url(),
      sample_rate: lazyZ.number().min(0).max(1).default(0.1),
      exporter: lazyZ.enum(['auto', 'otlp', 'jaeger', 'console', 'memory']).default('auto'),
    }),
  },
  {
    name: 'health',
    schema: lazyZ.strictObject({
      enabled: lazyZ.boolean().default(true),
      endpoint: path('/health'),
      checks_interval: configDuration('30s'),
      timeout: configDuration('5s'),
      show_details: lazyZ.enum(['always', 'never', 'when-authorized']).default('always'),
    }),
  },
  // Declared by @obs/alerts; a placeholder so the seed's [monitoring.alerts] loads without it.
  { name: 'alerts', schema: lazyZ.looseObject({}) },
];

// Sections whose keys a plugin declares entirely: the plugin's schema replaces the placeholder.
const PLACEHOLDERS: ReadonlySet<string> = new Set(['alerts']);

/** @internal The schema of the whole `[monitoring]` table: core's keys and sections, extended by `extra`. */
export function buildConfigSchema(extra: readonly ConfigSection[]): z.ZodObject {
  loadZod(); // from here on, the schemas built at import are real zod schemas
  const sections = new Map<string, z.ZodObject>(coreSections.map((s) => [s.name, s.schema]));
  for (const section of extra) {
    const existing = sections.get(section.name);
    if (existing === undefined || PLACEHOLDERS.has(section.name)) {
      sections.set(section.name, section.schema);
      continue;
    }
    // The section's own keys join the existing ones; its object-level refinements (a check across its keys)
    // come along, which spreading its shape alone would lose.
    const merged = existing.safeExtend(section.schema.shape);
    const checks = (section.schema._zod.def.checks ?? []) as z.core.$ZodCheck<Record<string, unknown>>[];
    sections.set(section.name, checks.length === 0 ? merged : merged.check(...checks));
  }
  const shape: Record<string, z.ZodType> = { ...monitoringShape };
  for (const [name, schema] of sections) shape[name] = schema.prefault({});
  return lazyZ.strictObject(shape);
}
