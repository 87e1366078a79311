import { createConsoleLogger, type EventBus, type ObsError, type TracingConfig } from '@obs/core';
import type { Tracer, TracerProvider } from '@opentelemetry/api';
import { observeApiCalls } from './api.ts';
import { createTracingRuntime, type TracingRuntime } from './internal/runtime.ts';
import type { SpanStore } from './memory.ts';
import {
  checkTracingOptions,
  parseTracingConfig,
  type ResolvedExporterName,
  resolveTracing,
  type TracingConfigInput,
  type TracingOptions,
} from './options.ts';

/** What {@link initTracing} sets up: the provider, a tracer and the way to stop it. */
export interface Tracing extends AsyncDisposable {
  /** False when `enabled = false`: then every span is a no-op. */
  readonly enabled: boolean;
  readonly provider: TracerProvider;
  /** A tracer of the provider (scope `@obs/tracing`). */
  readonly tracer: Tracer;
  /** The exporter in use, with `auto` resolved. */
  readonly exporter: ResolvedExporterName | 'custom' | 'none';
  /** The ring of recent spans with the `memory` exporter. */
  readonly spans: SpanStore | undefined;
  /** Sends the queued spans now. Never rejects. */
  forceFlush(): Promise<void>;
  /** Flushes (within `flush_timeout`), shuts the exporter down and unregisters the globals. Idempotent; never rejects. */
  shutdown(): Promise<void>;
}

/** Options of {@link initTracing} beyond {@link TracingOptions}. */
export interface InitTracingOptions extends TracingOptions {
  /** Receives `obs:error`, `obs:dropped` and the `api:called` of traceApiCall. @default undefined: errors go to stderr */
  readonly bus?: EventBus | undefined;
}

const PLUGIN = '@obs/tracing';

/** @internal Wraps a runtime as the public handle. */
export function tracingHandle(runtime: TracingRuntime, enabled: boolean): Tracing {
  const shutdown = (): Promise<void> => runtime.shutdown().catch(() => {});
  return {
    enabled,
    provider: runtime.provider,
    tracer: runtime.tracer,
    exporter: runtime.exporter,
    spans: runtime.store,
    forceFlush: () => runtime.forceFlush().catch(() => {}),
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}

/**
 * The seed's InitTracing without a monitor: builds a NodeTracerProvider (batch span processor,
 * ParentBased(TraceIdRatioBased(sample_rate)) sampler, W3C trace context and baggage, a resource with
 * service name, version and instance id), opens the exporter and registers the OTel globals.
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` for a bad config or option; ObsError
 *   `OBS_ERR_TRACING_GLOBAL_CONFLICT` when another provider is registered globally.
 */
export async function initTracing(
  config: TracingConfigInput | TracingConfig = {},
  options: InitTracingOptions = {},
): Promise<Tracing> {
  checkTracingOptions(options);
  const settings = resolveTracing(parseTracingConfig(config), options);
  const { bus } = options;
  const fallback = bus === undefined ? createConsoleLogger({ level: 'error' }) : undefined;
  const last = new Map<string, number>();
  const onError = (error: ObsError): void => {
    if (bus !== undefined) {
      bus.emit('obs:error', { plugin: PLUGIN, error });
      return;
    }
    // At most one line per code a minute: a collector that is down must not flood stderr.
    const now = Date.now();
    if ((last.get(error.code) ?? Number.NEGATIVE_INFINITY) > now - 60_000) return;
    last.set(error.code, now);
    fallback?.error(error.message, { code: error.code });
  };
  const runtime = createTracingRuntime(settings, {
    onError,
    onDropped: (count) => bus?.emit('obs:dropped', { plugin: PLUGIN, what: 'spans', count }),
    bus,
  });
  if (bus !== undefined) observeApiCalls(bus);
  await runtime.start();
  return tracingHandle(runtime, settings.enabled);
}
