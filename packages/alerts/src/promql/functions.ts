import type { ValueType } from './ast.ts';

/** The signature of a supported function: argument types, how many may be left out, result type. */
export interface FunctionSignature {
  readonly args: readonly ValueType[];
  readonly optional: number;
  readonly returns: ValueType;
}

const m = (): FunctionSignature => ({ args: ['matrix'], optional: 0, returns: 'vector' });
const v = (): FunctionSignature => ({ args: ['vector'], optional: 0, returns: 'vector' });

// The subset of issue 6; anything else is rejected when a rule loads (issue 9 grows it).
export const FUNCTIONS: Readonly<Record<string, FunctionSignature>> = Object.freeze({
  rate: m(),
  irate: m(),
  increase: m(),
  delta: m(),
  idelta: m(),
  resets: m(),
  changes: m(),
  avg_over_time: m(),
  min_over_time: m(),
  max_over_time: m(),
  sum_over_time: m(),
  count_over_time: m(),
  last_over_time: m(),
  present_over_time: m(),
  absent_over_time: m(),
  absent: v(),
  abs: v(),
  ceil: v(),
  floor: v(),
  timestamp: v(),
  round: { args: ['vector', 'scalar'], optional: 1, returns: 'vector' },
  clamp: { args: ['vector', 'scalar', 'scalar'], optional: 0, returns: 'vector' },
  clamp_min: { args: ['vector', 'scalar'], optional: 0, returns: 'vector' },
  clamp_max: { args: ['vector', 'scalar'], optional: 0, returns: 'vector' },
  histogram_quantile: { args: ['scalar', 'vector'], optional: 0, returns: 'vector' },
  time: { args: [], optional: 0, returns: 'scalar' },
  vector: { args: ['scalar'], optional: 0, returns: 'vector' },
  scalar: { args: ['vector'], optional: 0, returns: 'scalar' },
  label_replace: { args: ['vector', 'string', 'string', 'string', 'string'], optional: 0, returns: 'vector' },
});
