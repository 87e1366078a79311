import type { ObsErrorCode } from '@obs/core';

/** Every error code that `@obs/health` throws or reports, with what it means (kept in step with docs/errors.md). */
export const healthErrorCodes: Readonly<Record<ObsErrorCode, string>> = Object.freeze({
  OBS_ERR_HEALTH_CHECK_INVALID:
    'A health check is malformed: no name, a reserved or badly formed name, no check function, or a bad timeout.',
  OBS_ERR_HEALTH_CHECK_DUPLICATE: 'Two health checks with the same name were registered.',
  OBS_ERR_HEALTH_CHECK_TIMEOUT:
    'A health check did not settle within its timeout; it counts as unhealthy and its signal is aborted with this reason.',
  OBS_ERR_HEALTH_CHECK_RESULT:
    'A health check returned something that is not a result, or details that are not JSON; it counts as unhealthy.',
  OBS_ERR_HEALTH_STOPPED: 'The checker stopped while a check ran; the check signal is aborted with this reason.',
  OBS_ERR_HEALTH_REFRESH_FAILED:
    'A background refresh of the health checks failed unexpectedly; the last results stay.',
});
