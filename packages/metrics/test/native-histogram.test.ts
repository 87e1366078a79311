import { nativeBucketUpperBound } from '@obs/promql';
import { describe, expect, test } from 'vitest';
import { HistogramFamily } from '../src/internal/families.ts';
import {
  bucketKey,
  DEFAULT_ZERO_THRESHOLD,
  type NativeHistogramOptions,
  nativeConfig,
  pickSchema,
  spansAndDeltas,
  sumNative,
} from '../src/internal/native-histogram.ts';
import { ProtoWriter } from '../src/internal/protobuf.ts';
import { type DecodedHistogram, decodeMetricFamilies } from './fixtures/metric-family-decoder.ts';

const MINUTE = 60_000;
const Z = DEFAULT_ZERO_THRESHOLD;

interface Scenario {
  name: string;
  observations: number[];
  options: NativeHistogramOptions;
  want: Partial<DecodedHistogram>;
}

// client_golang's TestNativeHistogram (prometheus/histogram_test.go), with its simulated clock: a minute
// passes after each observation.
const scenarios: Scenario[] = [
  {
    name: 'no observations',
    observations: [],
    options: {},
    want: { sampleCount: 0, sampleSum: 0, schema: 3, zeroThreshold: Z, zeroCount: 0, positiveSpans: [] },
  },
  {
    name: 'no observations and zero threshold of zero resulting in no-op span',
    observations: [],
    options: { zeroThreshold: 0 },
    want: { schema: 3, zeroThreshold: 0, zeroCount: 0, positiveSpans: [{ offset: 0, length: 0 }] },
  },
  {
    name: 'factor 1.1 results in schema 3',
    observations: [0, 1, 2, 3],
    options: { bucketFactor: 1.1 },
    want: {
      sampleCount: 4,
      sampleSum: 6,
      schema: 3,
      zeroCount: 1,
      positiveSpans: [
        { offset: 0, length: 1 },
        { offset: 7, length: 1 },
        { offset: 4, length: 1 },
      ],
      positiveDeltas: [1, 0, 0],
    },
  },
  {
    name: 'factor 1.2 results in schema 2',
    observations: [0, 1, 1.2, 1.4, 1.8, 2],
    options: { bucketFactor: 1.2 },
    want: { schema: 2, zeroCount: 1, positiveSpans: [{ offset: 0, length: 5 }], positiveDeltas: [1, -1, 2, -2, 2] },
  },
  {
    name: 'factor 4 results in schema -1',
    observations: [0.0156251, 0.0625, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 3.5, 5, 6, 7, 33.33],
    options: { bucketFactor: 4 },
    want: {
      sampleCount: 14,
      schema: -1,
      zeroCount: 0,
      positiveSpans: [{ offset: -2, length: 6 }],
      positiveDeltas: [2, 0, 0, 2, -1, -2],
    },
  },
  {
    name: 'factor 17 results in schema -2',
    observations: [0.0156251, 0.0625, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 3.5, 5, 6, 7, 33.33],
    options: { bucketFactor: 17 },
    want: { schema: -2, positiveSpans: [{ offset: -1, length: 4 }], positiveDeltas: [2, 2, 3, -6] },
  },
  {
    name: 'negative and positive buckets',
    observations: [0, -1, -1.2, -1.4, -1.8, -2, 1, 1.2, 1.4, 1.8, 2],
    options: { bucketFactor: 1.2 },
    want: {
      sampleCount: 11,
      sampleSum: 0,
      zeroCount: 1,
      negativeSpans: [{ offset: 0, length: 5 }],
      negativeDeltas: [1, -1, 2, -2, 2],
      positiveSpans: [{ offset: 0, length: 5 }],
      positiveDeltas: [1, -1, 2, -2, 2],
    },
  },
  {
    name: 'wide zero bucket',
    observations: [0, -1, -1.2, -1.4, -1.8, -2, 1, 1.2, 1.4, 1.8, 2],
    options: { bucketFactor: 1.2, zeroThreshold: 1.4 },
    want: {
      zeroThreshold: 1.4,
      zeroCount: 7,
      negativeSpans: [{ offset: 4, length: 1 }],
      negativeDeltas: [2],
      positiveSpans: [{ offset: 4, length: 1 }],
      positiveDeltas: [2],
    },
  },
  {
    name: 'NaN observation',
    observations: [0, 1, 1.2, 1.4, 1.8, 2, Number.NaN],
    options: { bucketFactor: 1.2 },
    want: { sampleCount: 7, sampleSum: Number.NaN, zeroCount: 1, positiveDeltas: [1, -1, 2, -2, 2] },
  },
  {
    name: '+Inf observation',
    observations: [0, 1, 1.2, 1.4, 1.8, 2, Number.POSITIVE_INFINITY],
    options: { bucketFactor: 1.2 },
    want: {
      sampleSum: Number.POSITIVE_INFINITY,
      positiveSpans: [
        { offset: 0, length: 5 },
        { offset: 4092, length: 1 },
      ],
      positiveDeltas: [1, -1, 2, -2, 2, -1],
    },
  },
  {
    name: '-Inf observation',
    observations: [0, 1, 1.2, 1.4, 1.8, 2, Number.NEGATIVE_INFINITY],
    options: { bucketFactor: 1.2 },
    want: { negativeSpans: [{ offset: 4097, length: 1 }], negativeDeltas: [1], positiveDeltas: [1, -1, 2, -2, 2] },
  },
  {
    name: 'limited buckets but nothing triggered',
    observations: [0, 1, 1.2, 1.4, 1.8, 2],
    options: { bucketFactor: 1.2, maxBuckets: 4 },
    want: { schema: 2, positiveSpans: [{ offset: 0, length: 5 }], positiveDeltas: [1, -1, 2, -2, 2] },
  },
  {
    name: 'buckets limited by halving resolution',
    observations: [0, 1, 1.1, 1.2, 1.4, 1.8, 2, 3],
    options: { bucketFactor: 1.2, maxBuckets: 4 },
    want: {
      sampleCount: 8,
      sampleSum: 11.5,
      schema: 1,
      zeroCount: 1,
      positiveSpans: [{ offset: 0, length: 5 }],
      positiveDeltas: [1, 2, -1, -2, 1],
    },
  },
  {
    name: 'buckets limited by widening the zero bucket',
    observations: [0, 1, 1.1, 1.2, 1.4, 1.8, 2, 3],
    options: { bucketFactor: 1.2, maxBuckets: 4, maxZeroThreshold: 1.2 },
    want: {
      schema: 2,
      zeroThreshold: 1,
      zeroCount: 2,
      positiveSpans: [{ offset: 1, length: 7 }],
      positiveDeltas: [1, 1, -2, 2, -2, 0, 1],
    },
  },
  {
    name: 'buckets limited by widening the zero bucket twice',
    observations: [0, 1, 1.1, 1.2, 1.4, 1.8, 2, 3, 4],
    options: { bucketFactor: 1.2, maxBuckets: 4, maxZeroThreshold: 1.2 },
    want: {
      sampleCount: 9,
      zeroThreshold: 1.189207115002721,
      zeroCount: 3,
      positiveSpans: [{ offset: 2, length: 7 }],
      positiveDeltas: [2, -2, 2, -2, 0, 1, 0],
    },
  },
  {
    name: 'buckets limited by reset',
    observations: [0, 1, 1.1, 1.2, 1.4, 1.8, 2, 3, 4],
    options: { bucketFactor: 1.2, maxBuckets: 4, maxZeroThreshold: 1.2, minResetDurationMs: 5 * MINUTE },
    want: {
      sampleCount: 2,
      sampleSum: 7,
      schema: 2,
      zeroThreshold: Z,
      zeroCount: 0,
      positiveSpans: [{ offset: 7, length: 2 }],
      positiveDeltas: [1, 0],
    },
  },
  {
    name: 'buckets limited by reset, negative observations',
    observations: [0, -1, -1.1, -1.2, -1.4, -1.8, -2, -3, -4],
    options: { bucketFactor: 1.2, maxBuckets: 4, maxZeroThreshold: 1.2, minResetDurationMs: 5 * MINUTE },
    want: { sampleCount: 2, sampleSum: -7, negativeSpans: [{ offset: 7, length: 2 }], negativeDeltas: [1, 0] },
  },
  {
    name: 'buckets limited by halving resolution, then reset',
    observations: [0, 1, 1.1, 1.2, 1.4, 1.8, 2, 5, 5.1, 3, 4],
    options: { bucketFactor: 1.2, maxBuckets: 4, minResetDurationMs: 9 * MINUTE },
    want: {
      sampleCount: 3,
      sampleSum: 12.1,
      schema: 2,
      zeroThreshold: Z,
      zeroCount: 0,
      positiveSpans: [{ offset: 7, length: 4 }],
      positiveDeltas: [1, 0, -1, 1],
    },
  },
  {
    name: 'buckets limited by widening the zero bucket, then reset',
    observations: [0, 1, 1.1, 1.2, 1.4, 1.8, 2, 5, 5.1, 3, 4],
    options: { bucketFactor: 1.2, maxBuckets: 4, maxZeroThreshold: 1.2, minResetDurationMs: 9 * MINUTE },
    want: {
      sampleCount: 3,
      sampleSum: 12.1,
      zeroThreshold: Z,
      positiveSpans: [{ offset: 7, length: 4 }],
      positiveDeltas: [1, 0, -1, 1],
    },
  },
];

function nativeFamily(options: NativeHistogramOptions, now: () => number, buckets: number[] = []): HistogramFamily {
  return new HistogramFamily({ name: 'name', help: 'help', buckets, native: nativeConfig(options, now) });
}

function encodeOne(family: HistogramFamily): DecodedHistogram {
  const w = new ProtoWriter(16);
  // As the registry's exposition does: a due scheduled reset happens first.
  family.refresh();
  family.encode(w, true);
  const [decoded] = decodeMetricFamilies(w.finish());
  return decoded!.metrics[0]!.histogram!;
}

describe('native histograms as client_golang keeps them', () => {
  test.each(scenarios)('$name', ({ observations, options, want }) => {
    let ts = 1_700_000_000_000;
    const family = nativeFamily(options, () => ts);
    ts += MINUTE;
    const series = family.child([]);
    for (const o of observations) {
      family.observe(series, o);
      ts += MINUTE;
    }
    const got = encodeOne(family);
    const expected = {
      sampleCount: observations.length === 0 ? 0 : expect.any(Number),
      negativeSpans: [],
      negativeDeltas: [],
      positiveDeltas: [],
      ...want,
    };
    expect(got).toMatchObject(expected);
    if (want.sampleSum !== undefined && !Number.isNaN(want.sampleSum))
      expect(got.sampleSum).toBeCloseTo(want.sampleSum, 9);
    if (
      options.zeroThreshold === undefined &&
      want.zeroThreshold === undefined &&
      options.maxZeroThreshold === undefined
    )
      expect(got.zeroThreshold).toBe(Z);
  });

  test('the schema follows the bucket factor as pickSchema does', () => {
    expect([1.0001, 1.002, 1.1, 1.2, 1.5, 2, 4, 17, 300, 1e6].map(pickSchema)).toEqual([
      8, 8, 3, 2, 1, 0, -1, -2, -3, -4,
    ]);
  });

  test('a value on a bucket bound lands in the bucket it bounds, at every schema', () => {
    for (let schema = -4; schema <= 8; schema++) {
      for (const key of [-300, -17, -1, 0, 1, 5, 64, 513]) {
        const upper = nativeBucketUpperBound(key, schema);
        if (upper === 0 || !Number.isFinite(upper)) continue;
        expect(bucketKey(upper, schema)).toBe(key);
        expect(bucketKey(upper * (1 + 2 ** -50), schema)).toBe(key + 1);
      }
    }
    // Subnormal values still get their key.
    expect(bucketKey(2 ** -1070, 0)).toBe(-1070);
  });

  test('classic buckets are kept alongside (NaN lands in +Inf, as client_golang)', () => {
    const family = nativeFamily({}, Date.now, [0.1, 1]);
    const series = family.child([]);
    for (const v of [0.05, 0.5, 5, Number.NaN]) family.observe(series, v);
    const got = encodeOne(family);
    expect(got.buckets).toEqual([
      { cumulativeCount: 1, upperBound: 0.1 },
      { cumulativeCount: 2, upperBound: 1 },
    ]);
    expect(got.sampleCount).toBe(4);
    expect(family.render('prometheus', false)).toContain('name_bucket{le="+Inf"} 4');
  });

  test('a scheduled reset happens at scrape time too, once min_reset_duration has passed', () => {
    let ts = 0;
    const family = nativeFamily({ bucketFactor: 1.2, maxBuckets: 2, minResetDurationMs: 10 * MINUTE }, () => ts);
    const series = family.child([]);
    ts = MINUTE;
    for (const v of [1, 2, 4, 8]) family.observe(series, v);
    expect(encodeOne(family).schema).toBeLessThan(2);
    ts = 10 * MINUTE;
    expect(encodeOne(family)).toMatchObject({ schema: 2, sampleCount: 0, positiveSpans: [] });
  });

  test('a sum of histograms is at the lowest schema, with the widest zero bucket, as Prometheus adds them', () => {
    const sum = sumNative([
      // schema 1: keys 1 and 2 are (1, 1.41] and (1.41, 2]; key -3 is (0.35, 0.5].
      {
        schema: 1,
        zeroThreshold: 0,
        zeroCount: 1,
        positive: { offset: -3, counts: [2, 0, 0, 0, 1, 1] },
        negative: { offset: 0, counts: [] },
      },
      // schema 0, a zero bucket up to 0.4: the bucket (0.25, 0.5] of the first one is cut through, so the
      // threshold widens to 0.5 and its two observations count as zero.
      {
        schema: 0,
        zeroThreshold: 0.4,
        zeroCount: 3,
        positive: { offset: 1, counts: [5] },
        negative: { offset: 2, counts: [7] },
      },
    ]);
    expect(sum).toMatchObject({ schema: 0, zeroThreshold: 0.5, zeroCount: 6 });
    expect(spansAndDeltas(sum.positive)).toEqual({ spans: [{ offset: 1, length: 1 }], deltas: [7] });
    expect(spansAndDeltas(sum.negative)).toEqual({ spans: [{ offset: 2, length: 1 }], deltas: [7] });
  });

  test('the classic buckets of a native histogram count exactly as a classic one, bounds and resolution changes included', () => {
    const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    const classic = new HistogramFamily({ name: 'c', help: 'h', buckets });
    const native = nativeFamily({ maxBuckets: 20 }, Date.now, buckets);
    const values = [
      ...buckets,
      ...buckets.map((b) => b * (1 + 2 ** -52)),
      0,
      -1,
      1e-300,
      1e300,
      Number.POSITIVE_INFINITY,
    ];
    let seed = 7;
    for (let i = 0; i < 5_000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      values.push(10 ** ((seed / 2 ** 31) * 6 - 4));
    }
    const c = classic.child([]);
    const n = native.child([]);
    for (const v of values) expect(native.observe(n, v)).toBe(classic.observe(c, v));
    expect([...n.counts]).toEqual([...c.counts]);
    // 20 buckets at most: the resolution went down on the way, and the cache followed.
    expect(n.native!.schema).toBeLessThan(3);
  });
});
