import { collectIssues, type DurationInput, formatBytes, formatSeconds } from '../internal/format.ts';
import type { HealthCheck, HealthCheckOutcome } from '../types.ts';

const REFRESH_EVERY_MS = 1_000;

/** Options of {@link cacheCheck}: thresholds over what `cache:updated` (`monitor.updateCacheStats`) reports. */
export interface CacheCheckOptions {
  /** @default "cache" */
  readonly name?: string | undefined;
  /** A hit ratio below this (0..1) is degraded. @default 0.5 */
  readonly minHitRatio?: number | undefined;
  /** A hit ratio below this (0..1) is unhealthy. @default none */
  readonly criticalHitRatio?: number | undefined;
  /**
   * The hit ratio is judged from this many lookups on (when the cache reports `lookups`): a cold cache's first
   * misses are not a problem. @default 100
   */
  readonly minLookups?: number | undefined;
  /** A cache larger than this many bytes is degraded. @default none */
  readonly maxSizeBytes?: number | undefined;
  /** A cache with more entries than this is degraded. @default none */
  readonly maxEntries?: number | undefined;
  /** No statistics for this long is degraded, in ms or like `"10m"`. @default none */
  readonly staleAfter?: DurationInput | undefined;
  /** @default false */
  readonly critical?: boolean | undefined;
}

/**
 * The seed's cache check: hit ratio, size and entries from the latest `cache:updated` event, with thresholds.
 * Healthy with a note until the first statistics arrive. Needs the checker's bus (the plugin's, or `bus`).
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` for bad options.
 */
export function cacheCheck(options: CacheCheckOptions = {}): HealthCheck {
  const issues = collectIssues('@obs/health cacheCheck');
  const name = issues.name('name', options.name, 'cache');
  const minHitRatio = issues.number('minHitRatio', options.minHitRatio, 0.5, 0, 1);
  const criticalHitRatio = issues.optionalNumber('criticalHitRatio', options.criticalHitRatio, 0, 1);
  const maxSizeBytes = issues.optionalNumber('maxSizeBytes', options.maxSizeBytes, 0);
  const maxEntries = issues.optionalNumber('maxEntries', options.maxEntries, 0);
  const staleMs = issues.optionalDuration('staleAfter', options.staleAfter);
  const minLookups = issues.number('minLookups', options.minLookups, 100, 0);
  issues.throwIfAny();
  let last:
    | { hitRatio: number; sizeBytes: number; entries: number | undefined; lookups: number | undefined; at: number }
    | undefined;

  function check(): HealthCheckOutcome {
    if (last === undefined) return { status: 'healthy', message: 'no cache statistics reported yet' };
    const details: Record<string, unknown> = {
      hit_ratio: Math.round(last.hitRatio * 1000) / 1000,
      size: formatBytes(last.sizeBytes),
      ...(last.entries === undefined ? {} : { entries: last.entries }),
      ...(last.lookups === undefined ? {} : { lookups: last.lookups }),
    };
    const age = Date.now() - last.at;
    const percent = `${(last.hitRatio * 100).toFixed(1)}%`;
    // Too few lookups to judge the ratio: a cold cache misses at first.
    const warming = last.lookups !== undefined && last.lookups < minLookups;
    if (!warming && criticalHitRatio !== undefined && last.hitRatio < criticalHitRatio)
      return {
        status: 'unhealthy',
        message: `cache hit ratio ${percent} is below ${criticalHitRatio * 100}%`,
        details,
      };
    const problems: string[] = [];
    if (!warming && last.hitRatio < minHitRatio) problems.push(`hit ratio ${percent} is below ${minHitRatio * 100}%`);
    if (maxSizeBytes !== undefined && last.sizeBytes > maxSizeBytes)
      problems.push(`size ${formatBytes(last.sizeBytes)} is above ${formatBytes(maxSizeBytes)}`);
    if (maxEntries !== undefined && last.entries !== undefined && last.entries > maxEntries)
      problems.push(`${last.entries} entries is above ${maxEntries}`);
    if (staleMs !== undefined && age > staleMs) problems.push(`no statistics for ${formatSeconds(age)}`);
    if (problems.length > 0) return { status: 'degraded', message: `cache ${problems.join('; ')}`, details };
    const over = warming ? ` over ${last.lookups} lookups, judged from ${minLookups}` : '';
    return { status: 'healthy', message: `cache hit ratio ${percent}${over}`, details };
  }

  return {
    name,
    critical: options.critical ?? false,
    check,
    attach({ bus, refresh }) {
      // Recorders may fire on every request: re-evaluate at most once per second, and once more after a burst.
      let lastRun = 0;
      let timer: NodeJS.Timeout | undefined;
      const rerun = (): void => {
        timer = undefined;
        lastRun = Date.now();
        refresh();
      };
      const off = bus?.on('cache:updated', (event) => {
        last = {
          hitRatio: event.hitRatio,
          sizeBytes: event.sizeBytes,
          entries: event.entries,
          lookups: event.lookups,
          at: Date.now(),
        };
        if (timer !== undefined) return;
        const wait = lastRun + REFRESH_EVERY_MS - Date.now();
        if (wait <= 0) rerun();
        else timer = setTimeout(rerun, wait).unref();
      });
      return () => {
        off?.();
        clearTimeout(timer);
        timer = undefined;
      };
    },
  };
}
