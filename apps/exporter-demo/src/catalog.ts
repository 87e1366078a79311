import type { Random } from './random.ts';

/** A movie as Trakt describes it. */
export interface Movie {
  readonly title: string;
  readonly year: number;
  readonly ids: { readonly trakt: number; readonly slug: string; readonly imdb: string; readonly tmdb: number };
}

const FIRST = [
  'The',
  'A',
  'Last',
  'Silent',
  'Midnight',
  'Broken',
  'Golden',
  'Hidden',
  'Red',
  'Northern',
  'Lost',
  'Paper',
];
const SECOND = [
  'River',
  'Garden',
  'Station',
  'Summer',
  'Mirror',
  'Harbor',
  'Letter',
  'Machine',
  'Winter',
  'Road',
  'Orchard',
  'Signal',
];
const THIRD = ['', '', '', ' of Ash', ' in Paris', ', Part II', ': Reloaded', ' Blues', ' and the Sea', ' at Dawn'];

/** A repeatable catalogue of `count` distinct movies. */
export function createCatalog(random: Random, count: number): Movie[] {
  const movies: Movie[] = [];
  const seen = new Set<string>();
  while (movies.length < count) {
    const title = `${random.pick(FIRST)} ${random.pick(SECOND)}${random.pick(THIRD)}`;
    const year = random.int(1950, 2025);
    const key = `${title}|${year}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const id = movies.length + 1;
    movies.push({
      title,
      year,
      ids: {
        trakt: 10_000 + id,
        slug: `${title}-${year}`.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
        imdb: `tt${String(random.int(100_000, 9_999_999)).padStart(7, '0')}`,
        tmdb: random.int(1, 999_999),
      },
    });
  }
  return movies;
}
