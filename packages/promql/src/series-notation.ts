import { PromqlError } from './errors.ts';
import { parsePromQL } from './parse.ts';

/** One point of a series description: a value, `undefined` for `_`, or a staleness marker. */
export type SeriesPoint = number | undefined | 'stale';

function number(text: string): number {
  const lower = text.toLowerCase();
  if (lower === 'inf' || lower === '+inf') return Number.POSITIVE_INFINITY;
  if (lower === '-inf') return Number.NEGATIVE_INFINITY;
  if (lower === 'nan') return Number.NaN;
  const n = Number(text);
  if (text.trim() === '' || Number.isNaN(n))
    throw new PromqlError('OBS_ERR_PROMQL_SERIES', `[@obs/promql] bad value ${text}`);
  return n;
}

/**
 * Parses promtool's series notation, `metric{a="b"} 0+10x3 _ stale 5x2`, into labels and points.
 * @throws PromqlError `OBS_ERR_PROMQL_SERIES` on a malformed series or value.
 */
export function parseSeriesDesc(line: string): { labels: Record<string, string>; values: SeriesPoint[] } {
  const close = line.lastIndexOf('}');
  const split = close >= 0 ? close + 1 : line.search(/\s/);
  const selector = line.slice(0, split < 0 ? line.length : split).trim();
  const rest = split < 0 ? '' : line.slice(split).trim();
  if (selector.replace(/\s/g, '') === '{}') return { labels: {}, values: points(rest) };
  const parsed = parsePromQL(selector).expr;
  if (parsed.kind !== 'vector' || parsed.matchers.some((m) => m.op !== '='))
    throw new PromqlError('OBS_ERR_PROMQL_SERIES', `[@obs/promql] bad series ${selector}`);
  const labels: Record<string, string> = {};
  for (const m of parsed.matchers) labels[m.name] = m.value;
  return { labels, values: points(rest) };
}

function points(rest: string): SeriesPoint[] {
  const values: SeriesPoint[] = [];
  for (const token of rest.split(/\s+/).filter((t) => t !== '')) {
    if (token === '_') values.push(undefined);
    else if (token === 'stale') values.push('stale');
    else {
      const m = /^([^x]+?)(?:([+-])([^x+-]+))?x(\d+)$/.exec(token);
      if (m === null) {
        values.push(number(token));
        continue;
      }
      const times = Number(m[4]);
      if (m[1] === '_') {
        for (let i = 0; i < times; i++) values.push(undefined);
        continue;
      }
      const start = number(m[1]!);
      const step = m[2] === undefined ? 0 : (m[2] === '-' ? -1 : 1) * number(m[3]!);
      // `a+bxn` expands to n+1 values by repeated addition, as promtool does (start + step * i would differ in
      // the last bit: 0+0.1x8 is 0.7 at step 7, not 0.7000000000000001, and irate() would see false resets).
      let v = start;
      values.push(v);
      for (let i = 1; i <= times; i++) {
        v += step;
        values.push(v);
      }
    }
  }
  return values;
}
