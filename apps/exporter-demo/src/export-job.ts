import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Monitor } from '@obs/core';
import type { Movie } from './catalog.ts';
import { toCsv, writeAtomic } from './letterboxd-csv.ts';
import type { TraktClient } from './trakt-client.ts';
import { runPool } from './worker-pool.ts';

interface Watched {
  readonly plays: number;
  readonly movie: Movie;
}
interface HistoryItem {
  readonly watched_at: string;
  readonly movie: Movie;
}
interface Rating {
  readonly rating: number;
  readonly rated_at: string;
  readonly movie: Movie;
}
interface WatchlistItem {
  readonly movie: Movie;
}

/** What one export run produced: items per kind, or the error that stopped a kind. */
export interface ExportResult {
  readonly counts: Readonly<Record<ExportKind, number>>;
  readonly errors: Readonly<Partial<Record<ExportKind, string>>>;
  readonly durationMs: number;
  /** The run was cut short by `signal` (a SIGTERM): what it did not finish is neither an error nor counted. */
  readonly cancelled: boolean;
}

export type ExportKind = 'movies' | 'ratings' | 'watchlist';

export interface ExportJobOptions {
  readonly client: TraktClient;
  readonly monitor: Pick<Monitor, 'recordExport' | 'setActiveWorkers'>;
  readonly exportDir: string;
  readonly workers: number;
  /** History page size. @default 50 */
  readonly pageSize?: number;
  /** Aborted when the process is told to stop. @default never */
  readonly signal?: AbortSignal;
}

const LETTERBOXD_HEADER = ['Title', 'Year', 'imdbID', 'tmdbID', 'WatchedDate', 'Rating10', 'Rewatch'];

/**
 * One Trakt to Letterboxd export: the watch history (as a Letterboxd diary, with ratings and rewatches),
 * the ratings and the watchlist, fetched through the worker pool and written as Letterboxd import CSVs.
 */
export async function runExport(options: ExportJobOptions): Promise<ExportResult> {
  const { client, monitor, exportDir, workers } = options;
  const pageSize = options.pageSize ?? 50;
  const started = performance.now();
  const counts: Record<ExportKind, number> = { movies: 0, ratings: 0, watchlist: 0 };
  const errors: Partial<Record<ExportKind, string>> = {};
  await mkdir(exportDir, { recursive: true });

  const fail = (kind: ExportKind, err: unknown): void => {
    // An export cut short by shutdown did not fail: nothing is wrong with the API or the files.
    if (options.signal?.aborted === true) return;
    errors[kind] = (err as Error).message;
    monitor.recordExport(kind, 'error', 0);
  };

  // Watched and ratings feed the diary's Rewatch and Rating10 columns, so they come first.
  const [watchedResult, ratingsResult, watchlistResult, firstPage] = await runPool(
    ['watched', 'ratings', 'watchlist', 'history'] as const,
    workers,
    (what) => {
      switch (what) {
        case 'watched':
          return client.get<Watched[]>('watched_movies', '/sync/watched/movies');
        case 'ratings':
          return client.get<Rating[]>('ratings', '/sync/ratings/movies');
        case 'watchlist':
          return client.get<WatchlistItem[]>('watchlist', '/sync/watchlist/movies');
        default:
          return client.get<HistoryItem[]>('history', `/sync/history/movies?page=1&limit=${pageSize}`);
      }
    },
    (active) => monitor.setActiveWorkers(active),
  );

  const ratingOf = new Map<number, number>();
  if (ratingsResult?.status === 'fulfilled') {
    const ratings = ratingsResult.value.items as Rating[];
    for (const r of ratings) ratingOf.set(r.movie.ids.trakt, r.rating);
    await writeAtomic(
      join(exportDir, 'ratings.csv'),
      toCsv(
        ['Title', 'Year', 'imdbID', 'tmdbID', 'Rating10'],
        ratings.map((r) => [r.movie.title, r.movie.year, r.movie.ids.imdb, r.movie.ids.tmdb, r.rating]),
      ),
    );
    counts.ratings = ratings.length;
    monitor.recordExport('ratings', 'success', ratings.length);
  } else fail('ratings', ratingsResult?.reason);

  if (watchlistResult?.status === 'fulfilled') {
    const items = watchlistResult.value.items as WatchlistItem[];
    await writeAtomic(
      join(exportDir, 'watchlist.csv'),
      toCsv(
        ['Title', 'Year', 'imdbID', 'tmdbID'],
        items.map((w) => [w.movie.title, w.movie.year, w.movie.ids.imdb, w.movie.ids.tmdb]),
      ),
    );
    counts.watchlist = items.length;
    monitor.recordExport('watchlist', 'success', items.length);
  } else fail('watchlist', watchlistResult?.reason);

  try {
    if (firstPage?.status !== 'fulfilled') throw firstPage?.reason;
    if (watchedResult?.status !== 'fulfilled') throw watchedResult?.reason;
    const pages = Array.from({ length: Math.max(firstPage.value.pageCount - 1, 0) }, (_, i) => i + 2);
    const rest = await runPool(
      pages,
      workers,
      (page) => client.get<HistoryItem[]>('history', `/sync/history/movies?page=${page}&limit=${pageSize}`),
      (active) => monitor.setActiveWorkers(active),
    );
    const failed = rest.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const history = [firstPage, ...rest].flatMap((r) =>
      r.status === 'fulfilled' ? (r.value.items as HistoryItem[]) : [],
    );
    // Oldest first, so that a movie's first watch is the one not marked as a rewatch.
    const seen = new Set<number>();
    const rows = [...history].reverse().map((h) => {
      const id = h.movie.ids.trakt;
      const rewatch = seen.has(id);
      seen.add(id);
      return [
        h.movie.title,
        h.movie.year,
        h.movie.ids.imdb,
        h.movie.ids.tmdb,
        h.watched_at.slice(0, 10),
        ratingOf.get(id),
        rewatch,
      ];
    });
    await writeAtomic(join(exportDir, 'diary.csv'), toCsv(LETTERBOXD_HEADER, rows));
    counts.movies = rows.length;
    monitor.recordExport('movies', 'success', rows.length);
  } catch (err) {
    fail('movies', err);
  }

  return { counts, errors, durationMs: performance.now() - started, cancelled: options.signal?.aborted === true };
}
