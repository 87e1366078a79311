import type { ConfigSection, ObsPlugin, PluginContext } from '@obs/core';
import type { Tracer } from '@opentelemetry/api';
import { observeApiCalls } from './api.ts';
import { type Tracing, tracingHandle } from './init.ts';
import { createTracingRuntime, type TracingRuntime } from './internal/runtime.ts';
import { tracesHandler } from './memory.ts';
import { checkTracingOptions, resolveTracing, type TracingOptions, tracingConfigSection } from './options.ts';

declare module '@obs/core' {
  interface ObsServices {
    /** The tracer of @obs/tracing's provider (provided by @obs/tracing). */
    'tracing.tracer': Tracer;
  }
}

/** Options of {@link tracingPlugin}: the programmatic ones; the rest comes from `[monitoring.tracing]`. */
export type TracingPluginOptions = TracingOptions;

/** The tracing plugin, with its handle once set up. */
export interface TracingPlugin extends ObsPlugin {
  readonly name: '@obs/tracing';
  readonly section: 'tracing';
  readonly configSection: ConfigSection;
  /** The running provider, tracer and span ring; undefined before setup. */
  readonly tracing: Tracing | undefined;
}

/**
 * OpenTelemetry tracing from `[monitoring.tracing]`: provides `tracing.tracer`, serves the `memory`
 * ring at `/traces` on the metrics listener, registers the OTel globals on start and removes them on stop.
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` for bad options, before any I/O.
 */
export function tracingPlugin(options: TracingPluginOptions = {}): TracingPlugin {
  checkTracingOptions(options);
  let runtime: TracingRuntime | undefined;
  let handle: Tracing | undefined;
  return {
    name: '@obs/tracing',
    section: 'tracing',
    configSection: tracingConfigSection,
    get tracing() {
      return handle;
    },
    setup(ctx: PluginContext) {
      const { tracing } = ctx.config;
      const settings = resolveTracing(tracing, options);
      if (tracing.max_export_batch_size > tracing.max_queue_size) {
        ctx.logger.warn(
          `@obs/tracing: max_export_batch_size (${tracing.max_export_batch_size}) exceeds max_queue_size (${tracing.max_queue_size}); using ${tracing.max_queue_size}`,
        );
      }
      const name = ctx.name;
      runtime = createTracingRuntime(settings, {
        onError: (error) => ctx.reportError(error),
        onDropped: (count) => ctx.bus.emit('obs:dropped', { plugin: name, what: 'spans', count }),
        bus: ctx.bus,
        stopTimeoutMs: ctx.config.shutdown_timeout,
      });
      handle = tracingHandle(runtime, settings.enabled);
      observeApiCalls(ctx.bus);
      ctx.provide('tracing.tracer', runtime.tracer);
      if (runtime.store !== undefined) {
        ctx.endpoints.mount('metrics', '/traces', tracesHandler(runtime.store, settings.serviceName));
      }
      ctx.logger.info(`@obs/tracing: exporter ${runtime.exporter}${settings.url === '' ? '' : ` to ${settings.url}`}`, {
        sample_rate: settings.sampleRate,
      });
    },
    async start() {
      await runtime?.start();
    },
    async stop() {
      await runtime?.shutdown();
    },
  };
}
