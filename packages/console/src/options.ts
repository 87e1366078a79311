// Options of consolePlugin() and their validation (once, in the factory).
import { type ConfigIssue, ObsConfigError, tryParseDuration } from '@obs/core';

/** Options of {@link consolePlugin}. */
export interface ConsolePluginOptions {
  /**
   * Where the page is served on the health listener. Must start and end with "/".
   * @default "/" on its own health port; "/console/" when the metrics and health listeners share a port
   */
  readonly path?: string;
  /**
   * How often the page refreshes what it shows (health, alerts, graphs), in ms or as a Go duration.
   * @default "10s"
   */
  readonly refreshInterval?: number | string;
}

/** The validated options. */
export interface ResolvedConsoleOptions {
  /** The page's path, or undefined to choose from the listeners' ports at setup. */
  readonly path: string | undefined;
  readonly refreshIntervalMs: number;
}

/**
 * Validates the options of {@link consolePlugin}.
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` naming every bad option.
 */
export function resolveConsoleOptions(input: ConsolePluginOptions = {}): ResolvedConsoleOptions {
  const issues: ConfigIssue[] = [];
  const { path } = input;
  if (path !== undefined && (typeof path !== 'string' || !/^\/(?:[A-Za-z0-9._~-]+\/)*$/.test(path)))
    issues.push({ path: 'path', message: 'must be an absolute path that starts and ends with "/", e.g. "/console/"' });
  const raw = input.refreshInterval ?? '10s';
  const ms = typeof raw === 'number' ? raw : tryParseDuration(raw);
  if (ms === undefined || !Number.isFinite(ms) || ms < 1_000 || ms > 3_600_000)
    issues.push({ path: 'refreshInterval', message: 'must be a duration between 1s and 1h' });
  if (issues.length > 0) throw new ObsConfigError('@obs/console', issues);
  return Object.freeze({ path, refreshIntervalMs: ms as number });
}
