import type { ObsErrorCode } from '@obs/core';

/** Every error code that `@obs/tracing` throws or reports, with what it means (kept in step with docs/errors.md). */
export const tracingErrorCodes: Readonly<Record<ObsErrorCode, string>> = Object.freeze({
  OBS_ERR_TRACING_EXPORT:
    'A batch of spans could not be delivered (collector down, slow or answering an error); the spans were dropped.',
  OBS_ERR_TRACING_FLUSH_TIMEOUT:
    'Shutdown could not flush the queued spans within flush_timeout; the rest were dropped.',
  OBS_ERR_TRACING_GLOBAL_CONFLICT:
    'Another OpenTelemetry tracer provider, context manager or propagator is already registered globally.',
  OBS_ERR_TRACING_USAGE: 'A tracing helper was called with an invalid argument (a missing function or an empty name).',
});
