import {
  type ConfigIssue,
  type ConfigSection,
  defaultServiceName,
  ObsConfigError,
  type TracingConfig,
  type TracingExporterName,
  tryParseDuration,
  z,
} from '@obs/core';
import type { Attributes } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';

/** How OTLP spans are encoded on the wire. */
export type OtlpProtocol = 'http/protobuf' | 'http/json';

declare module '@obs/core' {
  interface TracingConfig {
    /** Encoding of the `otlp` exporter. @default "http/protobuf" */
    readonly otlp_protocol: OtlpProtocol;
    /** Extra HTTP headers sent to the collector (an API key, for instance); never logged by @obs/tracing. @default {} */
    readonly headers: Readonly<Record<string, string>>;
    /** Spans waiting for export at most; beyond it new spans are dropped and counted. @default 2048 */
    readonly max_queue_size: number;
    /** Spans per export request at most. @default 512 */
    readonly max_export_batch_size: number;
    /** Longest a finished span waits before its batch is sent, in ms. @default "5s" */
    readonly scheduled_delay: number;
    /** Longest one export request may take, in ms. @default "10s" */
    readonly export_timeout: number;
    /** Longest shutdown waits for queued spans to be flushed, in ms. @default "5s" */
    readonly flush_timeout: number;
    /** Finished spans kept by the `memory` exporter (the oldest go first). @default 1000 */
    readonly memory_max_spans: number;
    /** `service.version` of the resource; empty uses `npm_package_version`, else "unknown". @default "" */
    readonly service_version: string;
    /** `service.instance.id` of the resource; empty draws a random UUID per process. @default "" */
    readonly service_instance_id: string;
  }
}

// Milliseconds or a duration string: initTracing() takes either from code.
const duration = (defaultText: string) =>
  z
    .union([
      z.number().int().positive(),
      z.string().transform((text, ctx) => {
        const ms = tryParseDuration(text);
        if (ms === undefined || ms <= 0) {
          ctx.issues.push({
            code: 'custom',
            input: text,
            message: `must be a positive duration like "5s" or "500ms" (got ${JSON.stringify(text)})`,
          });
          return z.NEVER;
        }
        return ms;
      }),
    ])
    .prefault(defaultText);

const count = (defaultValue: number, max: number) => z.number().int().min(1).max(max).default(defaultValue);

// The keys @obs/tracing adds to core's `[monitoring.tracing]`.
const extraShape = {
  otlp_protocol: z.enum(['http/protobuf', 'http/json']).default('http/protobuf'),
  headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/), z.string()).default({}),
  max_queue_size: count(2048, 1_000_000),
  max_export_batch_size: count(512, 1_000_000),
  scheduled_delay: duration('5s'),
  export_timeout: duration('10s'),
  flush_timeout: duration('5s'),
  memory_max_spans: count(1000, 100_000),
  service_version: z.string().default(''),
  service_instance_id: z.string().default(''),
};

// The part of zod's refinement context used here, written out: `z` may be core's lazy stand-in, a value only.
interface IssueSink {
  addIssue(issue: { code: 'custom'; path: string[]; message: string }): void;
}

const batchWithinQueue = (value: { max_export_batch_size: number; max_queue_size: number }, ctx: IssueSink) => {
  if (value.max_export_batch_size > value.max_queue_size) {
    ctx.addIssue({
      code: 'custom',
      path: ['max_export_batch_size'],
      message: `must not exceed max_queue_size (${value.max_queue_size})`,
    });
  }
};

/** The keys this package adds to `[monitoring.tracing]`, validated by core with the rest of the config. */
export const tracingConfigSection: ConfigSection = {
  name: 'tracing',
  schema: z.object(extraShape),
};

// The whole section, for initTracing() used without a monitor.
const standaloneSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    service_name: z
      .string()
      .min(1)
      .default(() => defaultServiceName()),
    endpoint: z
      .string()
      .refine((s) => s === '' || (URL.canParse(s) && /^https?:$/.test(new URL(s).protocol)), {
        message: 'must be an http:// or https:// URL, or empty',
      })
      .default(''),
    sample_rate: z.number().min(0).max(1).default(0.1),
    exporter: z.enum(['auto', 'otlp', 'jaeger', 'console', 'memory']).default('auto'),
    ...extraShape,
  })
  .superRefine(batchWithinQueue);

/** `[monitoring.tracing]` as a program writes it: every key optional, durations as `"5s"` or milliseconds. */
export type TracingConfigInput = {
  readonly [K in keyof TracingConfig]?: TracingConfig[K] extends number
    ? K extends 'scheduled_delay' | 'export_timeout' | 'flush_timeout'
      ? number | string
      : number
    : TracingConfig[K];
};

/** Programmatic options that have no place in a config file. */
export interface TracingOptions {
  /** Sends spans here instead of the exporter the config names (through the same bounded batch queue). @default undefined */
  readonly spanExporter?: SpanExporter | undefined;
  /** Extra resource attributes (`deployment.environment.name`, for instance). @default {} */
  readonly resourceAttributes?: Attributes | undefined;
  /** `service.version` of the resource; wins over the config's `service_version`. @default undefined */
  readonly serviceVersion?: string | undefined;
  /** Register the provider, an AsyncLocalStorage context manager and W3C propagators as the OTel globals. @default true */
  readonly registerGlobals?: boolean | undefined;
}

/** The exporters once `auto` is resolved. */
export type ResolvedExporterName = Exclude<TracingExporterName, 'auto'>;

/** @internal Everything the runtime needs, checked and defaulted. */
export interface ResolvedTracing {
  readonly enabled: boolean;
  readonly serviceName: string;
  readonly serviceVersion: string;
  readonly instanceId: string;
  readonly sampleRate: number;
  readonly exporter: ResolvedExporterName;
  /** The collector URL without credentials (for otlp and jaeger). */
  readonly url: string;
  /** Basic-auth credentials taken out of the endpoint URL. */
  readonly username: string;
  readonly password: string;
  readonly protocol: OtlpProtocol;
  readonly headers: Readonly<Record<string, string>>;
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
  readonly scheduledDelayMs: number;
  readonly exportTimeoutMs: number;
  readonly flushTimeoutMs: number;
  readonly memoryMaxSpans: number;
  readonly spanExporter: SpanExporter | undefined;
  readonly resourceAttributes: Attributes;
  readonly registerGlobals: boolean;
}

/** `auto` resolved as the config reference says: memory without an endpoint, jaeger for `/api/traces`, otlp otherwise. */
export function resolveExporterName(exporter: TracingExporterName, endpoint: string): ResolvedExporterName {
  if (exporter !== 'auto') return exporter;
  if (endpoint === '') return 'memory';
  return new URL(endpoint).pathname.replace(/\/+$/, '').endsWith('/api/traces') ? 'jaeger' : 'otlp';
}

function collectorUrl(exporter: ResolvedExporterName, endpoint: string): URL | undefined {
  if (exporter === 'otlp') {
    const url = new URL(endpoint === '' ? 'http://localhost:4318' : endpoint);
    // A bare collector address gets the OTLP traces path, as OTEL_EXPORTER_OTLP_ENDPOINT does.
    if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/traces';
    return url;
  }
  if (exporter === 'jaeger') return new URL(endpoint === '' ? 'http://localhost:14268/api/traces' : endpoint);
  return undefined;
}

const isAttributeValue = (v: unknown): boolean =>
  ['string', 'number', 'boolean'].includes(typeof v) ||
  (Array.isArray(v) &&
    v.every((x) => x === null || x === undefined || ['string', 'number', 'boolean'].includes(typeof x)));

/**
 * Checks the programmatic options; call it before any I/O.
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` listing every bad option.
 */
export function checkTracingOptions(options: TracingOptions): void {
  const issues: ConfigIssue[] = [];
  const { spanExporter, resourceAttributes, serviceVersion, registerGlobals } = options;
  if (
    spanExporter !== undefined &&
    (typeof spanExporter !== 'object' ||
      spanExporter === null ||
      typeof spanExporter.export !== 'function' ||
      typeof spanExporter.shutdown !== 'function')
  ) {
    issues.push({ path: 'spanExporter', message: 'must be an OpenTelemetry SpanExporter (export and shutdown)' });
  }
  if (resourceAttributes !== undefined) {
    if (typeof resourceAttributes !== 'object' || resourceAttributes === null) {
      issues.push({ path: 'resourceAttributes', message: 'must be an object of attribute values' });
    } else {
      for (const [key, value] of Object.entries(resourceAttributes)) {
        if (!isAttributeValue(value))
          issues.push({ path: `resourceAttributes.${key}`, message: 'must be a string, number, boolean or array' });
      }
    }
  }
  if (serviceVersion !== undefined && (typeof serviceVersion !== 'string' || serviceVersion === '')) {
    issues.push({ path: 'serviceVersion', message: 'must be a non-empty string' });
  }
  if (registerGlobals !== undefined && typeof registerGlobals !== 'boolean') {
    issues.push({ path: 'registerGlobals', message: 'must be a boolean' });
  }
  if (issues.length > 0) throw new ObsConfigError('@obs/tracing', issues);
}

/**
 * Validates a `[monitoring.tracing]` table given without a monitor, filling every default.
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` listing every problem, with its key path.
 */
export function parseTracingConfig(input: TracingConfigInput | TracingConfig = {}): TracingConfig {
  const parsed = standaloneSchema.safeParse(input);
  if (!parsed.success) {
    throw new ObsConfigError(
      '@obs/tracing',
      parsed.error.issues.map((issue) => ({
        path: ['monitoring', 'tracing', ...issue.path.map(String)].join('.'),
        message: issue.message,
      })),
    );
  }
  return Object.freeze(parsed.data) as TracingConfig;
}

/** @internal Turns a validated section and the options into what the runtime needs. */
export function resolveTracing(config: TracingConfig, options: TracingOptions): ResolvedTracing {
  const exporter = resolveExporterName(config.exporter, config.endpoint);
  const url = collectorUrl(exporter, config.endpoint);
  const username = url === undefined ? '' : decodeURIComponent(url.username);
  const password = url === undefined ? '' : decodeURIComponent(url.password);
  if (url !== undefined) {
    url.username = '';
    url.password = '';
  }
  return Object.freeze({
    enabled: config.enabled,
    serviceName: config.service_name,
    serviceVersion:
      options.serviceVersion ??
      (config.service_version === '' ? (process.env['npm_package_version'] ?? 'unknown') : config.service_version),
    instanceId: config.service_instance_id,
    sampleRate: config.sample_rate,
    exporter,
    url: url?.href ?? '',
    username,
    password,
    protocol: config.otlp_protocol,
    headers: Object.freeze({ ...config.headers }),
    maxQueueSize: config.max_queue_size,
    // A batch larger than the queue can never fill: clamp rather than fail (only the default can be in conflict here).
    maxExportBatchSize: Math.min(config.max_export_batch_size, config.max_queue_size),
    scheduledDelayMs: config.scheduled_delay,
    exportTimeoutMs: config.export_timeout,
    flushTimeoutMs: config.flush_timeout,
    memoryMaxSpans: config.memory_max_spans,
    spanExporter: options.spanExporter,
    resourceAttributes: Object.freeze({ ...options.resourceAttributes }),
    registerGlobals: options.registerGlobals ?? true,
  });
}
