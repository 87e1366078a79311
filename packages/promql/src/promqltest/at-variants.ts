// Prometheus' runner also evaluates every instant query with each selector pinned by `@` to the original
// evaluation time, at other times: a correct engine gives the same answer. This builds those variants.
import type { Expr } from '../ast.ts';

// Functions whose answer depends on the evaluation time even when their inputs are pinned.
const UNSAFE: ReadonlySet<string> = new Set([
  'days_in_month',
  'day_of_month',
  'day_of_week',
  'day_of_year',
  'hour',
  'minute',
  'month',
  'year',
  'predict_linear',
  'time',
  'timestamp',
  'start',
  'end',
  'range',
  'step',
]);

class Unsafe extends Error {}

// Selectors and subqueries without `@` get `@ at`; inside a subquery that has one, nothing changes.
function pin(e: Expr, at: number): Expr {
  switch (e.kind) {
    case 'number':
    case 'string':
      return e;
    case 'vector':
      return e.at === undefined ? { ...e, at } : e;
    case 'matrix':
      return e.selector.at === undefined ? { ...e, selector: { ...e.selector, at } } : e;
    case 'subquery':
      return e.at === undefined ? { ...e, at } : e;
    case 'paren':
    case 'unary':
      return { ...e, expr: pin(e.expr, at) };
    case 'call':
      if (UNSAFE.has(e.func)) throw new Unsafe();
      return { ...e, args: e.args.map((a) => pin(a, at)) };
    case 'aggregate':
      return { ...e, expr: pin(e.expr, at), param: e.param === undefined ? undefined : pin(e.param, at) };
    case 'binary':
      return { ...e, lhs: pin(e.lhs, at), rhs: pin(e.rhs, at) };
  }
}

/** The pinned expression and the other times to evaluate it at, or none when a function makes it unsafe. */
export function atVariants(expr: Expr, evalMs: number): { expr: Expr; times: number[] } | undefined {
  let pinned: Expr;
  try {
    pinned = pin(expr, evalMs);
  } catch (e) {
    if (e instanceof Unsafe) return undefined;
    throw e;
  }
  const times = evalMs === 0 ? [-1000, 0, 1000] : [-10 * evalMs, 0, Math.trunc(evalMs / 5), evalMs, 10 * evalMs];
  return { expr: pinned, times };
}
