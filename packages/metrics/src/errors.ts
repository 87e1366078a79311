import type { ObsErrorCode } from '@obs/core';

/** Every error code that `@obs/metrics` throws or reports (kept in step with docs/errors.md). */
export const metricsErrorCodes: Readonly<Record<ObsErrorCode, string>> = Object.freeze({
  OBS_ERR_METRICS_COLLECT: 'Collecting the metrics for a scrape, a push or a snapshot failed.',
  OBS_ERR_METRICS_PUSH: 'A push to the Pushgateway failed (unreachable, or it answered an error).',
  OBS_ERR_METRICS_QUERY:
    'The query API (/api/v1) failed on our side while answering a request (answered 500, type internal).',
  OBS_ERR_METRICS_REMOTE_WRITE:
    'Remote write failed: the receiver is unreachable or answered 5xx/429 (retried), answered another 4xx (samples dropped), or samples were still queued when the shutdown timeout ran out.',
  OBS_ERR_METRICS_CLUSTER: 'A cluster worker did not answer a metrics request in time, or answered an error.',
});
