import { expectTypeOf, test } from 'vitest';
import {
  createSampleStore,
  evaluate,
  type FloatHistogram,
  type HistogramBucket,
  histogramBuckets,
  instantQuery,
  type PromValue,
  type QueryResult,
  type ResultSeries,
  type SampleSource,
  type VectorSample,
} from '../src/index.ts';

test('the sample store is a SampleSource that evaluate() reads', () => {
  expectTypeOf(createSampleStore()).toExtend<SampleSource>();
  expectTypeOf(evaluate).returns.toEqualTypeOf<PromValue>();
});

test('instantQuery takes a source, a query and a time, and returns the value with annotations', () => {
  expectTypeOf(instantQuery).parameter(0).toEqualTypeOf<SampleSource>();
  expectTypeOf(instantQuery).returns.toEqualTypeOf<QueryResult>();
});

test('native histograms: results carry them, the store takes them, histogramBuckets lists their buckets', () => {
  expectTypeOf<VectorSample['histogram']>().toEqualTypeOf<FloatHistogram | undefined>();
  expectTypeOf<NonNullable<ResultSeries['histograms']>['h']>().toEqualTypeOf<readonly FloatHistogram[]>();
  expectTypeOf(createSampleStore().appendHistogram).toEqualTypeOf<
    ((labels: Readonly<Record<string, string>>, t: number, h: FloatHistogram) => void) | undefined
  >();
  expectTypeOf(histogramBuckets).returns.toEqualTypeOf<HistogramBucket[]>();
  expectTypeOf<HistogramBucket['boundaryRule']>().toEqualTypeOf<0 | 1 | 2 | 3>();
});
