// What a dashboard's PromQL is made of (metric names, the alerting comparison), read with @obs/promql's parser,
// so a panel's query is checked by the same grammar and type rules as the rules that alert on it.
import { type Expr, metricNames, PromqlError, parse } from '@obs/promql';

type Comparison = '>' | '>=' | '<' | '<=' | '==' | '!=';

/** What a PromQL expression is made of, as far as the dashboards care. */
export interface PromqlAnalysis {
  /** Why the expression does not parse (with line and column), empty when it does. */
  readonly errors: readonly string[];
  /** Every metric name a selector names (`foo` or `{__name__="foo"}`). */
  readonly metrics: readonly string[];
  /** The top-level comparison with a number, e.g. `x > 0.1`: the threshold and the side that alerts. */
  readonly comparison?: { readonly op: Comparison; readonly value: number } | undefined;
}

const FLIP: Readonly<Record<Comparison, Comparison>> = {
  '>': '<',
  '>=': '<=',
  '<': '>',
  '<=': '>=',
  '==': '==',
  '!=': '!=',
};

// Grafana's interval variables stand where PromQL wants a duration; any other variable is a label
// value inside a string. Substituting lets the real PromQL grammar check the rest.
const DURATION_VARS = /\$(?:\{(__(?:rate_)?interval|__range)\}|(__(?:rate_)?interval|__range))(?![A-Za-z0-9_])/g;
const NUMBER_VARS = /\$(?:\{(__(?:interval|range)_(?:ms|s))\}|(__(?:interval|range)_(?:ms|s)))(?![A-Za-z0-9_])/g;
const OTHER_VARS = /\$\{[A-Za-z0-9_]+(?::[^}]*)?\}|\$[A-Za-z0-9_]+|\[\[[A-Za-z0-9_]+(?::[^\]]*)?\]\]/g;

/** Replaces Grafana variables by values of the right kind, so the expression can be parsed. */
export function substituteVariables(expr: string): string {
  return expr.replace(DURATION_VARS, '5m').replace(NUMBER_VARS, '300').replace(OTHER_VARS, 'var');
}

function numberOf(e: Expr): number | undefined {
  let node = e;
  while (node.kind === 'paren') node = node.expr;
  if (node.kind === 'unary' && node.expr.kind === 'number') return node.op === '-' ? -node.expr.value : node.expr.value;
  return node.kind === 'number' && Number.isFinite(node.value) ? node.value : undefined;
}

/** Parses a PromQL expression (Grafana variables allowed) with @obs/promql, as Prometheus would. */
export function analyzePromql(expr: string): PromqlAnalysis {
  const text = substituteVariables(expr);
  let top: Expr;
  try {
    top = parse(text).expr;
  } catch (err) {
    if (!(err instanceof PromqlError)) throw err;
    return { errors: [err.message.replace(/^\[@obs\/promql\] /, '')], metrics: [] };
  }
  const metrics = metricNames(top);
  let comparison: PromqlAnalysis['comparison'];
  while (top.kind === 'paren') top = top.expr;
  if (top.kind === 'binary' && top.op in FLIP) {
    const op = top.op as Comparison;
    const right = numberOf(top.rhs);
    const left = numberOf(top.lhs);
    if (right !== undefined) comparison = { op, value: right };
    else if (left !== undefined) comparison = { op: FLIP[op], value: left };
  }
  return { errors: [], metrics, comparison };
}
