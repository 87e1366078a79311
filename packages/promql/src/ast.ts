// The typed AST that the evaluator walks. Positions are offsets into the expression text.
import type { AnchoredRegex } from './regex.ts';

/** Where a node starts and ends in its expression (0-based offsets). */
export interface Span {
  readonly from: number;
  readonly to: number;
}

/** The four PromQL value types. */
export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

/** A label matcher, with its regex compiled fully anchored as Prometheus does. */
export interface Matcher {
  readonly name: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
  readonly regex?: AnchoredRegex | undefined;
}

export interface NumberLiteral extends Span {
  readonly kind: 'number';
  readonly value: number;
}
export interface StringLiteral extends Span {
  readonly kind: 'string';
  readonly value: string;
}
/** The `@` modifier: a fixed time (ms), or the query's `start()` or `end()`. */
export type AtModifier = number | 'start' | 'end';

export interface VectorSelector extends Span {
  readonly kind: 'vector';
  readonly name: string | undefined;
  readonly matchers: readonly Matcher[];
  readonly offsetMs: number;
  readonly at?: AtModifier | undefined;
}
export interface MatrixSelector extends Span {
  readonly kind: 'matrix';
  readonly selector: VectorSelector;
  readonly rangeMs: number;
}
export interface Subquery extends Span {
  readonly kind: 'subquery';
  readonly expr: Expr;
  readonly rangeMs: number;
  /** 0 when the subquery gives no step (`[5m:]`): the engine's default subquery step applies. */
  readonly stepMs: number;
  readonly offsetMs: number;
  readonly at?: AtModifier | undefined;
}
export interface Call extends Span {
  readonly kind: 'call';
  readonly func: string;
  readonly args: readonly Expr[];
}
export type AggregateOp =
  | 'sum'
  | 'avg'
  | 'min'
  | 'max'
  | 'count'
  | 'group'
  | 'stddev'
  | 'stdvar'
  | 'topk'
  | 'bottomk'
  | 'quantile'
  | 'count_values'
  | 'limitk'
  | 'limit_ratio';
export interface Aggregate extends Span {
  readonly kind: 'aggregate';
  readonly op: AggregateOp;
  readonly param: Expr | undefined;
  readonly expr: Expr;
  readonly grouping: readonly string[];
  readonly without: boolean;
}
export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2';
export type ComparisonOp = '==' | '!=' | '>' | '<' | '>=' | '<=';
export type SetOp = 'and' | 'or' | 'unless';
export type BinaryOp = ArithmeticOp | ComparisonOp | SetOp;
export interface VectorMatching {
  readonly card: 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';
  readonly on: boolean;
  readonly labels: readonly string[];
  readonly include: readonly string[];
}
export interface Binary extends Span {
  readonly kind: 'binary';
  readonly op: BinaryOp;
  readonly lhs: Expr;
  readonly rhs: Expr;
  readonly bool: boolean;
  readonly matching: VectorMatching;
}
export interface Unary extends Span {
  readonly kind: 'unary';
  readonly op: '-' | '+';
  readonly expr: Expr;
}
export interface Paren extends Span {
  readonly kind: 'paren';
  readonly expr: Expr;
}

/** A PromQL expression. */
export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | Subquery
  | Call
  | Aggregate
  | Binary
  | Unary
  | Paren;
