// Functions over range vectors: rate and friends, *_over_time, deriv, predict_linear, smoothing.
import { kahanSum, mean, quantile, variance } from './aggregate.ts';
import { evalError, kahanSumInc, type Series } from './values.ts';

// Prometheus' extrapolatedRate (promql/functions.go), float samples only.
export function extrapolatedRate(
  s: Series,
  rangeStart: number,
  rangeEnd: number,
  rangeMs: number,
  isCounter: boolean,
  isRate: boolean,
): number | undefined {
  const n = s.t.length;
  if (n < 2) return undefined;
  const firstT = s.t[0]!;
  const lastT = s.t[n - 1]!;
  const firstV = s.v[0]!;
  let result = s.v[n - 1]! - firstV;
  if (isCounter) {
    let prev = firstV;
    for (let i = 1; i < n; i++) {
      const cur = s.v[i]!;
      if (cur < prev) result += prev;
      prev = cur;
    }
  }
  let durationToStart = (firstT - rangeStart) / 1000;
  let durationToEnd = (rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageBetween = sampledInterval / (n - 1);
  const threshold = averageBetween * 1.1;
  if (durationToStart >= threshold) durationToStart = averageBetween / 2;
  if (isCounter && result > 0 && firstV >= 0) {
    // A counter cannot go below zero: do not extrapolate past the point where it would have been 0.
    const durationToZero = sampledInterval * (firstV / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= threshold) durationToEnd = averageBetween / 2;
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= rangeMs / 1000;
  return result * factor;
}

function instantValue(s: Series, isRate: boolean): number | undefined {
  const n = s.t.length;
  if (n < 2) return undefined;
  const last = s.v[n - 1]!;
  const prev = s.v[n - 2]!;
  let result = isRate && last < prev ? last : last - prev;
  const interval = s.t[n - 1]! - s.t[n - 2]!;
  if (interval === 0) return undefined;
  if (isRate) result /= interval / 1000;
  return result;
}

/** Prometheus' linearRegression: slope per second and the value at `interceptTime`. */
function linearRegression(s: Series, interceptTime: number): [number, number] {
  let n = 0;
  let sumX = 0;
  let cX = 0;
  let sumY = 0;
  let cY = 0;
  let sumXY = 0;
  let cXY = 0;
  let sumX2 = 0;
  let cX2 = 0;
  const initY = s.v[0]!;
  let constY = true;
  for (let i = 0; i < s.t.length; i++) {
    const y = s.v[i]!;
    if (constY && i > 0 && y !== initY) constY = false;
    n++;
    const x = (s.t[i]! - interceptTime) / 1000;
    [sumX, cX] = kahanSumInc(x, sumX, cX);
    [sumY, cY] = kahanSumInc(y, sumY, cY);
    [sumXY, cXY] = kahanSumInc(x * y, sumXY, cXY);
    [sumX2, cX2] = kahanSumInc(x * x, sumX2, cX2);
  }
  if (constY) {
    if (!Number.isFinite(initY) && !Number.isNaN(initY)) return [Number.NaN, Number.NaN];
    return [0, initY];
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  return [slope, sumY / n - (slope * sumX) / n];
}

function extreme(s: Series, better: (x: number, best: number) => boolean): number {
  let best = s.v[0]!;
  for (let i = 1; i < s.v.length; i++) if (better(s.v[i]!, best)) best = s.v[i]!;
  return best;
}

function extremeAt(s: Series, better: (x: number, best: number) => boolean): number {
  let best = s.v[0]!;
  let at = s.t[0]!;
  for (let i = 1; i < s.v.length; i++)
    if (better(s.v[i]!, best)) {
      best = s.v[i]!;
      at = s.t[i]!;
    }
  return at / 1000;
}

const lower = (x: number, m: number): boolean => x < m || Number.isNaN(m);
const higher = (x: number, m: number): boolean => x > m || Number.isNaN(m);

/** The functions of one range vector and nothing else; undefined leaves the series out of the result. */
export const OVER_TIME: Readonly<Record<string, (s: Series) => number | undefined>> = {
  avg_over_time: (s) => mean(s.v),
  sum_over_time: (s) => kahanSum(s.v),
  count_over_time: (s) => s.v.length,
  present_over_time: () => 1,
  last_over_time: (s) => s.v[s.v.length - 1],
  first_over_time: (s) => s.v[0],
  min_over_time: (s) => extreme(s, lower),
  max_over_time: (s) => extreme(s, higher),
  ts_of_min_over_time: (s) => extremeAt(s, (x, m) => x <= m || Number.isNaN(m)),
  ts_of_max_over_time: (s) => extremeAt(s, (x, m) => x >= m || Number.isNaN(m)),
  ts_of_first_over_time: (s) => s.t[0]! / 1000,
  ts_of_last_over_time: (s) => s.t[s.t.length - 1]! / 1000,
  stddev_over_time: (s) => Math.sqrt(variance(s.v)),
  stdvar_over_time: (s) => variance(s.v),
  mad_over_time: (s) => {
    if (Array.prototype.some.call(s.v, Number.isNaN)) return Number.NaN;
    const median = quantile(0.5, s.v);
    return quantile(
      0.5,
      Array.from(s.v, (x) => Math.abs(x - median)),
    );
  },
  resets: (s) => {
    let n = 0;
    for (let i = 1; i < s.v.length; i++) if (s.v[i]! < s.v[i - 1]!) n++;
    return n;
  },
  changes: (s) => {
    let n = 0;
    for (let i = 1; i < s.v.length; i++) {
      const a = s.v[i]!;
      const b = s.v[i - 1]!;
      if (!(a === b || (Number.isNaN(a) && Number.isNaN(b)))) n++;
    }
    return n;
  },
  irate: (s) => instantValue(s, true),
  idelta: (s) => instantValue(s, false),
  deriv: (s) => (s.t.length < 2 ? undefined : linearRegression(s, s.t[0]!)[0]),
};

export function predictLinear(s: Series, at: number, seconds: number): number | undefined {
  if (s.t.length < 2) return undefined;
  const [slope, intercept] = linearRegression(s, at);
  return slope * seconds + intercept;
}

const goFloat = (x: number): string => x.toFixed(6);

export function doubleExponentialSmoothing(s: Series, sf: number, tf: number): number | undefined {
  if (!(sf > 0 && sf < 1)) throw evalError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${goFloat(sf)}`);
  if (!(tf > 0 && tf < 1)) throw evalError(`invalid trend factor. Expected: 0 < tf < 1, got: ${goFloat(tf)}`);
  const n = s.v.length;
  if (n < 2) return undefined;
  let s0 = 0;
  let s1 = s.v[0]!;
  let b = s.v[1]! - s.v[0]!;
  for (let i = 1; i < n; i++) {
    const x = sf * s.v[i]!;
    if (i > 1) b = tf * (s1 - s0) + (1 - tf) * b;
    const y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  return s1;
}
