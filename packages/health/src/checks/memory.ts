import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { collectIssues, type DurationInput, formatBytes, formatLatency } from '../internal/format.ts';
import type { HealthCheck, HealthCheckOutcome } from '../types.ts';

/** Options of {@link memoryCheck}. */
export interface MemoryCheckOptions {
  /** @default "memory" */
  readonly name?: string | undefined;
  /** Heap used above this percentage of V8's heap limit is degraded. @default 85 */
  readonly warnHeapPercent?: number | undefined;
  /** Heap used above this percentage of the heap limit is unhealthy. @default 95 */
  readonly maxHeapPercent?: number | undefined;
  /** A resident set larger than this many bytes is degraded. @default none */
  readonly warnRssBytes?: number | undefined;
  /** A resident set larger than this many bytes is unhealthy. @default none */
  readonly maxRssBytes?: number | undefined;
  /** One GC pause longer than this within the window is degraded, in ms or like `"500ms"`. @default 1s */
  readonly warnGcPause?: DurationInput | undefined;
  /** GC pauses adding up to more than this percentage of the window is degraded. @default 10 */
  readonly warnGcPercent?: number | undefined;
  /** The window over which GC pauses are counted. @default 1m */
  readonly gcWindow?: DurationInput | undefined;
  /** @default false */
  readonly critical?: boolean | undefined;
}

interface Pause {
  readonly at: number;
  readonly ms: number;
}

const MAX_PAUSES = 10_000;

/**
 * The seed's memory check: heap used against V8's heap limit, the resident set, and GC pauses observed with
 * `perf_hooks` while the checker runs, each with thresholds.
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` for bad options.
 */
export function memoryCheck(options: MemoryCheckOptions = {}): HealthCheck {
  const issues = collectIssues('@obs/health memoryCheck');
  const name = issues.name('name', options.name, 'memory');
  const warnHeap = issues.number('warnHeapPercent', options.warnHeapPercent, 85, 0, 100);
  const maxHeap = issues.number('maxHeapPercent', options.maxHeapPercent, 95, 0, 100);
  const warnRss = issues.optionalNumber('warnRssBytes', options.warnRssBytes, 0);
  const maxRss = issues.optionalNumber('maxRssBytes', options.maxRssBytes, 0);
  const warnPauseMs = issues.duration('warnGcPause', options.warnGcPause, 1_000, { allowZero: true });
  const warnGcPercent = issues.number('warnGcPercent', options.warnGcPercent, 10, 0, 100);
  const windowMs = issues.duration('gcWindow', options.gcWindow, 60_000);
  issues.throwIfAny();
  let pauses: Pause[] = [];
  let observing = false;

  function prune(now: number): void {
    const from = now - windowMs;
    if (pauses.length > 0 && pauses[0]!.at < from) pauses = pauses.filter((p) => p.at >= from);
  }

  function check(): HealthCheckOutcome {
    const now = performance.now();
    prune(now);
    const heap = getHeapStatistics();
    const rss = process.memoryUsage.rss();
    const heapPercent = Math.round((heap.used_heap_size / heap.heap_size_limit) * 1000) / 10;
    let gcTotal = 0;
    let gcMax = 0;
    for (const p of pauses) {
      gcTotal += p.ms;
      if (p.ms > gcMax) gcMax = p.ms;
    }
    const gcPercent = Math.round((gcTotal / windowMs) * 1000) / 10;
    const details: Record<string, unknown> = {
      heap_used: formatBytes(heap.used_heap_size),
      heap_limit: formatBytes(heap.heap_size_limit),
      heap_used_percent: heapPercent,
      rss: formatBytes(rss),
      ...(observing
        ? { gc_pauses: pauses.length, gc_pause_total: formatLatency(gcTotal), gc_pause_max: formatLatency(gcMax) }
        : {}),
    };
    const bad: string[] = [];
    if (heapPercent > maxHeap) bad.push(`heap ${heapPercent}% of the limit is above ${maxHeap}%`);
    if (maxRss !== undefined && rss > maxRss) bad.push(`rss ${formatBytes(rss)} is above ${formatBytes(maxRss)}`);
    if (bad.length > 0) return { status: 'unhealthy', message: `memory ${bad.join('; ')}`, details };
    const warn: string[] = [];
    if (heapPercent > warnHeap) warn.push(`heap ${heapPercent}% of the limit is above ${warnHeap}%`);
    if (warnRss !== undefined && rss > warnRss) warn.push(`rss ${formatBytes(rss)} is above ${formatBytes(warnRss)}`);
    if (gcMax > warnPauseMs) warn.push(`a GC pause of ${formatLatency(gcMax)} is above ${formatLatency(warnPauseMs)}`);
    if (gcPercent > warnGcPercent) warn.push(`GC took ${gcPercent}% of the last ${formatLatency(windowMs)}`);
    if (warn.length > 0) return { status: 'degraded', message: `memory ${warn.join('; ')}`, details };
    return { status: 'healthy', message: `heap ${heapPercent}% of the limit, rss ${formatBytes(rss)}`, details };
  }

  return {
    name,
    critical: options.critical ?? false,
    check,
    attach() {
      const observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          pauses.push({ at: entry.startTime + entry.duration, ms: entry.duration });
        }
        if (pauses.length > MAX_PAUSES) pauses = pauses.slice(-MAX_PAUSES);
      });
      observer.observe({ entryTypes: ['gc'] });
      observing = true;
      return () => {
        observer.disconnect();
        observing = false;
        pauses = [];
      };
    },
  };
}
