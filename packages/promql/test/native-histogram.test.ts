import { describe, expect, test } from 'vitest';
import { createSampleStore, type FloatHistogram, histogramBuckets, instantQuery, rangeQuery } from '../src/index.ts';
import {
  addHistograms,
  compactHistogram,
  createHistogram,
  detectReset,
  divHistogram,
  histogramString,
  histogramsEqual,
  mulHistogram,
} from '../src/native-histogram.ts';
import { parseHistogramDesc } from '../src/promqltest/histogram-notation.ts';

const h = (text: string): FloatHistogram => parseHistogramDesc(text).h;
const NAME = [{ name: '__name__', op: '=', value: 'x' }] as const;
const s = (n: number): number => n * 1000;

describe('the float histogram model (issue #18)', () => {
  test('adding across schemas reduces the finer one to the coarser schema', () => {
    const sum = addHistograms(
      h('{{schema:1 count:10 sum:5 buckets:[1 2 3 4]}}'),
      h('{{schema:0 count:2 sum:1 buckets:[1 1]}}'),
    ).h!;
    // Schema 1's buckets 1 and 2 ((1,√2] and (√2,2]) make schema 0's bucket 1 ((1,2]).
    expect(sum).toMatchObject({ schema: 0, count: 12, sum: 6, positiveBuckets: [2, 6, 4] });
    expect(sum.positiveSpans).toEqual([{ offset: 0, length: 3 }]);
  });

  test('adding widens the zero bucket to the larger threshold, absorbing the buckets inside it', () => {
    const a = h('{{schema:0 count:6 z_bucket:1 z_bucket_w:0.25 buckets:[2 3] offset:-1}}');
    const b = h('{{schema:0 count:5 z_bucket:4 z_bucket_w:0.5 buckets:[1]}}');
    const sum = addHistograms(a, b).h!;
    expect(sum).toMatchObject({ zeroThreshold: 0.5, zeroCount: 7, count: 11, positiveBuckets: [4] });
    expect(sum.positiveSpans).toEqual([{ offset: 0, length: 1 }]);
  });

  test('buckets of the added histogram inside the zero bucket are left out (its zero count has them)', () => {
    const a = h('{{count:2 z_bucket_w:0.5 buckets:[1 1] offset:-1}}');
    // Same layout, but bucket -1 ((0.25,0.5]) lies inside the zero bucket [-0.5,0.5]: only bucket 0 adds up.
    expect(addHistograms(a, a).h).toMatchObject({ count: 4, positiveBuckets: [1, 2] });
    expect(addHistograms(h('{{count:2 buckets:[1 1]}}'), h('{{count:2 buckets:[1 1]}}')).h).toMatchObject({
      count: 4,
      positiveBuckets: [2, 2],
    });
  });

  test('custom buckets with different bounds are reconciled to the common bounds', () => {
    const r = addHistograms(
      h('{{schema:-53 count:10 custom_values:[1 2 5] buckets:[1 2 3 4]}}'),
      h('{{schema:-53 count:3 custom_values:[1 5] buckets:[1 1 1]}}'),
    );
    expect(r.reconciled).toBe(true);
    expect(r.h).toMatchObject({ customValues: [1, 5], positiveBuckets: [2, 6, 5], count: 13 });
  });

  test('custom and exponential buckets do not mix, and conflicting hints are reported', () => {
    expect(addHistograms(h('{{schema:-53 custom_values:[1] buckets:[1]}}'), h('{{schema:0 buckets:[1]}}')).h).toBe(
      undefined,
    );
    const r = addHistograms(h('{{count:1 counter_reset_hint:reset}}'), h('{{count:1 counter_reset_hint:not_reset}}'));
    expect(r.collision).toBe(true);
    expect(r.h!.counterResetHint).toBe('unknown');
    expect(addHistograms(h('{{count:1}}'), h('{{count:1 counter_reset_hint:gauge}}')).h!.counterResetHint).toBe(
      'gauge',
    );
  });

  test('subtracting keeps negative buckets; compacting drops only the empty ones', () => {
    const diff = addHistograms(h('{{count:3 buckets:[1 2 3]}}'), h('{{count:3 buckets:[1 3 0]}}'), true).h!;
    expect(diff.positiveBuckets).toEqual([0, -1, 3]);
    const compact = compactHistogram(diff);
    expect(compact.positiveSpans).toEqual([{ offset: 1, length: 2 }]);
    expect(compact.positiveBuckets).toEqual([-1, 3]);
  });

  test('scaling multiplies every count; a negative factor or divisor makes a gauge, dividing by 0 drops buckets', () => {
    expect(mulHistogram(h('{{count:2 sum:4 z_bucket:1 buckets:[1]}}'), 3)).toMatchObject({
      count: 6,
      sum: 12,
      zeroCount: 3,
      positiveBuckets: [3],
      counterResetHint: 'unknown',
    });
    expect(mulHistogram(h('{{count:2}}'), -1).counterResetHint).toBe('gauge');
    expect(divHistogram(h('{{count:2 buckets:[2]}}'), 0)).toMatchObject({
      count: Number.POSITIVE_INFINITY,
      positiveBuckets: [],
    });
  });

  test('reset detection: a lower bucket or count, a finer schema; the hint decides when it says so', () => {
    const before = h('{{count:5 buckets:[2 3]}}');
    expect(detectReset(h('{{count:6 buckets:[1 5]}}'), before)).toBe(true);
    expect(detectReset(h('{{count:6 buckets:[2 4]}}'), before)).toBe(false);
    expect(detectReset(h('{{count:6 buckets:[1 5] counter_reset_hint:not_reset}}'), before)).toBe(false);
    expect(detectReset(h('{{count:9 buckets:[2 3] counter_reset_hint:reset}}'), before)).toBe(true);
    expect(detectReset(h('{{schema:1 count:6 buckets:[2 4]}}'), before)).toBe(true);
    // A populated bucket that went away is a reset; an empty one is not.
    expect(detectReset(h('{{count:6 buckets:[6]}}'), before)).toBe(true);
    expect(detectReset(h('{{count:6 buckets:[2 4]}}'), h('{{count:5 buckets:[2 3 0]}}'))).toBe(false);
  });

  test('equality is exact and ignores the hint; the string form is Prometheus', () => {
    expect(histogramsEqual(h('{{count:1 buckets:[1]}}'), h('{{count:1 buckets:[1] counter_reset_hint:gauge}}'))).toBe(
      true,
    );
    expect(histogramsEqual(h('{{count:1 buckets:[1]}}'), h('{{count:1 buckets:[1] offset:1}}'))).toBe(false);
    expect(histogramString(h('{{count:3 sum:2 z_bucket:1 z_bucket_w:0.5 buckets:[2] offset:1}}'))).toBe(
      '{count:3, sum:2, [-0.5,0.5]:1, (1,2]:2}',
    );
  });

  test('histogramBuckets lists populated buckets from the lowest, with bounds and boundary rules', () => {
    expect(histogramBuckets(h('{{count:6 z_bucket:1 z_bucket_w:0.001 n_buckets:[2] buckets:[0 3]}}'))).toEqual([
      { lower: -1, upper: -0.5, lowerInclusive: true, upperInclusive: false, count: 2, boundaryRule: 1 },
      { lower: -0.001, upper: 0.001, lowerInclusive: true, upperInclusive: true, count: 1, boundaryRule: 3 },
      { lower: 1, upper: 2, lowerInclusive: false, upperInclusive: true, count: 3, boundaryRule: 0 },
    ]);
    expect(histogramBuckets(h('{{schema:-53 count:5 custom_values:[1 2] buckets:[1 0 4]}}'))).toEqual([
      {
        lower: Number.NEGATIVE_INFINITY,
        upper: 1,
        lowerInclusive: true,
        upperInclusive: true,
        count: 1,
        boundaryRule: 3,
      },
      {
        lower: 2,
        upper: Number.POSITIVE_INFINITY,
        lowerInclusive: false,
        upperInclusive: true,
        count: 4,
        boundaryRule: 0,
      },
    ]);
  });

  test('createHistogram fills in an empty histogram', () => {
    expect(createHistogram()).toMatchObject({ schema: 0, count: 0, positiveBuckets: [], counterResetHint: 'unknown' });
  });
});

describe('native histograms in the store and the engine (issue #18)', () => {
  test('the store gives back histograms beside floats and staleness markers, with the hints its chunks imply', () => {
    const store = createSampleStore({ retentionMs: Number.MAX_SAFE_INTEGER });
    const x = { __name__: 'x' };
    store.append(x, 0, 1);
    store.appendHistogram!(x, s(60), h('{{count:1 sum:1 buckets:[1]}}'));
    store.appendHistogram!(x, s(120), h('{{count:2 sum:2 buckets:[2]}}'));
    store.markStale(x, s(180));
    store.appendHistogram!(x, s(240), h('{{count:3 sum:3 buckets:[3]}}'));
    // Older than the newest sample: ignored, as for floats.
    store.appendHistogram!(x, s(200), h('{{count:9}}'));
    const [series] = [...store.select(NAME, -1, s(300))];
    expect(Array.from(series!.t)).toEqual([0, s(180)]);
    expect(Array.from(series!.stale ?? [])).toEqual([0, 1]);
    expect(Array.from(series!.histograms!.t)).toEqual([s(60), s(120), s(240)]);
    expect(series!.histograms!.h.map((x) => [x.count, x.counterResetHint])).toEqual([
      [1, 'unknown'],
      [2, 'not_reset'],
      [3, 'unknown'],
    ]);
    expect(store.stats().samples).toBe(5);
    expect([...store.selectLatest(NAME, s(100), s(130))][0]).toMatchObject({ t: s(120), h: { count: 2 } });

    const at130 = instantQuery(store, 'x', s(130)).value;
    expect(at130).toMatchObject({ type: 'vector', samples: [{ value: 0, histogram: { count: 2, sum: 2 } }] });
    expect(instantQuery(store, 'x', s(200)).value).toEqual({ type: 'vector', samples: [] });

    const range = rangeQuery(store, 'x', { startMs: 0, endMs: s(240), stepMs: s(60) }).value;
    expect(range.type).toBe('matrix');
    if (range.type !== 'matrix') return;
    expect(range.series[0]).toMatchObject({ t: [0], v: [1] });
    expect(range.series[0]!.histograms!.t).toEqual([s(60), s(120), s(240)]);
  });

  test('retention drops old histograms too, and a snapshot may carry histograms', () => {
    const store = createSampleStore({ retentionMs: s(100) });
    for (const at of [0, 60, 120, 180])
      store.ingest(s(at), [{ name: 'x', labels: {}, value: 0, histogram: h(`{{count:${at}}}`) }]);
    const [series] = [...store.select(NAME, Number.NEGATIVE_INFINITY, s(180))];
    expect(Array.from(series!.histograms!.t)).toEqual([s(120), s(180)]);
    expect(store.selectLabels(NAME, s(170), s(180))).toEqual([{ __name__: 'x' }]);
  });

  test('sums of histograms are Kahan-compensated, as Prometheus sums them', () => {
    const store = createSampleStore({ retentionMs: Number.MAX_SAFE_INTEGER });
    const values = ['1e100', '1', '-1e100'];
    values.forEach((v, i) => {
      const x = h(`{{count:${v} sum:${v} buckets:[${v}]}}`);
      store.appendHistogram!({ __name__: 'x', i: String(i) }, 0, x);
      store.appendHistogram!({ __name__: 'y' }, s(10 * i), x);
    });
    const one = (q: string): FloatHistogram | undefined => {
      const v = instantQuery(store, q, s(20)).value;
      return v.type === 'vector' ? v.samples[0]?.histogram : undefined;
    };
    // Without compensation 1e100 + 1 - 1e100 is 0.
    expect(one('sum(x)')).toMatchObject({ count: 1, sum: 1, positiveBuckets: [1] });
    expect(one('sum_over_time(y[1m])')).toMatchObject({ count: 1, sum: 1, positiveBuckets: [1] });
  });

  test('rate, histogram_quantile, histogram_fraction and sum over stored histograms', () => {
    const store = createSampleStore({ retentionMs: Number.MAX_SAFE_INTEGER });
    for (const [i, c] of [0, 6, 12].entries())
      store.appendHistogram!({ __name__: 'x', i: 'a' }, s(60 * i), h(`{{count:${c} sum:${c} buckets:[${c}]}}`));
    const rate = instantQuery(store, 'rate(x[2m])', s(120)).value;
    // 6 in the minute sampled, extrapolated back to where the counter was 0 (a minute earlier), over 120s.
    expect(rate).toMatchObject({
      type: 'vector',
      samples: [
        { labels: { i: 'a' }, histogram: { count: 0.1, sum: 0.1, positiveBuckets: [0.1], counterResetHint: 'gauge' } },
      ],
    });

    const nhcb = createSampleStore({ retentionMs: Number.MAX_SAFE_INTEGER });
    nhcb.appendHistogram!({ __name__: 'y' }, 0, h('{{schema:-53 count:8 sum:10 custom_values:[1 2] buckets:[4 4]}}'));
    const one = (q: string): number => {
      const v = instantQuery(nhcb, q, 0).value;
      return v.type === 'vector' ? v.samples[0]!.value : Number.NaN;
    };
    expect(one('histogram_quantile(0.75, y)')).toBe(1.5);
    expect(one('histogram_quantile(0.25, y)')).toBe(0.5);
    // With no negative buckets the first custom bucket counts as (0, 1]; half of (1, 2] is below 1.5.
    expect(one('histogram_fraction(0, 1.5, y)')).toBe(0.75);
    expect(one('histogram_fraction(1, 1.5, y)')).toBe(0.25);
    expect(one('histogram_count(y)')).toBe(8);
    expect(one('histogram_avg(y)')).toBe(1.25);
    expect(instantQuery(nhcb, 'sum(y) + y', 0).value).toMatchObject({
      samples: [{ histogram: { count: 16, positiveBuckets: [8, 8] } }],
    });
    const mixed = instantQuery(nhcb, 'y + 1', 0);
    expect(mixed.value).toEqual({ type: 'vector', samples: [] });
    expect(mixed.annotations).toEqual([
      {
        level: 'info',
        message: 'incompatible sample types encountered for binary operator "+": histogram + float',
        at: 0,
      },
    ]);
  });
});
