import { type CoreErrorCode, ObsError } from '@obs/core';

/** The codes `@obs/metrics` throws or reports: a closed union, so a misspelt code does not compile. */
export type MetricsErrorCode =
  | 'OBS_ERR_METRICS_COLLECT'
  | 'OBS_ERR_METRICS_PUSH'
  | 'OBS_ERR_METRICS_QUERY'
  | 'OBS_ERR_METRICS_REMOTE_WRITE'
  | 'OBS_ERR_METRICS_CLUSTER';

/** Every error code that `@obs/metrics` throws or reports (kept in step with docs/errors.md). */
export const metricsErrorCodes: Readonly<Record<MetricsErrorCode, string>> = Object.freeze({
  OBS_ERR_METRICS_COLLECT: 'Collecting the metrics for a scrape, a push or a snapshot failed.',
  OBS_ERR_METRICS_PUSH: 'A push to the Pushgateway failed (unreachable, or it answered an error).',
  OBS_ERR_METRICS_QUERY:
    'The query API (/api/v1) failed on our side while answering a request (answered 500, type internal).',
  OBS_ERR_METRICS_REMOTE_WRITE:
    'Remote write failed: the receiver is unreachable or answered 5xx/429 (retried), answered another 4xx (samples dropped), or samples were still queued when the shutdown timeout ran out.',
  OBS_ERR_METRICS_CLUSTER: 'A cluster worker did not answer a metrics request in time, or answered an error.',
});

/** @internal An `ObsError` with one of this package's codes: throw sites use it, so a misspelt code does not compile. */
export function metricsError(
  code: MetricsErrorCode | CoreErrorCode,
  message: string,
  options?: ErrorOptions,
): ObsError {
  return new ObsError(code, message, options);
}
