import { ObsError } from '@obs/core';

/** The codes `@obs/health` throws or reports: a closed union, so a misspelt code does not compile. */
export type HealthErrorCode =
  | 'OBS_ERR_HEALTH_CHECK_INVALID'
  | 'OBS_ERR_HEALTH_CHECK_DUPLICATE'
  | 'OBS_ERR_HEALTH_CHECK_TIMEOUT'
  | 'OBS_ERR_HEALTH_CHECK_RESULT'
  | 'OBS_ERR_HEALTH_STOPPED'
  | 'OBS_ERR_HEALTH_REFRESH_FAILED';

/** Every error code that `@obs/health` throws or reports, with what it means (kept in step with docs/errors.md). */
export const healthErrorCodes: Readonly<Record<HealthErrorCode, string>> = Object.freeze({
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

/** @internal An `ObsError` with one of this package's codes: throw sites use it, so a misspelt code does not compile. */
export function healthError(code: HealthErrorCode, message: string, options?: ErrorOptions): ObsError {
  return new ObsError(code, message, options);
}
