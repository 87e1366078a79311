// The typed AST that the evaluator walks. Positions are offsets into the expression text.

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
  readonly regex?: RegExp | undefined;
}

export interface NumberLiteral extends Span {
  readonly kind: 'number';
  readonly value: number;
}
export interface StringLiteral extends Span {
  readonly kind: 'string';
  readonly value: string;
}
export interface VectorSelector extends Span {
  readonly kind: 'vector';
  readonly name: string | undefined;
  readonly matchers: readonly Matcher[];
  readonly offsetMs: number;
}
export interface MatrixSelector extends Span {
  readonly kind: 'matrix';
  readonly selector: VectorSelector;
  readonly rangeMs: number;
}
export interface Call extends Span {
  readonly kind: 'call';
  readonly func: string;
  readonly args: readonly Expr[];
}
export type AggregateOp = 'sum' | 'avg' | 'min' | 'max' | 'count' | 'topk' | 'bottomk' | 'quantile';
export interface Aggregate extends Span {
  readonly kind: 'aggregate';
  readonly op: AggregateOp;
  readonly param: Expr | undefined;
  readonly expr: Expr;
  readonly grouping: readonly string[];
  readonly without: boolean;
}
export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^';
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
  | Call
  | Aggregate
  | Binary
  | Unary
  | Paren;
