import { setTimeout as sleep } from 'node:timers/promises';
import type { Monitor } from '@obs/core';
import type { ResponseCache } from './cache.ts';

/** An API answer that retries could not turn into a success. */
export class TraktApiError extends Error {
  override name = 'TraktApiError';
  readonly status: number;
  constructor(endpoint: string, status: number, detail: string) {
    super(`Trakt ${endpoint}: ${status === 0 ? 'network error' : `HTTP ${status}`}: ${detail}`);
    this.status = status;
  }
}

export interface TraktClientOptions {
  readonly baseUrl: URL;
  readonly token: string;
  readonly cache: ResponseCache;
  readonly monitor: Pick<Monitor, 'recordApiCall' | 'updateCacheStats'>;
  readonly signal: AbortSignal;
  /** @default 4 */
  readonly maxRetries?: number;
  /** @default 10_000 */
  readonly timeoutMs?: number;
}

export interface TraktPage<T> {
  readonly items: T;
  readonly pageCount: number;
}

export interface TraktClient {
  /** GETs `path`, labelled `endpoint` in metrics; cached; retries 429 (after Retry-After) and 5xx (backoff). */
  get<T>(endpoint: string, path: string): Promise<TraktPage<T>>;
}

export function createTraktClient(options: TraktClientOptions): TraktClient {
  const { cache, monitor, signal } = options;
  const maxRetries = options.maxRetries ?? 4;
  const timeoutMs = options.timeoutMs ?? 10_000;

  const reportCache = (): void => {
    const { hitRatio, sizeBytes, entries, lookups } = cache.stats();
    monitor.updateCacheStats(hitRatio, sizeBytes, entries, lookups);
  };

  async function get<T>(endpoint: string, path: string): Promise<TraktPage<T>> {
    const url = new URL(path, options.baseUrl);
    const cached = cache.get(url.href);
    reportCache();
    if (cached !== undefined) return JSON.parse(cached) as TraktPage<T>;
    for (let attempt = 0; ; attempt++) {
      const started = performance.now();
      let response: Response;
      try {
        response = await fetch(url, {
          headers: {
            authorization: `Bearer ${options.token}`,
            'trakt-api-key': 'exporter-demo',
            'trakt-api-version': '2',
            accept: 'application/json',
          },
          signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
        });
      } catch (err) {
        if (signal.aborted) throw err;
        // No HTTP answer at all (refused, reset, timed out): recorded with status 0.
        monitor.recordApiCall(endpoint, 0, performance.now() - started);
        if (attempt >= maxRetries) throw new TraktApiError(endpoint, 0, (err as Error).message);
        await sleep(100 * 2 ** attempt, undefined, { signal });
        continue;
      }
      const body = await response.text();
      monitor.recordApiCall(endpoint, response.status, performance.now() - started);
      if (response.ok) {
        const type = response.headers.get('content-type') ?? '';
        if (!type.includes('application/json'))
          throw new TraktApiError(endpoint, response.status, `expected JSON, got ${type}`);
        const page: TraktPage<T> = {
          items: JSON.parse(body) as T,
          pageCount: Number(response.headers.get('x-pagination-page-count') ?? 1),
        };
        cache.set(url.href, JSON.stringify(page));
        reportCache();
        return page;
      }
      const retryable = response.status === 429 || response.status >= 500;
      if (!retryable || attempt >= maxRetries) throw new TraktApiError(endpoint, response.status, body.slice(0, 120));
      const retryAfter = Number(response.headers.get('retry-after'));
      const waitMs = response.status === 429 && retryAfter > 0 ? retryAfter * 1000 : 100 * 2 ** attempt;
      await sleep(waitMs, undefined, { signal });
    }
  }

  return { get };
}
