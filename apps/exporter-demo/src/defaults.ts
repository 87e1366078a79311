// The demo's schedule. The cache keeps an answer for ten syncs: a TTL of two syncs (the old 1m) made every other
// run miss everything, which pinned the hit ratio at the seed's 0.5 threshold and flapped "Cache Hit Ratio Low" (#20).

/** Time between syncs without --once. */
export const DEFAULT_INTERVAL = '30s';
/** How long an API answer stays cached. */
export const DEFAULT_CACHE_TTL = '5m';
