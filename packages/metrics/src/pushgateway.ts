import { hostname } from 'node:os';
import { redactUrl } from '@obs/core';
import { metricsError } from './errors.ts';

/** Where and as what to push. */
export interface PushOptions {
  /** The Pushgateway's base URL, e.g. `http://127.0.0.1:9091`. */
  readonly url: string;
  /** The `job` grouping label. */
  readonly job: string;
  /** The `instance` grouping label. @default the host name */
  readonly instance?: string;
  /** More grouping labels. @default {} */
  readonly groupings?: Readonly<Record<string, string>>;
  /** `put` replaces the whole group; `post` replaces only the pushed metric names. @default "put" */
  readonly method?: 'put' | 'post';
  /** @default 5000 */
  readonly timeoutMs?: number;
}

// The Pushgateway's URL scheme: a value with a slash (or an empty one) goes base64url-encoded.
function segment(name: string, value: string): string {
  if (value === '' || value.includes('/')) return `${name}@base64/${Buffer.from(value).toString('base64url') || '='}`;
  return `${name}/${encodeURIComponent(value)}`;
}

/** The URL of a grouping key. */
export function groupingUrl(options: PushOptions): URL {
  const groups = { instance: options.instance ?? hostname(), ...options.groupings };
  const path = [segment('job', options.job), ...Object.entries(groups).map(([k, v]) => segment(k, v))].join('/');
  return new URL(`metrics/${path}`, options.url.endsWith('/') ? options.url : `${options.url}/`);
}

const TEXT = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Pushes Prometheus text, or delimited protobuf MetricFamily messages (native histograms need them), to a
 * Pushgateway.
 * @throws ObsError `OBS_ERR_METRICS_PUSH` when it is unreachable or answers an error.
 */
export async function pushText(
  options: PushOptions,
  body: string | Uint8Array,
  contentType: string = TEXT,
): Promise<void> {
  const url = groupingUrl(options);
  const headers: Record<string, string> = { 'content-type': contentType };
  // fetch refuses credentials in a URL: they become a Basic Authorization header.
  if (url.username !== '' || url.password !== '') {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    headers['authorization'] = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  // A gateway behind a proxy may take a token in the query: it is never printed.
  const where = redactUrl(url.href);
  let response: Response;
  try {
    response = await fetch(url, {
      method: (options.method ?? 'put').toUpperCase(),
      headers,
      body,
      signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
    });
  } catch (err) {
    const reason = redactUrl((err as Error).message);
    throw metricsError('OBS_ERR_METRICS_PUSH', `[@obs/metrics] cannot push to ${where}: ${reason}`, { cause: err });
  }
  if (!response.ok) {
    const text = redactUrl((await response.text().catch(() => '')).slice(0, 200).trim());
    throw metricsError(
      'OBS_ERR_METRICS_PUSH',
      `[@obs/metrics] the Pushgateway at ${where} answered ${response.status}: ${text}`,
    );
  }
  await response.body?.cancel().catch(() => {});
}
