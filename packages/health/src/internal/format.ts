import { type ConfigIssue, formatDuration, ObsConfigError, tryParseDuration } from '@obs/core';

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'] as const;

/** `1.2MB`, `456B`, `4GB`: binary multiples, one decimal, as the seed's `/health` sample shows sizes. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return String(bytes);
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 ? String(Math.round(value)) : value.toFixed(1).replace(/\.0$/, '');
  return `${text}${UNITS[unit]}`;
}

/** An ISO 8601 timestamp without milliseconds: `2025-07-11T15:43:22Z`. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A duration rounded to whole seconds (`2h15m`, `45s`), for uptimes and expiries. */
export function formatSeconds(ms: number): string {
  const rounded = Math.floor(Math.abs(ms) / 1000) * 1000;
  return formatDuration(rounded);
}

/** A latency as the seed shows it: `89ms`, `1.2s`; sub-millisecond values round to whole ms. */
export function formatLatency(ms: number): string {
  if (ms < 999.5) return `${Math.round(ms)}ms`;
  return formatDuration(Math.round(ms / 100) * 100);
}

/** A duration option: milliseconds, or a Go-style string like `5s`. */
export type DurationInput = number | string;

/** Collects option problems and throws them all at once as an ObsConfigError. */
export interface IssueCollector {
  readonly issues: ConfigIssue[];
  duration(path: string, value: DurationInput | undefined, fallback: number, opts?: { allowZero?: boolean }): number;
  number(path: string, value: number | undefined, fallback: number, min: number, max?: number): number;
  optionalNumber(path: string, value: number | undefined, min: number, max?: number): number | undefined;
  optionalDuration(path: string, value: DurationInput | undefined): number | undefined;
  name(path: string, value: string | undefined, fallback: string): string;
  throwIfAny(): void;
}

/** Starts collecting the problems of one options object. */
export function collectIssues(what: string): IssueCollector {
  const issues: ConfigIssue[] = [];
  function toMs(path: string, value: DurationInput, allowZero: boolean): number | undefined {
    const ms = typeof value === 'number' ? value : typeof value === 'string' ? tryParseDuration(value) : undefined;
    if (ms === undefined || !Number.isFinite(ms) || ms < 0 || (!allowZero && ms === 0)) {
      issues.push({
        path,
        message: `must be a ${allowZero ? 'non-negative' : 'positive'} duration in ms or like "5s" (got ${JSON.stringify(value)})`,
      });
      return undefined;
    }
    return ms;
  }
  function checkNumber(path: string, value: number, min: number, max: number | undefined): boolean {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (max !== undefined && value > max)) {
      issues.push({
        path,
        message: `must be a number ${max === undefined ? `>= ${min}` : `in ${min}..${max}`} (got ${JSON.stringify(value)})`,
      });
      return false;
    }
    return true;
  }
  return {
    issues,
    duration(path, value, fallback, opts = {}) {
      if (value === undefined) return fallback;
      return toMs(path, value, opts.allowZero ?? false) ?? fallback;
    },
    optionalDuration(path, value) {
      return value === undefined ? undefined : toMs(path, value, false);
    },
    number(path, value, fallback, min, max) {
      if (value === undefined) return fallback;
      return checkNumber(path, value, min, max) ? value : fallback;
    },
    optionalNumber(path, value, min, max) {
      if (value === undefined) return undefined;
      return checkNumber(path, value, min, max) ? value : undefined;
    },
    name(path, value, fallback) {
      if (value === undefined) return fallback;
      if (typeof value !== 'string' || !CHECK_NAME.test(value)) {
        issues.push({ path, message: `must match ${CHECK_NAME} (got ${JSON.stringify(value)})` });
        return fallback;
      }
      return value;
    },
    throwIfAny() {
      if (issues.length > 0) throw new ObsConfigError(what, issues);
    },
  };
}

/** Check names: they key the `/health` JSON and label metrics, so keep them plain. */
export const CHECK_NAME: RegExp = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;
