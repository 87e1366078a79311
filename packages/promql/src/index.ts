export type {
  Aggregate,
  AggregateOp,
  AtModifier,
  Binary,
  BinaryOp,
  Call,
  Expr,
  Matcher,
  MatrixSelector,
  NumberLiteral,
  Paren,
  StringLiteral,
  Subquery,
  Unary,
  ValueType,
  VectorMatching,
  VectorSelector,
} from './ast.ts';
export { formatPromDuration, parsePromDuration } from './duration.ts';
export type {
  Annotation,
  EvaluateOptions,
  HistogramSamples,
  InstantEvaluation,
  LatestSample,
  PromValue,
  Query,
  QueryResult,
  RangeEvaluation,
  ResultSeries,
  SampleSource,
  SelectedSeries,
  VectorSample,
} from './engine.ts';
export {
  createInstantEvaluation,
  createRangeEvaluation,
  evaluate,
  historyNeeded,
  instantQuery,
  latestSamples,
  rangeQuery,
} from './engine.ts';
export type { ExprPosition, PromqlErrorCode } from './errors.ts';
export { PromqlError, promqlErrorCodes } from './errors.ts';
export type { FormatOptions } from './format.ts';
export { formatExpr, goQuote } from './format.ts';
export type { Labels } from './labels.ts';
export { labelsKey, seriesKey } from './labels.ts';
export { NATIVE_BOUND_FRACTIONS } from './native-bounds.ts';
export type { BucketSpan, CounterResetHint, FloatHistogram, HistogramBucket } from './native-histogram.ts';
export { histogramBuckets, nativeBucketUpperBound } from './native-histogram.ts';
export type { ParsedExpr } from './parse.ts';
export { parsePromQL as parse } from './parse.ts';
export type { AnchoredRegex } from './regex.ts';
export { anchoredRegex } from './regex.ts';
export type { SeriesPoint } from './series-notation.ts';
export { parseSeriesDesc } from './series-notation.ts';
export type { NamedSample, SampleStore, SampleStoreOptions, SampleStoreStats } from './store.ts';
export { createSampleStore } from './store.ts';
export { metricNames } from './walk.ts';
