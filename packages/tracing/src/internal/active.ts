import type { EventBus } from '@obs/core';
import type { Tracer, TracerProvider } from '@opentelemetry/api';
import { otelApi } from './otel.ts';

const { trace } = otelApi;

/** @internal The part of the bus the helpers use: a Monitor's, a PluginContext's or a standalone one. */
export type ApiBus = Pick<EventBus, 'emit' | 'on'>;

interface Active {
  readonly provider: TracerProvider;
  readonly scope: Tracer;
  readonly api: Tracer;
  readonly bus: ApiBus | undefined;
  /** The ratio bound of the provider's sampler, for a SERVER root span (ids.ts startRootByRatio). */
  readonly serverRootBound: number;
}

// The running @obs/tracing provider, so that withSpan and traceApiCall reach its tracers directly
// instead of through the global proxy (a getTracer lookup per call). Cleared on stop.
let active: Active | undefined;

/** @internal */
export function activate(provider: TracerProvider, bus: ApiBus | undefined, serverRootBound: number): void {
  active = {
    provider,
    scope: provider.getTracer('@obs/tracing'),
    api: provider.getTracer('trakt-api'),
    bus,
    serverRootBound,
  };
}

/** @internal */
export function deactivate(provider: TracerProvider): void {
  if (active?.provider === provider) active = undefined;
}

/** @internal The tracer withSpan and the middleware use: ours when running, else the global one. */
export function scopeTracer(): Tracer {
  return active?.scope ?? trace.getTracer('@obs/tracing');
}

/** @internal The sampler's ratio bound when `tracer` is the running provider's scope tracer, else undefined. */
export function serverRootBound(tracer: Tracer): number | undefined {
  return active !== undefined && active.scope === tracer ? active.serverRootBound : undefined;
}

/** @internal The seed's `otel.Tracer("trakt-api")`. */
export function apiTracer(): Tracer {
  return active?.api ?? trace.getTracer('trakt-api');
}

/** @internal The bus of the running tracing plugin, for traceApiCall called without one. */
export function activeBus(): ApiBus | undefined {
  return active?.bus;
}
