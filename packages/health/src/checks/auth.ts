import { collectIssues, type DurationInput, formatSeconds, isoSeconds } from '../internal/format.ts';
import type { HealthCheck, HealthCheckOutcome } from '../types.ts';

/** What a token provider tells about the current token; the token itself is never needed nor shown. */
export interface TokenStatus {
  /** Whether there is a token at all. @default true */
  readonly present?: boolean | undefined;
  /** Whether the token is known to be valid (false: revoked or rejected). @default true */
  readonly valid?: boolean | undefined;
  /** When the token expires: a Date or ms since the epoch; undefined for a token that does not expire. */
  readonly expiresAt?: Date | number | undefined;
  /** Whether a refresh token is available to renew it. */
  readonly refreshable?: boolean | undefined;
}

/** Options of {@link authStatusCheck}. */
export interface AuthStatusOptions {
  /** Returns the current token's status (undefined or null: no token). */
  readonly token: () => TokenStatus | undefined | null | Promise<TokenStatus | undefined | null>;
  /** @default "auth_status" */
  readonly name?: string | undefined;
  /** A token expiring within this is degraded and needs a refresh, in ms or like `"10m"`. @default 1h */
  readonly refreshWithin?: DurationInput | undefined;
  /** @default true */
  readonly critical?: boolean | undefined;
  /** @default the checker's timeout */
  readonly timeout?: DurationInput | undefined;
}

/**
 * The seed's auth status check: valid or not, `expires_in`, whether a refresh is needed. Degraded when the token
 * expires within `refreshWithin`, unhealthy when it is missing, invalid or expired. Never shows the token.
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` for bad options.
 */
export function authStatusCheck(options: AuthStatusOptions): HealthCheck {
  const issues = collectIssues('@obs/health authStatusCheck');
  if (typeof options?.token !== 'function') issues.issues.push({ path: 'token', message: 'must be a function' });
  const name = issues.name('name', options?.name, 'auth_status');
  const refreshWithinMs = issues.duration('refreshWithin', options?.refreshWithin, 3_600_000, { allowZero: true });
  issues.optionalDuration('timeout', options?.timeout);
  issues.throwIfAny();

  async function check(): Promise<HealthCheckOutcome> {
    const token = await options.token();
    if (token === undefined || token === null || token.present === false)
      return { status: 'unhealthy', message: 'no access token', details: { token_valid: false, refresh_needed: true } };
    const refreshable = token.refreshable === undefined ? {} : { refreshable: token.refreshable };
    if (token.valid === false)
      return {
        status: 'unhealthy',
        message: 'access token rejected',
        details: { token_valid: false, refresh_needed: true, ...refreshable },
      };
    if (token.expiresAt === undefined)
      return {
        status: 'healthy',
        message: 'access token valid (no expiry)',
        details: { token_valid: true, refresh_needed: false, ...refreshable },
      };
    const expiresAt = token.expiresAt instanceof Date ? token.expiresAt.getTime() : Number(token.expiresAt);
    if (!Number.isFinite(expiresAt)) throw new TypeError('token expiresAt is not a date');
    const left = expiresAt - Date.now();
    const expiry = { expires_at: isoSeconds(expiresAt) };
    if (left <= 0)
      return {
        status: 'unhealthy',
        message: `access token expired ${formatSeconds(-left)} ago`,
        details: { token_valid: false, expires_in: '0s', ...expiry, refresh_needed: true, ...refreshable },
      };
    const soon = left <= refreshWithinMs;
    return {
      status: soon ? 'degraded' : 'healthy',
      message: soon ? `access token expires in ${formatSeconds(left)}; refresh needed` : 'access token valid',
      details: { token_valid: true, expires_in: formatSeconds(left), ...expiry, refresh_needed: soon, ...refreshable },
    };
  }

  return {
    name,
    critical: options.critical ?? true,
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
    check,
  };
}
