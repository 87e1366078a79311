import { expectTypeOf, test } from 'vitest';
import {
  createSampleStore,
  evaluate,
  instantQuery,
  type PromValue,
  type QueryResult,
  type SampleSource,
} from '../src/index.ts';

test('the sample store is a SampleSource that evaluate() reads', () => {
  expectTypeOf(createSampleStore()).toExtend<SampleSource>();
  expectTypeOf(evaluate).returns.toEqualTypeOf<PromValue>();
});

test('instantQuery takes a source, a query and a time, and returns the value with annotations', () => {
  expectTypeOf(instantQuery).parameter(0).toEqualTypeOf<SampleSource>();
  expectTypeOf(instantQuery).returns.toEqualTypeOf<QueryResult>();
});
