import type { PromValue, VectorSample } from '@obs/promql';
import { alertsError } from './errors.ts';
import { splitCredentials } from './internal/url.ts';

/** Options of {@link createPrometheusQuery}. */
export interface PrometheusQueryOptions {
  /** Base URL of the Prometheus server, e.g. `http://127.0.0.1:9090`. */
  readonly url: string;
  /** Timeout of one query. @default 10000 */
  readonly timeoutMs?: number;
  /** Extra request headers (authentication). @default {} */
  readonly headers?: Readonly<Record<string, string>>;
}

function parseValue(v: string): number {
  if (v === '+Inf') return Number.POSITIVE_INFINITY;
  if (v === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(v);
}

/**
 * Remote mode: a query function that evaluates an expression with a Prometheus server's
 * `/api/v1/query`, for {@link AlertEngineOptions.query}. It rejects with `OBS_ERR_ALERTS_EVAL`.
 */
export function createPrometheusQuery(
  options: PrometheusQueryOptions,
): (expr: string, at: number) => Promise<PromValue> {
  const { url: base, headers: auth } = splitCredentials(options.url.endsWith('/') ? options.url : `${options.url}/`);
  const endpoint = new URL('api/v1/query', base);
  const timeoutMs = options.timeoutMs ?? 10_000;
  return async (expr, at) => {
    let body: {
      status: string;
      error?: string;
      data?: { resultType: string; result: unknown };
    };
    try {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth, ...options.headers },
        body: new URLSearchParams({ query: expr, time: String(at / 1000) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      body = (await res.json()) as typeof body;
    } catch (err) {
      // Neither the URL (its query may carry a token) nor fetch's message, which can quote it, is kept.
      const code = (err as { cause?: { code?: unknown }; name?: unknown }).cause?.code;
      throw alertsError(
        'OBS_ERR_ALERTS_EVAL',
        `[@obs/alerts] query to the remote Prometheus failed (${typeof code === 'string' ? code : String((err as Error).name)})`,
      );
    }
    if (body.status !== 'success' || body.data === undefined)
      throw alertsError(
        'OBS_ERR_ALERTS_EVAL',
        `[@obs/alerts] Prometheus refused the query: ${body.error ?? 'no data'}`,
      );
    const { resultType, result } = body.data;
    if (resultType === 'scalar') return { type: 'scalar', value: parseValue((result as [number, string])[1]) };
    if (resultType === 'vector') {
      const samples: VectorSample[] = (result as { metric: Record<string, string>; value: [number, string] }[]).map(
        (r) => ({
          labels: r.metric,
          value: parseValue(r.value[1]),
        }),
      );
      return { type: 'vector', samples };
    }
    throw alertsError('OBS_ERR_ALERTS_EVAL', `[@obs/alerts] unexpected ${resultType} result from Prometheus`);
  };
}
