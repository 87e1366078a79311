export type { ApiCallScope, TraceApiCallContext } from './api.ts';
export { traceApiCall, withSpan } from './api.ts';
export type { TracingErrorCode } from './errors.ts';
export { tracingErrorCodes } from './errors.ts';
export type { TracedRequest, TracingMiddleware, TracingMiddlewareOptions } from './http.ts';
export { tracedFetch, traceHeaders, tracingMiddleware } from './http.ts';
export type { InitTracingOptions, Tracing } from './init.ts';
export { initTracing } from './init.ts';
export type { SpanQuery, SpanRecord, SpanStore } from './memory.ts';
export type {
  OtlpProtocol,
  ResolvedExporterName,
  TracingConfigInput,
  TracingOptions,
} from './options.ts';
export { parseTracingConfig, resolveExporterName, tracingConfigSection } from './options.ts';
export type { TracingPlugin, TracingPluginOptions } from './plugin.ts';
export { tracingPlugin } from './plugin.ts';
