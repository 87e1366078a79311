import { ObsError } from '@obs/core';

/** The codes `@obs/tracing` throws or reports: a closed union, so a misspelt code does not compile. */
export type TracingErrorCode =
  | 'OBS_ERR_TRACING_EXPORT'
  | 'OBS_ERR_TRACING_FLUSH_TIMEOUT'
  | 'OBS_ERR_TRACING_GLOBAL_CONFLICT'
  | 'OBS_ERR_TRACING_USAGE';

/** Every error code that `@obs/tracing` throws or reports, with what it means (kept in step with docs/errors.md). */
export const tracingErrorCodes: Readonly<Record<TracingErrorCode, string>> = Object.freeze({
  OBS_ERR_TRACING_EXPORT:
    'A batch of spans could not be delivered (collector down, slow or answering an error); the spans were dropped.',
  OBS_ERR_TRACING_FLUSH_TIMEOUT:
    'Shutdown could not flush the queued spans within flush_timeout; the rest were dropped.',
  OBS_ERR_TRACING_GLOBAL_CONFLICT:
    'Another OpenTelemetry tracer provider, context manager or propagator is already registered globally.',
  OBS_ERR_TRACING_USAGE: 'A tracing helper was called with an invalid argument (a missing function or an empty name).',
});

/** @internal An `ObsError` with one of this package's codes: throw sites use it, so a misspelt code does not compile. */
export function tracingError(code: TracingErrorCode, message: string, options?: ErrorOptions): ObsError {
  return new ObsError(code, message, options);
}
