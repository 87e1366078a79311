import type { SyntaxNode } from '@lezer/common';
import { parser } from '@prometheus-io/lezer-promql';

/** What a PromQL expression is made of, as far as the dashboards care. */
export interface PromqlAnalysis {
  /** Syntax errors, empty when the expression parses. */
  readonly errors: readonly string[];
  /** Every metric name a selector names (`foo` or `{__name__="foo"}`). */
  readonly metrics: readonly string[];
  /** The top-level comparison with a number, e.g. `x > 0.1`: the threshold and the side that alerts. */
  readonly comparison?: { readonly op: '>' | '>=' | '<' | '<=' | '==' | '!='; readonly value: number } | undefined;
}

const COMPARISONS: Readonly<Record<string, '>' | '>=' | '<' | '<=' | '==' | '!='>> = {
  Gtr: '>',
  Gte: '>=',
  Lss: '<',
  Lte: '<=',
  EqlSingle: '==',
  Eql: '==',
  Neq: '!=',
};

const FLIP: Readonly<Record<string, '>' | '>=' | '<' | '<=' | '==' | '!='>> = {
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

function unquote(literal: string): string {
  if (literal.startsWith('`')) return literal.slice(1, -1);
  try {
    return JSON.parse(literal.startsWith("'") ? `"${literal.slice(1, -1).replace(/"/g, '\\"')}"` : literal) as string;
  } catch {
    return literal.slice(1, -1);
  }
}

function numberOf(node: SyntaxNode | null, text: string): number | undefined {
  if (node === null || node.name !== 'NumberDurationLiteral') return undefined;
  const value = Number(text.slice(node.from, node.to));
  return Number.isFinite(value) ? value : undefined;
}

/** Parses a PromQL expression (Grafana variables allowed) with the Prometheus project's own grammar. */
export function analyzePromql(expr: string): PromqlAnalysis {
  const text = substituteVariables(expr);
  const tree = parser.parse(text);
  const errors: string[] = [];
  const metrics = new Set<string>();
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) {
        errors.push(
          `syntax error at ${ref.from}: ${JSON.stringify(text.slice(Math.max(0, ref.from - 10), ref.to + 10))}`,
        );
        return false;
      }
      if (ref.name === 'VectorSelector') {
        const node = ref.node;
        const id = node.getChild('Identifier');
        if (id !== null) metrics.add(text.slice(id.from, id.to));
        for (const matcher of node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
          const label = matcher.getChild('LabelName');
          const value = matcher.getChild('StringLiteral');
          const op = matcher.getChild('MatchOp');
          if (label === null || value === null || op === null) continue;
          if (text.slice(label.from, label.to) === '__name__' && text.slice(op.from, op.to) === '=')
            metrics.add(unquote(text.slice(value.from, value.to)));
        }
      }
      return undefined;
    },
  });
  if (text.trim() === '') errors.push('empty expression');
  let comparison: PromqlAnalysis['comparison'];
  const top = tree.topNode.firstChild;
  if (errors.length === 0 && top?.name === 'BinaryExpr') {
    const children: SyntaxNode[] = [];
    for (let c = top.firstChild; c !== null; c = c.nextSibling) children.push(c);
    const opNode = children.find((c) => COMPARISONS[c.name] !== undefined);
    if (opNode !== undefined) {
      const op = COMPARISONS[opNode.name]!;
      const right = numberOf(children[children.length - 1] ?? null, text);
      const left = numberOf(children[0] ?? null, text);
      if (right !== undefined) comparison = { op, value: right };
      else if (left !== undefined) comparison = { op: FLIP[op]!, value: left };
    }
  }
  return { errors, metrics: [...metrics], comparison };
}
