import { createRequire } from 'node:module';

import type {
  AggregateOp,
  AtModifier,
  BinaryOp,
  Expr,
  Matcher,
  Subquery,
  ValueType,
  VectorMatching,
  VectorSelector,
} from './ast.ts';
import { parsePromDuration } from './duration.ts';
import { type ExprPosition, PromqlError } from './errors.ts';
import { FUNCTIONS } from './functions.ts';
import { type AnchoredRegex, anchoredRegex } from './regex.ts';

// The grammar (with @lezer/lr) loads at the first parse, not at import: an app that never parses PromQL (no rules,
// no query API) does not pay for it at start (#22). Its CommonJS build, so that it loads synchronously.
type Grammar = typeof import('@prometheus-io/lezer-promql');
let grammar: Grammar | undefined;
function promqlParser(): Grammar['parser'] {
  grammar ??= createRequire(import.meta.url)('@prometheus-io/lezer-promql') as Grammar;
  return grammar.parser;
}

/** A parsed expression with its result type. */
export interface ParsedExpr {
  readonly text: string;
  readonly expr: Expr;
  readonly type: ValueType;
}

// The part of @lezer/common's SyntaxNode that the conversion reads.
interface SyntaxNode {
  readonly type: { readonly name: string; readonly isError: boolean };
  readonly from: number;
  readonly to: number;
  readonly firstChild: SyntaxNode | null;
  readonly nextSibling: SyntaxNode | null;
}

// Aggregations that take a parameter first (`topk(3, …)`), then the others.
const WITH_PARAM: ReadonlySet<string> = new Set([
  'topk',
  'bottomk',
  'quantile',
  'count_values',
  'limitk',
  'limit_ratio',
]);
const AGGREGATES: ReadonlySet<string> = new Set([
  'sum',
  'avg',
  'min',
  'max',
  'count',
  'group',
  'stddev',
  'stdvar',
  ...WITH_PARAM,
]);
const BINARY: Readonly<Record<string, BinaryOp>> = {
  Add: '+',
  Sub: '-',
  Mul: '*',
  Div: '/',
  Mod: '%',
  Pow: '^',
  Atan2: 'atan2',
  Eql: '==',
  Neq: '!=',
  Gtr: '>',
  Lss: '<',
  Gte: '>=',
  Lte: '<=',
  And: 'and',
  Or: 'or',
  Unless: 'unless',
};
const COMPARISON: ReadonlySet<BinaryOp> = new Set(['==', '!=', '>', '<', '>=', '<=']);
const SET_OPS: ReadonlySet<BinaryOp> = new Set(['and', 'or', 'unless']);
const UNSUPPORTED_NODES: Readonly<Record<string, string>> = {
  AnchoredExpr: 'the anchored modifier',
  SmoothedExpr: 'the smoothed modifier',
  FillModifier: 'fill modifiers',
};

/** The 1-based line and column of `offset` in `text`. */
export function positionAt(text: string, offset: number): ExprPosition {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

function fail(
  text: string,
  offset: number,
  code: 'OBS_ERR_PROMQL_PARSE' | 'OBS_ERR_PROMQL_UNSUPPORTED',
  what: string,
): never {
  const { line, column } = positionAt(text, offset);
  throw new PromqlError(code, `[@obs/promql] ${what} at line ${line}, column ${column} of ${JSON.stringify(text)}`, {
    position: { line, column },
  });
}

function parseNumber(raw: string): number | undefined {
  const text = raw.replace(/[_\s]/g, '');
  const sign = text.startsWith('-') ? -1 : 1;
  const body = text.replace(/^[+-]/, '');
  const lower = body.toLowerCase();
  if (lower === 'inf' || lower === '+inf') return sign * Number.POSITIVE_INFINITY;
  if (lower === 'nan') return Number.NaN;
  if (/^0x[0-9a-f]+$/i.test(body)) return sign * Number.parseInt(body.slice(2), 16);
  if (/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(body)) return sign * Number(body);
  const ms = parsePromDuration(body);
  return ms === undefined ? undefined : (sign * ms) / 1000;
}

/** Go's strconv.Unquote for the three PromQL quotes. */
function unquote(raw: string): string {
  if (raw.startsWith('`')) return raw.slice(1, -1);
  const body = raw.slice(1, -1);
  const out = body.replace(/\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|[0-7]{3}|.)/g, (_, e: string) => {
    switch (e[0]) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case 'a':
        return '\x07';
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'v':
        return '\v';
      case 'u':
      case 'U':
        return String.fromCodePoint(Number.parseInt(e.slice(1), 16));
      case 'x':
        return byteChar(Number.parseInt(e.slice(1), 16));
      default:
        return /^[0-7]{3}$/.test(e) ? byteChar(Number.parseInt(e, 8)) : e;
    }
  });
  return /[\udc80-\udcff]/.test(out) ? decodeBytes(out) : out;
}

// \x and octal escapes are bytes in Go strings. A byte of 0x80 or more is held as U+DC80..U+DCFF (Python's
// "surrogateescape") until the bytes are decoded as UTF-8; a byte that is not valid UTF-8 stays so, which
// marks the string invalid for a label name (as Prometheus finds it) and lets errors print it as \xNN.
function byteChar(b: number): string {
  return b < 0x80 ? String.fromCharCode(b) : String.fromCharCode(0xdc00 + b);
}

function decodeBytes(text: string): string {
  const bytes: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xdc80 && cp <= 0xdcff) bytes.push(cp - 0xdc00);
    else bytes.push(...new TextEncoder().encode(ch));
  }
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    const n = b < 0x80 ? 0 : b >= 0xc2 && b < 0xe0 ? 1 : b >= 0xe0 && b < 0xf0 ? 2 : b >= 0xf0 && b < 0xf5 ? 3 : -1;
    let cp = n === 1 ? b & 0x1f : n === 2 ? b & 0x0f : b & 0x07;
    let ok = n > 0;
    for (let k = 1; ok && k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (c & 0x3f);
    }
    if (n === 0) {
      out += String.fromCharCode(b);
      i++;
    } else if (
      ok &&
      !(n === 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) &&
      !(n === 3 && (cp < 0x10000 || cp > 0x10ffff))
    ) {
      out += String.fromCodePoint(cp);
      i += n + 1;
    } else {
      out += String.fromCharCode(0xdc00 + b);
      i++;
    }
  }
  return out;
}

/** Go's %q of a string: JSON-like, with invalid UTF-8 bytes as \xNN. */
export function goQuote(text: string): string {
  return JSON.stringify(text).replace(/\\udc([89a-f][0-9a-f])/g, '\\x$1');
}

/** Whether a string is a valid label name (Prometheus 3 accepts any valid UTF-8 but the empty string). */
export function validLabelName(name: string): boolean {
  return name !== '' && !/[\udc80-\udcff]/.test(name.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''));
}

/**
 * Parses a PromQL expression with the official grammar into the engine's AST, and checks its types.
 * @throws PromqlError `OBS_ERR_PROMQL_PARSE` for a syntax or type error; `OBS_ERR_PROMQL_UNSUPPORTED` for a
 * function or construct outside the engine. Both name the line and column.
 */
export function parsePromQL(text: string): ParsedExpr {
  const { text: grammarText, renamed } = bridgeGrammarGaps(text);
  const tree = promqlParser().parse(grammarText);
  let errorAt: number | undefined;
  tree.iterate({
    enter(n) {
      if (errorAt === undefined && n.type.isError) errorAt = n.from;
      return errorAt === undefined;
    },
  });
  if (errorAt !== undefined) {
    const near = text.slice(errorAt, errorAt + 10);
    fail(
      text,
      errorAt,
      'OBS_ERR_PROMQL_PARSE',
      `syntax error ${near === '' ? 'at the end' : `near ${JSON.stringify(near)}`}`,
    );
  }
  const top = children(tree.topNode as SyntaxNode)[0];
  if (top === undefined) fail(text, 0, 'OBS_ERR_PROMQL_PARSE', 'empty expression');
  const expr = renamed.size === 0 ? convert(text, top) : withRenames(renamed, () => convert(text, top));
  return { text, expr, type: typeOf(text, expr) };
}

// Functions newer than @prometheus-io/lezer-promql's grammar, each parsed as a grammar-known function of the
// same length (so every offset stays right) and renamed back when the tree is converted.
const NEWER_FUNCTIONS: Readonly<Record<string, string>> = { min_of: 'scalar', max_of: 'scalar' };
let currentRenames: ReadonlyMap<number, string> | undefined;

function withRenames<T>(renamed: ReadonlyMap<number, string>, f: () => T): T {
  currentRenames = renamed;
  try {
    return f();
  } finally {
    currentRenames = undefined;
  }
}

// Rewrites, outside string literals and without moving any offset: a number with a trailing dot (`2.`,
// which Prometheus' lexer takes and the grammar does not) loses the dot; newer function names are swapped.
function bridgeGrammarGaps(text: string): { text: string; renamed: Map<number, string> } {
  const renamed = new Map<number, string>();
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' && c !== '`' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '#') {
      const end = text.indexOf('\n', i);
      const j = end === -1 ? text.length : end;
      out += text.slice(i, j);
      i = j;
      continue;
    }
    const word = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(text.slice(i));
    if (word !== null && (i === 0 || !/[a-zA-Z0-9_:.]/.test(text[i - 1]!))) {
      const name = word[0];
      const stand = NEWER_FUNCTIONS[name];
      if (stand !== undefined && /^\s*\(/.test(text.slice(i + name.length))) {
        renamed.set(i, name);
        out += stand;
      } else out += name;
      i += name.length;
      continue;
    }
    const number = /^\d+\.(?![\d.eE])/.exec(text.slice(i));
    if (number !== null && (i === 0 || !/[a-zA-Z0-9_.]/.test(text[i - 1]!))) {
      out += `${number[0].slice(0, -1)} `;
      i += number[0].length;
      continue;
    }
    out += c;
    i++;
  }
  return { text: out, renamed };
}

function children(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = node.firstChild; c !== null; c = c.nextSibling) if (c.type.name !== 'LineComment') out.push(c);
  return out;
}

function durationOf(text: string, node: SyntaxNode): number {
  const kids = children(node);
  const only = kids[0];
  if (kids.length !== 1 || only === undefined || !only.type.name.startsWith('NumberDurationLiteral'))
    fail(text, node.from, 'OBS_ERR_PROMQL_UNSUPPORTED', 'duration arithmetic');
  const ms = parsePromDuration(text.slice(only.from, only.to));
  if (ms === undefined) fail(text, node.from, 'OBS_ERR_PROMQL_PARSE', `bad duration ${text.slice(only.from, only.to)}`);
  return ms;
}

function labelNameOf(text: string, node: SyntaxNode): string {
  const raw = text.slice(node.from, node.to);
  return node.type.name === 'QuotedLabelName' ? unquote(raw) : raw;
}

function matchersOf(text: string, node: SyntaxNode): { name: string | undefined; matchers: Matcher[] } {
  let name: string | undefined;
  const matchers: Matcher[] = [];
  for (const m of children(node)) {
    if (m.type.name === 'QuotedLabelName') {
      if (name !== undefined) fail(text, m.from, 'OBS_ERR_PROMQL_PARSE', 'metric name given twice');
      name = labelNameOf(text, m);
      continue;
    }
    const [label, opNode, value] = children(m);
    if (label === undefined || opNode === undefined || value === undefined)
      fail(text, m.from, 'OBS_ERR_PROMQL_PARSE', 'incomplete label matcher');
    const op = text.slice(opNode.from, opNode.to) as Matcher['op'];
    const v = unquote(text.slice(value.from, value.to));
    let regex: AnchoredRegex | undefined;
    if (op === '=~' || op === '!~') {
      try {
        regex = anchoredRegex(v);
      } catch {
        fail(text, value.from, 'OBS_ERR_PROMQL_PARSE', `invalid regular expression ${JSON.stringify(v)}`);
      }
    }
    matchers.push({ name: labelNameOf(text, label), op, value: v, regex });
  }
  return { name, matchers };
}

function vectorSelector(text: string, node: SyntaxNode): VectorSelector {
  let name: string | undefined;
  let matchers: Matcher[] = [];
  for (const c of children(node)) {
    if (c.type.name === 'Identifier') name = text.slice(c.from, c.to);
    else if (c.type.name === 'LabelMatchers') {
      const found = matchersOf(text, c);
      if (found.name !== undefined) {
        if (name !== undefined) fail(text, c.from, 'OBS_ERR_PROMQL_PARSE', 'metric name given twice');
        name = found.name;
      }
      matchers = found.matchers;
    }
  }
  if (name !== undefined) {
    if (matchers.some((m) => m.name === '__name__'))
      fail(text, node.from, 'OBS_ERR_PROMQL_PARSE', 'metric name given twice');
    matchers = [{ name: '__name__', op: '=', value: name }, ...matchers];
  }
  return { kind: 'vector', name, matchers, offsetMs: 0, from: node.from, to: node.to };
}

function matchesEmpty(m: Matcher): boolean {
  switch (m.op) {
    case '=':
      return m.value === '';
    case '!=':
      return m.value !== '';
    default:
      return (m.regex!.test('') ? 1 : 0) === (m.op === '=~' ? 1 : 0);
  }
}

function convert(text: string, node: SyntaxNode): Expr {
  const kind = node.type.name;
  const span = { from: node.from, to: node.to };
  const raw = text.slice(node.from, node.to);
  switch (kind) {
    case 'NumberDurationLiteral': {
      const value = parseNumber(raw);
      if (value === undefined) fail(text, node.from, 'OBS_ERR_PROMQL_PARSE', `bad number ${raw}`);
      return { kind: 'number', value, ...span };
    }
    case 'StringLiteral':
      return { kind: 'string', value: unquote(raw), ...span };
    case 'VectorSelector': {
      const sel = vectorSelector(text, node);
      // Prometheus refuses selectors that could match every series.
      if (sel.matchers.every(matchesEmpty))
        fail(text, node.from, 'OBS_ERR_PROMQL_PARSE', 'a vector selector must contain at least one non-empty matcher');
      return sel;
    }
    case 'MatrixSelector':
    case 'OffsetExpr':
    case 'SubqueryExpr':
    case 'StepInvariantExpr':
    case 'UnaryExpr':
    case 'BinaryExpr':
      return operatorExpr(text, node);
    case 'ParenExpr': {
      const [inner] = children(node);
      if (inner === undefined) fail(text, node.from, 'OBS_ERR_PROMQL_PARSE', 'empty parentheses');
      return { kind: 'paren', expr: convert(text, inner), ...span };
    }
    case 'FunctionCall': {
      const [id, body] = children(node);
      const func = id === undefined ? '' : (currentRenames?.get(id.from) ?? text.slice(id.from, id.to));
      if (!Object.hasOwn(FUNCTIONS, func))
        fail(
          text,
          node.from,
          'OBS_ERR_PROMQL_UNSUPPORTED',
          `function ${func}() is not supported by the embedded engine`,
        );
      const args = body === undefined ? [] : children(body).map((c) => convert(text, c));
      return { kind: 'call', func, args, ...span };
    }
    case 'AggregateExpr':
      return aggregate(text, node);
    default: {
      const what = UNSUPPORTED_NODES[kind];
      if (what !== undefined)
        fail(text, node.from, 'OBS_ERR_PROMQL_UNSUPPORTED', `${what} is not supported by the embedded engine`);
      return fail(text, node.from, 'OBS_ERR_PROMQL_UNSUPPORTED', `${kind} is not supported by the embedded engine`);
    }
  }
}

/** An `offset` or `@` modifier, as written after an expression. */
type Modifier = { readonly name: 'offset'; readonly ms: number } | { readonly name: '@'; readonly at: AtModifier };

// `offset` and `@` apply to the selector or subquery just before them (the token re-association below makes
// sure that is all they ever see).
function withModifier(text: string, e: Expr, m: Modifier, from: number, to: number): Expr {
  const apply = <T extends VectorSelector | Subquery>(target: T): T => {
    const already = m.name === 'offset' ? target.offsetMs !== 0 : target.at !== undefined;
    if (already)
      fail(
        text,
        from,
        'OBS_ERR_PROMQL_PARSE',
        m.name === 'offset' ? 'offset may not be set multiple times' : '@ <timestamp> may not be set multiple times',
      );
    return m.name === 'offset' ? { ...target, offsetMs: m.ms } : { ...target, at: m.at };
  };
  switch (e.kind) {
    case 'vector':
    case 'subquery':
      return { ...apply(e), to };
    case 'matrix':
      return { ...e, selector: apply(e.selector), to };
    default:
      return fail(
        text,
        e.from,
        'OBS_ERR_PROMQL_PARSE',
        `${m.name === 'offset' ? 'offset' : '@'} modifier must be preceded by an instant vector selector or range vector selector or a subquery`,
      );
  }
}

// The lezer grammar gives postfix modifiers (`offset`, `@`, `[5m]`, `[5m:1m]`) and unary minus a lower
// precedence than Prometheus' yacc grammar does: `3 - x offset 3m * 2` comes out as `(3 - x offset 3m) * 2`,
// where Prometheus reads `3 - ((x offset 3m) * 2)`. So a chain of operators is flattened back into its tokens
// and parsed again with Prometheus' precedences: postfix modifiers bind tightest, then `^` (right-associative),
// then unary minus (as `*`: `-x ^ 2` is `-(x ^ 2)`), `* / % atan2`, `+ -`, comparisons, `and unless`, `or`.
interface BinaryToken {
  readonly t: 'binary';
  readonly op: BinaryOp;
  readonly opAt: number;
  readonly bool: boolean;
  readonly matching: VectorMatching;
  readonly hasMatching: boolean;
}
type OperatorToken =
  | { readonly t: 'operand'; readonly node: SyntaxNode }
  | { readonly t: 'number'; readonly node: SyntaxNode; readonly from: number }
  | { readonly t: 'unary'; readonly op: '-' | '+'; readonly from: number }
  | { readonly t: 'postfix'; readonly node: SyntaxNode }
  | BinaryToken;

const PRECEDENCE: Readonly<Record<BinaryOp, number>> = {
  or: 1,
  and: 2,
  unless: 2,
  '==': 3,
  '!=': 3,
  '>': 3,
  '<': 3,
  '>=': 3,
  '<=': 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '%': 5,
  atan2: 5,
  '^': 6,
};
const OPERATOR_NODES: ReadonlySet<string> = new Set([
  'BinaryExpr',
  'UnaryExpr',
  'OffsetExpr',
  'StepInvariantExpr',
  'SubqueryExpr',
  'MatrixSelector',
]);

function operatorTokens(text: string, node: SyntaxNode, out: OperatorToken[]): void {
  const kind = node.type.name;
  const kids = children(node);
  if (kind === 'BinaryExpr') {
    operatorTokens(text, kids[0]!, out);
    out.push(binaryToken(text, node, kids.slice(1, -1)));
    operatorTokens(text, kids[kids.length - 1]!, out);
  } else if (kind === 'UnaryExpr') {
    const [op, inner] = kids;
    if (op === undefined || inner === undefined) fail(text, node.from, 'OBS_ERR_PROMQL_PARSE', 'bad unary expression');
    out.push({ t: 'unary', op: text.slice(op.from, op.to) === '-' ? '-' : '+', from: node.from });
    operatorTokens(text, inner, out);
  } else if (OPERATOR_NODES.has(kind)) {
    const inner = kids[0];
    if (inner === undefined) fail(text, node.from, 'OBS_ERR_PROMQL_PARSE', `bad ${kind}`);
    operatorTokens(text, inner, out);
    out.push({ t: 'postfix', node });
  } else if (kind === 'NumberDurationLiteral' && /^[+-]/.test(text.slice(node.from, node.to))) {
    // The grammar lexes `-2` as one literal; Prometheus lexes a unary minus, so `-2 ^ 2` is `-(2 ^ 2)`.
    out.push({ t: 'unary', op: text[node.from] === '-' ? '-' : '+', from: node.from });
    out.push({ t: 'number', node, from: node.from + 1 });
  } else out.push({ t: 'operand', node });
}

function binaryToken(text: string, node: SyntaxNode, middle: readonly SyntaxNode[]): BinaryToken {
  let op: BinaryOp | undefined;
  let opAt = node.from;
  let bool = false;
  let on = false;
  let labels: string[] = [];
  let include: string[] = [];
  let card: VectorMatching['card'] = 'one-to-one';
  let hasMatching = false;
  for (const c of middle) {
    const name = c.type.name;
    if (BINARY[name] !== undefined) {
      op = BINARY[name];
      opAt = c.from;
    } else if (name === 'BoolModifier') bool = true;
    else if (name === 'MatchingModifierClause') {
      hasMatching = true;
      let seenGroup = false;
      for (const g of children(c)) {
        if (g.type.name === 'On') on = true;
        else if (g.type.name === 'GroupLeft' || g.type.name === 'GroupRight') {
          card = g.type.name === 'GroupLeft' ? 'many-to-one' : 'one-to-many';
          seenGroup = true;
        } else if (g.type.name === 'GroupingLabels') {
          const names = children(g).map((l) => labelNameOf(text, l));
          if (seenGroup) include = names;
          else labels = names;
        } else if (UNSUPPORTED_NODES[g.type.name] !== undefined)
          fail(
            text,
            g.from,
            'OBS_ERR_PROMQL_UNSUPPORTED',
            `${UNSUPPORTED_NODES[g.type.name]} is not supported by the embedded engine`,
          );
      }
    } else if (UNSUPPORTED_NODES[name] !== undefined)
      fail(
        text,
        c.from,
        'OBS_ERR_PROMQL_UNSUPPORTED',
        `${UNSUPPORTED_NODES[name]} is not supported by the embedded engine`,
      );
  }
  if (op === undefined) return fail(text, node.from, 'OBS_ERR_PROMQL_PARSE', 'unknown binary operator');
  if (SET_OPS.has(op)) {
    if (card !== 'one-to-one') fail(text, opAt, 'OBS_ERR_PROMQL_PARSE', `no grouping allowed for "${op}" operation`);
    card = 'many-to-many';
  }
  if (bool && !COMPARISON.has(op))
    fail(text, opAt, 'OBS_ERR_PROMQL_PARSE', 'bool modifier can only be used on comparison operators');
  return { t: 'binary', op, opAt, bool, matching: { card, on, labels, include }, hasMatching };
}

function operatorExpr(text: string, node: SyntaxNode): Expr {
  const tokens: OperatorToken[] = [];
  operatorTokens(text, node, tokens);
  let i = 0;
  const operand = (): Expr => {
    const tok = tokens[i++];
    if (tok === undefined || tok.t === 'binary' || tok.t === 'postfix')
      return fail(text, node.from, 'OBS_ERR_PROMQL_PARSE', 'bad expression');
    if (tok.t === 'unary') {
      const inner = chain(PRECEDENCE['^']);
      // Prometheus folds a sign into a number literal (`-2` is the number -2).
      if (inner.kind === 'number')
        return { ...inner, value: tok.op === '-' ? -inner.value : inner.value, from: tok.from };
      return { kind: 'unary', op: tok.op, expr: inner, from: tok.from, to: inner.to };
    }
    let e: Expr;
    if (tok.t === 'number') {
      const raw = text.slice(tok.from, tok.node.to);
      const value = parseNumber(raw);
      if (value === undefined) fail(text, tok.from, 'OBS_ERR_PROMQL_PARSE', `bad number ${raw}`);
      e = { kind: 'number', value, from: tok.from, to: tok.node.to };
    } else e = convert(text, tok.node);
    for (let next = tokens[i]; next?.t === 'postfix'; next = tokens[i]) {
      i++;
      e = postfix(text, e, next.node);
    }
    return e;
  };
  const chain = (minPrecedence: number): Expr => {
    let lhs = operand();
    for (let next = tokens[i]; next?.t === 'binary' && PRECEDENCE[next.op] >= minPrecedence; next = tokens[i]) {
      i++;
      const p = PRECEDENCE[next.op];
      const rhs = chain(next.op === '^' ? p : p + 1);
      const e: Expr & { kind: 'binary' } = {
        kind: 'binary',
        op: next.op,
        lhs,
        rhs,
        bool: next.bool,
        matching: next.matching,
        from: lhs.from,
        to: rhs.to,
      };
      checkBinary(text, e, next.opAt, next.hasMatching);
      // With a scalar operand the (empty) matching clause is dropped, as Prometheus drops it.
      lhs =
        next.hasMatching && (typeOf(text, lhs) === 'scalar' || typeOf(text, rhs) === 'scalar')
          ? { ...e, matching: { card: 'one-to-one', on: false, labels: [], include: [] } }
          : e;
    }
    return lhs;
  };
  const e = chain(0);
  if (i !== tokens.length) fail(text, node.from, 'OBS_ERR_PROMQL_PARSE', 'bad expression');
  return e;
}

// Applies one postfix node (its first child being the operand, already converted as `e`).
function postfix(text: string, e: Expr, node: SyntaxNode): Expr {
  const kids = children(node);
  switch (node.type.name) {
    case 'MatrixSelector': {
      const dur = kids[1];
      if (dur === undefined) fail(text, node.from, 'OBS_ERR_PROMQL_PARSE', 'bad range selector');
      if (e.kind !== 'vector')
        fail(text, node.from, 'OBS_ERR_PROMQL_PARSE', 'ranges only allowed for vector selectors');
      const rangeMs = durationOf(text, dur);
      if (rangeMs <= 0) fail(text, dur.from, 'OBS_ERR_PROMQL_PARSE', 'range must be positive');
      return { kind: 'matrix', selector: e, rangeMs, from: e.from, to: node.to };
    }
    case 'OffsetExpr': {
      const dur = kids[2];
      if (dur === undefined) fail(text, node.from, 'OBS_ERR_PROMQL_PARSE', 'bad offset');
      let sign = 1;
      let d = dur;
      const parts = children(dur);
      if (parts[0]?.type.name === 'UnaryOp') {
        sign = text.slice(parts[0].from, parts[0].to) === '-' ? -1 : 1;
        d = parts[1]!;
      }
      return withModifier(text, e, { name: 'offset', ms: sign * durationOf(text, d) }, e.from, node.to);
    }
    case 'SubqueryExpr': {
      const [, range, step] = kids;
      if (range === undefined) fail(text, node.from, 'OBS_ERR_PROMQL_PARSE', 'bad subquery');
      const t = typeOf(text, e);
      if (t !== 'vector')
        fail(text, e.from, 'OBS_ERR_PROMQL_PARSE', `subquery is only allowed on instant vector, got ${t}`);
      const rangeMs = durationOf(text, range);
      const stepMs = step === undefined ? 0 : durationOf(text, step);
      if (rangeMs <= 0) fail(text, range.from, 'OBS_ERR_PROMQL_PARSE', 'range must be positive');
      return { kind: 'subquery', expr: e, rangeMs, stepMs, offsetMs: 0, from: e.from, to: node.to };
    }
    default: {
      const atNode = kids[1];
      if (atNode === undefined) fail(text, node.from, 'OBS_ERR_PROMQL_PARSE', 'bad @ modifier');
      const what = text.slice(atNode.to, node.to).trim();
      let at: AtModifier;
      if (/^start\s*\(\s*\)$/.test(what)) at = 'start';
      else if (/^end\s*\(\s*\)$/.test(what)) at = 'end';
      else {
        const seconds = parseNumber(what);
        if (seconds === undefined || !Number.isFinite(seconds))
          fail(text, atNode.to, 'OBS_ERR_PROMQL_PARSE', `invalid @ timestamp ${JSON.stringify(what)}`);
        at = Math.round(seconds * 1000);
      }
      return withModifier(text, e, { name: '@', at }, e.from, node.to);
    }
  }
}

function aggregate(text: string, node: SyntaxNode): Expr {
  let op = '';
  let grouping: string[] = [];
  let without = false;
  let args: Expr[] = [];
  for (const c of children(node)) {
    // Aggregation keywords are case-insensitive (`SUM(x)`).
    if (c.type.name === 'AggregateOp') op = text.slice(c.from, c.to).toLowerCase();
    else if (c.type.name === 'AggregateModifier') {
      for (const g of children(c)) {
        if (g.type.name === 'Without') without = true;
        if (g.type.name === 'GroupingLabels') grouping = children(g).map((l) => labelNameOf(text, l));
      }
    } else if (c.type.name === 'FunctionCallBody') args = children(c).map((a) => convert(text, a));
  }
  if (!AGGREGATES.has(op))
    fail(text, node.from, 'OBS_ERR_PROMQL_UNSUPPORTED', `aggregation ${op} is not supported by the embedded engine`);
  const needsParam = WITH_PARAM.has(op);
  if (args.length !== (needsParam ? 2 : 1))
    fail(text, node.from, 'OBS_ERR_PROMQL_PARSE', `wrong number of arguments for aggregate expression ${op}`);
  const expr = args[needsParam ? 1 : 0]!;
  return {
    kind: 'aggregate',
    op: op as AggregateOp,
    param: needsParam ? args[0] : undefined,
    expr,
    grouping,
    without,
    from: node.from,
    to: node.to,
  };
}

function checkBinary(text: string, e: Expr & { kind: 'binary' }, opAt: number, hasMatching: boolean): void {
  const l = typeOf(text, e.lhs);
  const r = typeOf(text, e.rhs);
  for (const [t, side] of [
    [l, e.lhs],
    [r, e.rhs],
  ] as const)
    if (t !== 'scalar' && t !== 'vector')
      fail(
        text,
        side.from,
        'OBS_ERR_PROMQL_PARSE',
        `binary expression must contain only scalar and instant vector types, got ${t}`,
      );
  if (COMPARISON.has(e.op) && !e.bool && l === 'scalar' && r === 'scalar')
    fail(text, opAt, 'OBS_ERR_PROMQL_PARSE', 'comparisons between scalars must use BOOL modifier');
  if (SET_OPS.has(e.op) && (l !== 'vector' || r !== 'vector'))
    fail(text, opAt, 'OBS_ERR_PROMQL_PARSE', `set operator "${e.op}" not allowed in binary scalar expression`);
  // An empty `on()` or `ignoring()` with a scalar operand is accepted and ignored, as Prometheus does.
  if (hasMatching && e.matching.labels.length > 0 && (l !== 'vector' || r !== 'vector'))
    fail(text, opAt, 'OBS_ERR_PROMQL_PARSE', 'vector matching only allowed between instant vectors');
  const { on, labels, include } = e.matching;
  if (on)
    for (const name of include)
      if (labels.includes(name))
        fail(text, opAt, 'OBS_ERR_PROMQL_PARSE', `label "${name}" must not occur in ON and GROUP clause at once`);
}

function typeOf(text: string, e: Expr): ValueType {
  switch (e.kind) {
    case 'number':
      return 'scalar';
    case 'string':
      return 'string';
    case 'vector':
      return 'vector';
    case 'matrix':
    case 'subquery':
      return 'matrix';
    case 'paren':
      return typeOf(text, e.expr);
    case 'unary': {
      const t = typeOf(text, e.expr);
      if (t !== 'scalar' && t !== 'vector')
        fail(
          text,
          e.from,
          'OBS_ERR_PROMQL_PARSE',
          `unary expression only allowed on expressions of type scalar or instant vector, got ${t}`,
        );
      return t;
    }
    case 'binary':
      return typeOf(text, e.lhs) === 'scalar' && typeOf(text, e.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'aggregate': {
      if (typeOf(text, e.expr) !== 'vector')
        fail(text, e.expr.from, 'OBS_ERR_PROMQL_PARSE', `expected type instant vector in aggregation expression`);
      const paramType = e.op === 'count_values' ? 'string' : 'scalar';
      if (e.param !== undefined && typeOf(text, e.param) !== paramType)
        fail(
          text,
          e.param.from,
          'OBS_ERR_PROMQL_PARSE',
          `expected type ${paramType === 'string' ? 'string' : 'scalar'} in aggregation parameter, got ${typeOf(text, e.param)}`,
        );
      return 'vector';
    }
    case 'call': {
      const sig = FUNCTIONS[e.func]!;
      const n = e.args.length;
      if ((n > sig.args.length && sig.variadic !== true) || n < sig.args.length - sig.optional)
        fail(
          text,
          e.from,
          'OBS_ERR_PROMQL_PARSE',
          `expected ${sig.args.length} argument(s) in call to "${e.func}", got ${n}`,
        );
      e.args.forEach((a, i) => {
        const t = typeOf(text, a);
        const want = sig.args[Math.min(i, sig.args.length - 1)];
        if (t !== want)
          fail(text, a.from, 'OBS_ERR_PROMQL_PARSE', `expected type ${want} in call to function "${e.func}", got ${t}`);
      });
      return sig.returns;
    }
  }
}
