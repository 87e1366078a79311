import { coreError } from './errors.ts';

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * Parses a Go-style duration (`30s`, `5m`, `2h34m12s`, `1.5h`, `89ms`, `-5s`, `0`) into milliseconds.
 * @throws ObsError `OBS_ERR_DURATION_INVALID` naming the string when it is not a duration.
 */
export function parseDuration(text: string): number {
  const value = tryParseDuration(text);
  if (value === undefined) {
    throw coreError(
      'OBS_ERR_DURATION_INVALID',
      `[@obs/core] invalid duration ${JSON.stringify(text)}: expected a number and a unit (h, m, s, ms, us, ns), like "30s", "5m" or "2h34m12s"`,
    );
  }
  return value;
}

/** Like {@link parseDuration}, but returns `undefined` instead of throwing. */
export function tryParseDuration(text: string): number | undefined {
  if (typeof text !== 'string') return undefined;
  let s = text.trim();
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const start = PART.lastIndex;
    const match = PART.exec(s);
    if (match === null || match.index !== start) return undefined;
    total += Number(match[1]) * (UNIT_MS[match[2]!] ?? Number.NaN);
  }
  return Number.isFinite(total) ? sign * total : undefined;
}

function trimNumber(value: number, decimals: number): string {
  const fixed = value.toFixed(decimals);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

/**
 * Formats milliseconds the way Go prints a duration, leaving out zero units: `2h34m12s`, `2h15m`,
 * `1.5s`, `89ms`, `1.25ms`, `250µs`, `0s`. `parseDuration(formatDuration(x))` gives back `x` to the
 * precision shown (milliseconds above one second).
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms === 0) return '0s';
  if (ms < 1) return `${trimNumber(ms * 1000, ms * 1000 < 10 ? 2 : 0)}µs`;
  if (ms < 999.5) return `${trimNumber(ms, ms < 10 ? 2 : 0)}ms`;
  const rounded = Math.round(ms);
  const hours = Math.floor(rounded / 3_600_000);
  const minutes = Math.floor((rounded % 3_600_000) / 60_000);
  const seconds = (rounded % 60_000) / 1000;
  let out = '';
  if (hours > 0) out += `${hours}h`;
  if (minutes > 0) out += `${minutes}m`;
  if (seconds > 0) out += `${trimNumber(seconds, 3)}s`;
  return out;
}
