// Reading an AST: what its selectors name, for tools that check rules and dashboards against a metric set.
import type { Expr } from './ast.ts';

/** The metric names an expression's selectors name (`foo`, or `{__name__="foo"}`), each once, in order met. */
export function metricNames(expr: Expr): string[] {
  const into = new Set<string>();
  collect(expr, into);
  return [...into];
}

function collect(e: Expr, into: Set<string>): void {
  switch (e.kind) {
    case 'vector':
      if (e.name !== undefined) into.add(e.name);
      for (const m of e.matchers) if (m.name === '__name__' && m.op === '=') into.add(m.value);
      return;
    case 'matrix':
      collect(e.selector, into);
      return;
    case 'subquery':
    case 'paren':
    case 'unary':
      collect(e.expr, into);
      return;
    case 'call':
      for (const a of e.args) collect(a, into);
      return;
    case 'aggregate':
      if (e.param !== undefined) collect(e.param, into);
      collect(e.expr, into);
      return;
    case 'binary':
      collect(e.lhs, into);
      collect(e.rhs, into);
      return;
    default:
      return;
  }
}
