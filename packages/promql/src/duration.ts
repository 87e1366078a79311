// Prometheus durations (model.Duration): `1y2w3d4h5m6s7ms`, as PromQL, rule files and the HTTP API write them.

const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNITS: readonly (readonly [string, number, boolean])[] = [
  // [unit, ms, printed only when it divides the rest exactly]: Prometheus writes 90d, not 12w6d.
  ['y', 365 * 86_400_000, true],
  ['w', 7 * 86_400_000, true],
  ['d', 86_400_000, false],
  ['h', 3_600_000, false],
  ['m', 60_000, false],
  ['s', 1000, false],
  ['ms', 1, false],
];

/**
 * A Prometheus duration (`5m`, `1h30m`, `1d`) or, as PromQL 3 also takes, a number of seconds (`90`, `1.5`),
 * in milliseconds; undefined when the text is neither.
 */
export function parsePromDuration(text: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const m = DURATION.exec(text);
  if (m === null || text === '') return undefined;
  let ms = 0;
  for (let i = 0; i < UNITS.length; i++) if (m[i + 1] !== undefined) ms += Number(m[i + 1]) * UNITS[i]![1];
  return ms;
}

/** Milliseconds as Prometheus writes a duration: `0s`, `90s` is `1m30s`, `1w`, `90d`, `1500ms` is `1s500ms`. */
export function formatPromDuration(ms: number): string {
  let rest = Math.trunc(Math.abs(ms));
  if (rest === 0) return '0s';
  let out = ms < 0 ? '-' : '';
  for (const [unit, size, exact] of UNITS) {
    if (exact && rest % size !== 0) continue;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
