/** Hit ratio, size, entries and lookups, as `monitor.updateCacheStats` takes them. */
export interface CacheStats {
  readonly hitRatio: number;
  readonly sizeBytes: number;
  readonly entries: number;
  /** Hits and misses since the start: what the ratio is taken over. */
  readonly lookups: number;
}

/** A TTL cache of response bodies, bounded in bytes, evicting the least recently used. */
export interface ResponseCache {
  get(key: string): string | undefined;
  set(key: string, body: string): void;
  stats(): CacheStats;
}

export function createResponseCache({ ttlMs, maxBytes }: { ttlMs: number; maxBytes: number }): ResponseCache {
  // A Map iterates in insertion order: re-inserting on a hit makes its first key the least recently used.
  const entries = new Map<string, { body: string; bytes: number; expires: number }>();
  let size = 0;
  let hits = 0;
  let misses = 0;
  const remove = (key: string): void => {
    const entry = entries.get(key);
    if (entry === undefined) return;
    size -= entry.bytes;
    entries.delete(key);
  };
  return {
    get(key) {
      const entry = entries.get(key);
      if (entry === undefined || entry.expires <= Date.now()) {
        if (entry !== undefined) remove(key);
        misses++;
        return undefined;
      }
      hits++;
      entries.delete(key);
      entries.set(key, entry);
      return entry.body;
    },
    set(key, body) {
      remove(key);
      const bytes = Buffer.byteLength(body);
      if (bytes > maxBytes) return;
      entries.set(key, { body, bytes, expires: Date.now() + ttlMs });
      size += bytes;
      for (const oldest of entries.keys()) {
        if (size <= maxBytes) break;
        remove(oldest);
      }
    },
    stats: () => ({
      hitRatio: hits + misses === 0 ? 0 : hits / (hits + misses),
      sizeBytes: size,
      entries: entries.size,
      lookups: hits + misses,
    }),
  };
}
