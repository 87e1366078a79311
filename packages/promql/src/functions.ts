import type { ValueType } from './ast.ts';

/** The signature of a supported function: argument types, how many may be left out, result type. */
export interface FunctionSignature {
  readonly args: readonly ValueType[];
  readonly optional: number;
  readonly returns: ValueType;
  /** The last argument type may repeat (label_join, sort_by_label). */
  readonly variadic?: boolean;
}

const m = (): FunctionSignature => ({ args: ['matrix'], optional: 0, returns: 'vector' });
const v = (): FunctionSignature => ({ args: ['vector'], optional: 0, returns: 'vector' });
// Date functions take the evaluation time when called without an argument.
const date = (): FunctionSignature => ({ args: ['vector'], optional: 1, returns: 'vector' });

const MATRIX_FUNCTIONS = [
  'rate',
  'irate',
  'increase',
  'delta',
  'idelta',
  'deriv',
  'resets',
  'changes',
  'avg_over_time',
  'min_over_time',
  'max_over_time',
  'sum_over_time',
  'count_over_time',
  'last_over_time',
  'first_over_time',
  'present_over_time',
  'absent_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'mad_over_time',
  'ts_of_min_over_time',
  'ts_of_max_over_time',
  'ts_of_first_over_time',
  'ts_of_last_over_time',
] as const;

const VECTOR_FUNCTIONS = [
  'absent',
  'abs',
  'ceil',
  'floor',
  'exp',
  'sqrt',
  'ln',
  'log2',
  'log10',
  'sgn',
  'timestamp',
  'sort',
  'sort_desc',
  'acos',
  'acosh',
  'asin',
  'asinh',
  'atan',
  'atanh',
  'cos',
  'cosh',
  'sin',
  'sinh',
  'tan',
  'tanh',
  'deg',
  'rad',
  // Native-histogram functions: float samples are ignored, so over float data they return nothing.
  'histogram_count',
  'histogram_sum',
  'histogram_avg',
  'histogram_stddev',
  'histogram_stdvar',
] as const;

const DATE_FUNCTIONS = [
  'minute',
  'hour',
  'day_of_week',
  'day_of_month',
  'day_of_year',
  'days_in_month',
  'month',
  'year',
] as const;

function table(): Record<string, FunctionSignature> {
  const out: Record<string, FunctionSignature> = {};
  for (const f of MATRIX_FUNCTIONS) out[f] = m();
  for (const f of VECTOR_FUNCTIONS) out[f] = v();
  for (const f of DATE_FUNCTIONS) out[f] = date();
  return out;
}

// The functions of Prometheus 3.x the embedded engine evaluates; anything else is rejected when a rule loads.
export const FUNCTIONS: Readonly<Record<string, FunctionSignature>> = Object.freeze({
  ...table(),
  round: { args: ['vector', 'scalar'], optional: 1, returns: 'vector' },
  clamp: { args: ['vector', 'scalar', 'scalar'], optional: 0, returns: 'vector' },
  clamp_min: { args: ['vector', 'scalar'], optional: 0, returns: 'vector' },
  clamp_max: { args: ['vector', 'scalar'], optional: 0, returns: 'vector' },
  histogram_quantile: { args: ['scalar', 'vector'], optional: 0, returns: 'vector' },
  histogram_fraction: { args: ['scalar', 'scalar', 'vector'], optional: 0, returns: 'vector' },
  quantile_over_time: { args: ['scalar', 'matrix'], optional: 0, returns: 'vector' },
  predict_linear: { args: ['matrix', 'scalar'], optional: 0, returns: 'vector' },
  double_exponential_smoothing: { args: ['matrix', 'scalar', 'scalar'], optional: 0, returns: 'vector' },
  time: { args: [], optional: 0, returns: 'scalar' },
  pi: { args: [], optional: 0, returns: 'scalar' },
  step: { args: [], optional: 0, returns: 'scalar' },
  range: { args: [], optional: 0, returns: 'scalar' },
  start: { args: [], optional: 0, returns: 'scalar' },
  end: { args: [], optional: 0, returns: 'scalar' },
  min_of: { args: ['scalar', 'scalar'], optional: 0, returns: 'scalar' },
  max_of: { args: ['scalar', 'scalar'], optional: 0, returns: 'scalar' },
  histogram_quantiles: { args: ['vector', 'string', 'scalar'], optional: 0, returns: 'vector', variadic: true },
  vector: { args: ['scalar'], optional: 0, returns: 'vector' },
  scalar: { args: ['vector'], optional: 0, returns: 'scalar' },
  label_replace: { args: ['vector', 'string', 'string', 'string', 'string'], optional: 0, returns: 'vector' },
  label_join: { args: ['vector', 'string', 'string', 'string'], optional: 1, returns: 'vector', variadic: true },
  sort_by_label: { args: ['vector', 'string'], optional: 1, returns: 'vector', variadic: true },
  sort_by_label_desc: { args: ['vector', 'string'], optional: 1, returns: 'vector', variadic: true },
});
