// Fetching from the page's own origin, with the health listener's credentials when it needs them.
export interface Settings {
  readonly service: string;
  readonly health: string;
  readonly metricsBase: string;
  readonly metricPrefix: string;
  readonly auth: 'none' | 'basic' | 'bearer';
  readonly refreshMs: number;
  readonly versions: Readonly<Record<string, string>>;
}

const TOKEN_KEY = 'obs-console-token';

export class HttpError extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, message: string, body: unknown) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value: string | null): void {
  if (value === null || value === '') sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, value);
}

/** JSON from `url` (relative to the page's origin); throws HttpError with the server's message. */
export async function getJson<T>(url: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set('accept', 'application/json');
  const bearer = token();
  if (bearer !== null) headers.set('authorization', `Bearer ${bearer}`);
  const res = await fetch(url, { ...init, headers, credentials: 'same-origin', cache: 'no-store' });
  const text = await res.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = text;
  }
  if (!res.ok) {
    if (res.status === 401) document.dispatchEvent(new CustomEvent('obs:unauthorized'));
    const b = body as { error?: unknown; message?: unknown } | undefined;
    const msg =
      typeof b?.error === 'string'
        ? b.error + (typeof b.message === 'string' ? `: ${b.message}` : '')
        : `HTTP ${res.status}`;
    throw new HttpError(res.status, msg, body);
  }
  return body as T;
}

/** A JSON write to the health listener (same origin, JSON body: what its write guard accepts). */
export function send<T>(method: 'POST' | 'DELETE', url: string, body?: unknown): Promise<T> {
  return getJson<T>(url, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
}

export interface PromResponse<T> {
  status: 'success' | 'error';
  data: T;
  errorType?: string;
  error?: string;
}

export type Sample = [number, string];
/** A native histogram as the API writes it: bucket = [boundary rule, lower, upper, count]; no buckets when empty. */
export interface HistogramValue {
  count: string;
  sum: string;
  buckets?: [number, string, string, string][];
}
/** A float sample has `value`, a native histogram sample `histogram`. */
export interface VectorItem {
  metric: Record<string, string>;
  value?: Sample;
  histogram?: [number, HistogramValue];
}
/** A series has `values` (floats), `histograms`, or both. */
export interface MatrixItem {
  metric: Record<string, string>;
  values?: Sample[];
  histograms?: [number, HistogramValue][];
}
export type QueryData =
  | { resultType: 'vector'; result: VectorItem[] }
  | { resultType: 'matrix'; result: MatrixItem[] }
  | { resultType: 'scalar' | 'string'; result: Sample };

/** A Prometheus API v1 call; a Prometheus error (bad query) comes back as a thrown HttpError with its text. */
export async function prom<T>(settings: Settings, path: string, params: Record<string, string>): Promise<T> {
  const qs = new URLSearchParams(params).toString();
  try {
    const res = await getJson<PromResponse<T>>(`${settings.metricsBase}api/v1/${path}?${qs}`);
    return res.data;
  } catch (err) {
    const body = err instanceof HttpError ? (err.body as PromResponse<T> | undefined) : undefined;
    if (err instanceof HttpError && typeof body?.error === 'string') throw new HttpError(err.status, body.error, body);
    throw err;
  }
}

export function queryRange(settings: Settings, query: string, rangeSec: number): Promise<QueryData> {
  const end = Date.now() / 1000;
  const step = Math.max(1, Math.round(rangeSec / 240));
  return prom<QueryData>(settings, 'query_range', {
    query,
    start: (end - rangeSec).toFixed(3),
    end: end.toFixed(3),
    step: String(step),
  });
}
