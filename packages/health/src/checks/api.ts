import { formatDuration, redactUrl } from '@obs/core';
import { collectIssues, type DurationInput } from '../internal/format.ts';
import type { HealthCheck, HealthCheckOutcome } from '../types.ts';

/** Options of {@link apiConnectivityCheck}. */
export interface ApiConnectivityOptions {
  /** The URL to GET: a cheap authenticated endpoint of the API. Only its origin and path are ever shown. */
  readonly url: string | URL;
  /** @default "api_connectivity" */
  readonly name?: string | undefined;
  /** Name of the API in messages. @default "API" */
  readonly label?: string | undefined;
  /** Request headers (API key, bearer token), or a function giving them per run. Never shown. @default {} */
  readonly headers?:
    | Readonly<Record<string, string>>
    | (() => Readonly<Record<string, string>> | Promise<Readonly<Record<string, string>>>)
    | undefined;
  /** Whether a 2xx must carry JSON (an HTML page there is an outage page or a captive portal). @default true */
  readonly expectJson?: boolean | undefined;
  /** A 2xx slower than this is degraded, in ms or like `"2s"`. @default 2s */
  readonly slowAfter?: DurationInput | undefined;
  /** @default true */
  readonly critical?: boolean | undefined;
  /** @default the checker's timeout */
  readonly timeout?: DurationInput | undefined;
}

const BODY_LIMIT = 64 * 1024;

// Reads at most BODY_LIMIT bytes and releases the connection, whatever the body's size.
async function readHead(response: Response): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < BODY_LIMIT) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, BODY_LIMIT).toString('utf8');
}

/** Retry-After as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value.trim());
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function networkReason(err: unknown): { code: string | undefined; text: string } {
  const error = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = error.cause?.code;
  // Network errors may quote the URL they failed on: never with its credentials.
  const text = redactUrl(error.cause?.message ?? error.message ?? String(err));
  return { code, text };
}

/**
 * The seed's API connectivity check: a GET that tells apart OK, 401, 403, 429 (with Retry-After), 5xx, an HTML
 * page where JSON was expected and a network error. 429 is degraded; the others are unhealthy.
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` for bad options.
 */
export function apiConnectivityCheck(options: ApiConnectivityOptions): HealthCheck {
  const issues = collectIssues('@obs/health apiConnectivityCheck');
  let url: URL | undefined;
  try {
    url = new URL(options.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      issues.issues.push({ path: 'url', message: 'must be an http:// or https:// URL' });
  } catch {
    issues.issues.push({
      path: 'url',
      message: `must be a URL (got ${JSON.stringify(redactUrl(String(options.url)))})`,
    });
  }
  const name = issues.name('name', options.name, 'api_connectivity');
  const slowMs = issues.duration('slowAfter', options.slowAfter, 2_000);
  issues.optionalDuration('timeout', options.timeout);
  if (options.headers !== undefined && typeof options.headers !== 'function' && typeof options.headers !== 'object')
    issues.issues.push({ path: 'headers', message: 'must be an object or a function' });
  issues.throwIfAny();
  const target = url!;
  const label = options.label ?? 'API';
  const expectJson = options.expectJson ?? true;
  // Shown in details: no credentials, no query string (API keys often travel there).
  const shown = `${target.origin}${target.pathname}`;

  async function check({ signal }: { signal: AbortSignal }): Promise<HealthCheckOutcome> {
    const headers = typeof options.headers === 'function' ? await options.headers() : (options.headers ?? {});
    const started = performance.now();
    let response: Response;
    try {
      response = await fetch(target, {
        method: 'GET',
        headers: { accept: 'application/json', ...headers },
        signal,
        redirect: 'follow',
      });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      const { code, text } = networkReason(err);
      return {
        status: 'unhealthy',
        message: `${label} unreachable: ${code ?? text}`,
        details: { url: shown, error: code ?? text },
      };
    }
    const body = await readHead(response);
    const latency = formatDuration(Math.round(performance.now() - started));
    const status = response.status;
    const type = response.headers.get('content-type') ?? '';
    const base = { url: shown, http_status: status, response_time: latency };
    if (status === 401)
      return { status: 'unhealthy', message: `${label} rejected the credentials (401 Unauthorized)`, details: base };
    if (status === 403)
      return { status: 'unhealthy', message: `${label} refused access (403 Forbidden)`, details: base };
    if (status === 429) {
      const wait = retryAfterMs(response.headers.get('retry-after'), Date.now());
      return {
        status: 'degraded',
        message: `${label} is rate limiting (429)${wait === undefined ? '' : `; retry after ${formatDuration(wait)}`}`,
        details: wait === undefined ? base : { ...base, retry_after: formatDuration(wait) },
      };
    }
    if (status >= 500)
      return {
        status: 'unhealthy',
        message: `${label} server error (${status} ${response.statusText})`.trim(),
        details: base,
      };
    if (status < 200 || status >= 300)
      return { status: 'unhealthy', message: `${label} answered an unexpected ${status}`, details: base };
    const html = /\bhtml\b/i.test(type) || /^\s*</.test(body);
    if (expectJson && html)
      return {
        status: 'unhealthy',
        message: `${label} answered an HTML page instead of JSON`,
        details: { ...base, content_type: type },
      };
    if (expectJson && body.length < BODY_LIMIT) {
      try {
        JSON.parse(body);
      } catch {
        return {
          status: 'unhealthy',
          message: `${label} answered invalid JSON`,
          details: { ...base, content_type: type },
        };
      }
    }
    if (performance.now() - started > slowMs)
      return { status: 'degraded', message: `${label} responding slowly (${latency})`, details: base };
    return { status: 'healthy', message: `${label} responding normally`, details: base };
  }

  return {
    name,
    critical: options.critical ?? true,
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
    check,
  };
}
