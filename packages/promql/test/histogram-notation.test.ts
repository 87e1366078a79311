import { describe, expect, test } from 'vitest';
import { expandHistogramToken, parseHistogramDesc } from '../src/promqltest/histogram-notation.ts';
import { nhcbSeries } from '../src/promqltest/nhcb.ts';
import type { ScriptSeries } from '../src/promqltest/script.ts';

describe("the {{…}} notation of Prometheus's test scripts (issue #18)", () => {
  test('every key of a description', () => {
    const { h, hintSet } = parseHistogramDesc(
      '{{schema:1 sum:-2.5 count:9 z_bucket:1 z_bucket_w:0.001 buckets:[1 2] offset:-2 n_buckets:[3 0 2] n_offset:4 counter_reset_hint:gauge}}',
    );
    expect(hintSet).toBe(true);
    expect(h).toEqual({
      schema: 1,
      zeroThreshold: 0.001,
      zeroCount: 1,
      count: 9,
      sum: -2.5,
      positiveSpans: [{ offset: -2, length: 2 }],
      positiveBuckets: [1, 2],
      negativeSpans: [{ offset: 4, length: 3 }],
      negativeBuckets: [3, 0, 2],
      customValues: [],
      counterResetHint: 'gauge',
    });
    expect(parseHistogramDesc('{{schema:-53 custom_values:[0.1 Inf] buckets:[1]}}').h.customValues).toEqual([
      0.1,
      Number.POSITIVE_INFINITY,
    ]);
    expect(parseHistogramDesc('{{}}')).toMatchObject({ hintSet: false, h: { count: 0, positiveSpans: [] } });
  });

  test('repeated, growing and shrinking series', () => {
    expect(expandHistogramToken('{{count:1}}x2').map((p) => p.h.count)).toEqual([1, 1, 1]);
    const grow = expandHistogramToken('{{count:1 buckets:[1]}}+{{count:2 buckets:[1 1] counter_reset_hint:gauge}}x2');
    expect(grow.map((p) => [p.h.count, p.h.positiveBuckets])).toEqual([
      [1, [1]],
      [3, [2, 1]],
      [5, [3, 2]],
    ]);
    // The hint of the increment decides whether the whole series' hints are compared.
    expect(grow.map((p) => p.hintSet)).toEqual([true, true, true]);
    expect(expandHistogramToken('{{count:5}}-{{count:2}}x2').map((p) => p.h.count)).toEqual([5, 3, 1]);
  });

  test('malformed descriptions are errors', () => {
    expect(() => parseHistogramDesc('{{count:1 count:2}}')).toThrow('duplicate key "count" in histogram');
    expect(() => parseHistogramDesc('{{colour:1}}')).toThrow('unknown histogram key colour');
    expect(() => parseHistogramDesc('{{counter_reset_hint:maybe}}')).toThrow('unknown value maybe');
    expect(() => expandHistogramToken('{{schema:0}}+{{schema:1}}')).toThrow('expected xN');
    expect(() => expandHistogramToken('{{schema:1}}+{{schema:0}}x1')).toThrow('cannot merge from schema 0 to 1');
  });
});

describe('load_with_nhcb: classic histograms as custom-bucket native histograms', () => {
  test('cumulative buckets become per-bucket counts, the count and sum join them, +Inf is added when missing', () => {
    const series: ScriptSeries[] = [
      { line: 1, labels: { __name__: 'req_bucket', le: '0.1', job: 'a' }, points: [1, 2] },
      { line: 2, labels: { __name__: 'req_bucket', le: '1', job: 'a' }, points: [3, 2] },
      { line: 3, labels: { __name__: 'req_count', job: 'a' }, points: [4, 2] },
      { line: 4, labels: { __name__: 'req_sum', job: 'a' }, points: [2.5, 0.5] },
      { line: 5, labels: { __name__: 'other', job: 'a' }, points: [7] },
    ];
    const [nhcb, ...rest] = nhcbSeries(series, 60_000);
    expect(rest).toEqual([]);
    expect(nhcb!.labels).toEqual({ __name__: 'req', job: 'a' });
    expect(nhcb!.t).toEqual([0, 60_000]);
    expect(nhcb!.h[0]).toMatchObject({
      schema: -53,
      count: 4,
      sum: 2.5,
      customValues: [0.1, 1],
      positiveSpans: [{ offset: 0, length: 3 }],
      positiveBuckets: [1, 2, 1],
    });
    // Integer counts keep up to two empty buckets inside a span, as Prometheus's integer histograms do.
    expect(nhcb!.h[1]).toMatchObject({ count: 2, positiveSpans: [{ offset: 0, length: 1 }], positiveBuckets: [2] });
  });
});
