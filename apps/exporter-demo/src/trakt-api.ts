import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCatalog, type Movie } from './catalog.ts';
import { createRandom } from './random.ts';

/** How the simulated Trakt API behaves. */
export interface TraktApiOptions {
  readonly seed: number;
  /** Median response time. */
  readonly latencyMs: number;
  /** Share of requests answered 502/503/504. */
  readonly serverErrorRate: number;
  /** Requests per second before answering 429 (a token bucket, as Trakt's rate limit). */
  readonly rateLimitPerSecond: number;
  readonly catalogSize: number;
  readonly historySize: number;
  readonly token: string;
}

/** A running simulated API. */
export interface TraktApi {
  readonly url: URL;
  /** New watches since the last sync: a running sync finds more history each time. */
  addActivity(watches: number): void;
  /** Changes the share of requests answered 502/503/504 (1 is an outage). */
  setServerErrorRate(rate: number): void;
  close(): Promise<void>;
}

interface HistoryItem {
  readonly id: number;
  readonly watched_at: string;
  readonly action: 'watch';
  readonly type: 'movie';
  readonly movie: Movie;
}

// The reason phrases of RFC 9110, as a gateway in front of the API sends them.
const REASONS = { 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' } as const;

const ROUTES = new Set([
  '/sync/watched/movies',
  '/sync/history/movies',
  '/sync/ratings/movies',
  '/sync/watchlist/movies',
]);

/** Starts a Trakt-like HTTP API on 127.0.0.1 (ephemeral port) with realistic latency, 429s and 5xx. */
export async function startTraktApi(options: TraktApiOptions): Promise<TraktApi> {
  const random = createRandom(options.seed);
  const catalog = createCatalog(random, options.catalogSize);
  const history: HistoryItem[] = [];
  const start = Date.UTC(2024, 0, 1);
  const addActivity = (watches: number): void => {
    for (let i = 0; i < watches; i++) {
      const last = history.at(-1);
      const at = (last === undefined ? start : Date.parse(last.watched_at)) + random.int(2, 72) * 3_600_000;
      history.push({
        id: 1_000_000 + history.length,
        watched_at: new Date(at).toISOString().replace(/\.\d+Z$/, '.000Z'),
        action: 'watch',
        type: 'movie',
        movie: random.pick(catalog),
      });
    }
  };
  addActivity(options.historySize);
  const ratings = catalog
    .filter(() => random.chance(0.6))
    .map((movie) => ({
      rated_at: new Date(start + random.int(0, 600) * 86_400_000).toISOString(),
      rating: random.int(1, 10),
      type: 'movie',
      movie,
    }));
  const watchlist = catalog
    .filter(() => random.chance(0.15))
    .map((movie, rank) => ({ rank: rank + 1, listed_at: new Date(start).toISOString(), type: 'movie', movie }));

  let serverErrorRate = options.serverErrorRate;
  let tokens = options.rateLimitPerSecond;
  let refilled = Date.now();
  const controller = new AbortController();

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const type = typeof body === 'string' ? 'text/html' : 'application/json';
    res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, ...headers }).end(text);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    await sleep(random.logNormal(options.latencyMs, 0.5), undefined, { signal: controller.signal });
    if (req.headers.authorization !== `Bearer ${options.token}` || req.headers['trakt-api-key'] === undefined) {
      send(res, 401, { error: 'invalid_grant', error_description: 'The access token is invalid' });
      return;
    }
    if (!ROUTES.has(url.pathname)) {
      send(res, 404, { error: 'not found' });
      return;
    }
    const now = Date.now();
    tokens = Math.min(options.rateLimitPerSecond, tokens + ((now - refilled) / 1000) * options.rateLimitPerSecond);
    refilled = now;
    if (tokens < 1) {
      send(
        res,
        429,
        { error: 'rate limit exceeded' },
        { 'retry-after': '1', 'x-ratelimit': '{"name":"AUTHED_API_GET_LIMIT"}' },
      );
      return;
    }
    tokens -= 1;
    if (random.chance(serverErrorRate)) {
      const status = random.pick([502, 503, 504] as const);
      send(res, status, `<html><body><h1>${status} ${REASONS[status]}</h1>cloudflare</body></html>`);
      return;
    }
    switch (url.pathname) {
      case '/sync/watched/movies': {
        const plays = new Map<number, { plays: number; last_watched_at: string; movie: Movie }>();
        for (const item of history) {
          const entry = plays.get(item.movie.ids.trakt);
          plays.set(item.movie.ids.trakt, {
            plays: (entry?.plays ?? 0) + 1,
            last_watched_at: item.watched_at,
            movie: item.movie,
          });
        }
        send(res, 200, [...plays.values()]);
        return;
      }
      case '/sync/history/movies': {
        const limit = Math.min(Math.max(Number(url.searchParams.get('limit') ?? 10) || 10, 1), 100);
        const page = Math.max(Number(url.searchParams.get('page') ?? 1) || 1, 1);
        const newestFirst = [...history].reverse();
        const pageCount = Math.max(Math.ceil(newestFirst.length / limit), 1);
        send(res, 200, newestFirst.slice((page - 1) * limit, page * limit), {
          'x-pagination-page': String(page),
          'x-pagination-limit': String(limit),
          'x-pagination-page-count': String(pageCount),
          'x-pagination-item-count': String(newestFirst.length),
        });
        return;
      }
      case '/sync/ratings/movies':
        send(res, 200, ratings);
        return;
      default:
        send(res, 200, watchlist);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(503).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/`),
    addActivity,
    setServerErrorRate: (rate) => {
      serverErrorRate = rate;
    },
    close: () =>
      new Promise<void>((resolve) => {
        controller.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
