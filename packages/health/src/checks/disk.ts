import type { StatsFs } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { collectIssues, type DurationInput, formatBytes } from '../internal/format.ts';
import type { HealthCheck, HealthCheckOutcome } from '../types.ts';

/** Options of {@link diskSpaceCheck}. */
export interface DiskSpaceOptions {
  /** The folder to watch (the export folder); a folder not created yet is measured at its nearest existing parent. */
  readonly path: string;
  /** @default "disk_space" */
  readonly name?: string | undefined;
  /** Less free space than this many bytes is unhealthy. @default 100 MiB */
  readonly minFreeBytes?: number | undefined;
  /** Less free space than this percentage (0..100) is unhealthy. @default 2 */
  readonly minFreePercent?: number | undefined;
  /** Less free space than this many bytes is degraded. @default 1 GiB */
  readonly warnFreeBytes?: number | undefined;
  /** Less free space than this percentage (0..100) is degraded. @default 10 */
  readonly warnFreePercent?: number | undefined;
  /** @default false */
  readonly critical?: boolean | undefined;
  /** @default the checker's timeout */
  readonly timeout?: DurationInput | undefined;
}

async function statNearest(path: string): Promise<{ stats: StatsFs; at: string }> {
  let at = path;
  for (;;) {
    try {
      return { stats: await statfs(at), at };
    } catch (err) {
      const parent = dirname(at);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === at) throw err;
      at = parent;
    }
  }
}

/**
 * The seed's disk space check: `statfs` on the export folder, with thresholds in bytes and in percent (space
 * available to this process, as `df` shows it).
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` for bad options.
 */
export function diskSpaceCheck(options: DiskSpaceOptions): HealthCheck {
  const issues = collectIssues('@obs/health diskSpaceCheck');
  if (typeof options?.path !== 'string' || options.path === '')
    issues.issues.push({ path: 'path', message: 'must be a folder path' });
  const name = issues.name('name', options?.name, 'disk_space');
  const minBytes = issues.number('minFreeBytes', options?.minFreeBytes, 100 * 1024 ** 2, 0);
  const minPercent = issues.number('minFreePercent', options?.minFreePercent, 2, 0, 100);
  const warnBytes = issues.number('warnFreeBytes', options?.warnFreeBytes, 1024 ** 3, 0);
  const warnPercent = issues.number('warnFreePercent', options?.warnFreePercent, 10, 0, 100);
  issues.optionalDuration('timeout', options?.timeout);
  issues.throwIfAny();
  const path = resolve(options.path);

  async function check(): Promise<HealthCheckOutcome> {
    const { stats, at } = await statNearest(path);
    const total = stats.blocks * stats.bsize;
    const free = stats.bavail * stats.bsize;
    const percent = total === 0 ? 0 : Math.round((free / total) * 1000) / 10;
    const details = {
      path: options.path,
      ...(at === path ? {} : { measured_at: at }),
      free: formatBytes(free),
      total: formatBytes(total),
      free_percent: percent,
    };
    const summary = `${formatBytes(free)} free of ${formatBytes(total)} (${percent}%)`;
    if (free < minBytes || percent < minPercent)
      return { status: 'unhealthy', message: `disk almost full: ${summary}`, details };
    if (free < warnBytes || percent < warnPercent)
      return { status: 'degraded', message: `disk space low: ${summary}`, details };
    return { status: 'healthy', message: summary, details };
  }

  return {
    name,
    critical: options.critical ?? false,
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
    check,
  };
}
