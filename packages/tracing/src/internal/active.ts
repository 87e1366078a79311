import type { EventBus } from '@obs/core';
import { type Tracer, type TracerProvider, trace } from '@opentelemetry/api';

/** @internal The part of the bus the helpers use: a Monitor's, a PluginContext's or a standalone one. */
export type ApiBus = Pick<EventBus, 'emit' | 'on'>;

interface Active {
  readonly provider: TracerProvider;
  readonly scope: Tracer;
  readonly api: Tracer;
  readonly bus: ApiBus | undefined;
}

// The running @obs/tracing provider, so that withSpan and traceApiCall reach its tracers directly
// instead of through the global proxy (a getTracer lookup per call). Cleared on stop.
let active: Active | undefined;

/** @internal */
export function activate(provider: TracerProvider, bus: ApiBus | undefined): void {
  active = { provider, scope: provider.getTracer('@obs/tracing'), api: provider.getTracer('trakt-api'), bus };
}

/** @internal */
export function deactivate(provider: TracerProvider): void {
  if (active?.provider === provider) active = undefined;
}

/** @internal The tracer withSpan and the middleware use: ours when running, else the global one. */
export function scopeTracer(): Tracer {
  return active?.scope ?? trace.getTracer('@obs/tracing');
}

/** @internal The seed's `otel.Tracer("trakt-api")`. */
export function apiTracer(): Tracer {
  return active?.api ?? trace.getTracer('trakt-api');
}

/** @internal The bus of the running tracing plugin, for traceApiCall called without one. */
export function activeBus(): ApiBus | undefined {
  return active?.bus;
}
