// PromQL text from the AST: Prometheus's canonical one-line form (parser/printer.go, `expr.String()`) and its
// prettifier (parser/prettier.go, `/api/v1/format_query`).
import type { AtModifier, Expr, Matcher, VectorMatching, VectorSelector } from './ast.ts';
import { formatPromDuration } from './duration.ts';

/** Options of {@link formatExpr}. */
export interface FormatOptions {
  /**
   * Prometheus's multi-line form (`/api/v1/format_query`): a node whose one-line form is longer than
   * 100 characters is split, two spaces of indent per level, binary operators on their own line.
   * @default false
   */
  readonly pretty?: boolean | undefined;
}

/** PromQL text of an expression, as Prometheus prints it (`expr.String()`, or `Prettify` with `pretty`). */
export function formatExpr(expr: Expr, options: FormatOptions = {}): string {
  return options.pretty === true ? prettyExpr(expr, MAX_LINE) : oneLine(expr);
}

const MAX_LINE = 100;

/** Prometheus's prettifier with a given line limit (its tests use 10). */
export function prettyExpr(expr: Expr, maxLine: number): string {
  // needsSplit asks for a node's one-line form at every level; each node's is computed once.
  const cache = new Map<Expr, string>();
  const text = (e: Expr): string => {
    let s = cache.get(e);
    if (s === undefined) {
      s = oneLine(e);
      cache.set(e, s);
    }
    return s;
  };
  // Prometheus compares the UTF-8 length of the node's text, not counting the indent.
  const fits = (e: Expr): boolean => utf8Length(text(e)) <= maxLine;
  const pretty = (e: Expr, level: number): string => {
    const pad = '  '.repeat(level);
    switch (e.kind) {
      case 'aggregate': {
        if (fits(e)) return pad + text(e);
        const param = e.param === undefined ? '' : `${pretty(e.param, level + 1)},\n`;
        return `${pad}${aggregateHead(e)}(\n${param}${pretty(e.expr, level + 1)}\n${pad})`;
      }
      case 'binary':
        if (fits(e)) return pad + text(e);
        return `${pretty(e.lhs, level + 1)}\n${pad}${binaryOp(e)}\n${pretty(e.rhs, level + 1)}`;
      case 'call':
        if (fits(e)) return pad + text(e);
        return `${pad}${e.func}(\n${e.args.map((a) => pretty(a, level + 1)).join(',\n')}\n${pad})`;
      case 'paren':
        if (fits(e)) return pad + text(e);
        return `${pad}(\n${pretty(e.expr, level + 1)}\n${pad})`;
      case 'subquery':
        // Prometheus indents neither a subquery that fits nor its suffix (prettier.go); kept, so that our
        // output is format_query's byte for byte.
        if (fits(e)) return text(e);
        return pretty(e.expr, level) + subquerySuffix(e);
      case 'unary': {
        const folded = signedNumber(e);
        if (folded !== undefined) return pad + goFloat(folded);
        return `${pad}${e.op}${pretty(e.expr, level).trim()}`;
      }
      default:
        return pad + text(e);
    }
  };
  return pretty(expr, 0);
}

function oneLine(e: Expr): string {
  switch (e.kind) {
    case 'number':
      return goFloat(e.value);
    case 'string':
      return goQuote(e.value);
    case 'vector':
      return vectorSelector(e) + atText(e.at) + offsetText(e.offsetMs);
    case 'matrix':
      return `${vectorSelector(e.selector)}[${formatPromDuration(e.rangeMs)}]${atText(e.selector.at)}${offsetText(e.selector.offsetMs)}`;
    case 'subquery':
      return oneLine(e.expr) + subquerySuffix(e);
    case 'call':
      return `${e.func}(${e.args.map(oneLine).join(', ')})`;
    case 'aggregate':
      return `${aggregateHead(e)}(${e.param === undefined ? '' : `${oneLine(e.param)}, `}${oneLine(e.expr)})`;
    case 'binary':
      return `${oneLine(e.lhs)} ${binaryOp(e)} ${oneLine(e.rhs)}`;
    case 'unary': {
      const folded = signedNumber(e);
      return folded === undefined ? e.op + oneLine(e.expr) : goFloat(folded);
    }
    case 'paren':
      return `(${oneLine(e.expr)})`;
  }
}

// Prometheus's parser folds a sign into the number literal it precedes (`-Inf`, `- - 1`), so it prints one
// number where our parser kept unary nodes.
function signedNumber(e: Expr): number | undefined {
  if (e.kind === 'number') return e.value;
  if (e.kind !== 'unary') return undefined;
  const v = signedNumber(e.expr);
  return v === undefined || e.op === '+' ? v : -v;
}

function aggregateHead(e: Expr & { kind: 'aggregate' }): string {
  if (e.without) return `${e.op} without (${labelList(e.grouping)}) `;
  return e.grouping.length > 0 ? `${e.op} by (${labelList(e.grouping)}) ` : e.op;
}

function binaryOp(e: Expr & { kind: 'binary' }): string {
  return e.op + (e.bool ? ' bool' : '') + matchingText(e.matching);
}

function matchingText(m: VectorMatching): string {
  // Set operators are many-to-many without being written so; an empty ignoring() is the default and
  // is written only when a group modifier needs it.
  const grouped = m.card === 'many-to-one' || m.card === 'one-to-many';
  let out = '';
  if (m.on || m.labels.length > 0 || grouped) out = ` ${m.on ? 'on' : 'ignoring'} (${labelList(m.labels)})`;
  if (grouped) out += ` group_${m.card === 'many-to-one' ? 'left' : 'right'} (${labelList(m.include)})`;
  return out;
}

function subquerySuffix(e: Expr & { kind: 'subquery' }): string {
  const step = e.stepMs === 0 ? '' : formatPromDuration(e.stepMs);
  return `[${formatPromDuration(e.rangeMs)}:${step}]${atText(e.at)}${offsetText(e.offsetMs)}`;
}

function atText(at: AtModifier | undefined): string {
  if (at === undefined) return '';
  if (at === 'start' || at === 'end') return ` @ ${at}()`;
  // %.3f of the seconds; the time is whole milliseconds, so this is exact.
  const abs = Math.abs(at);
  return ` @ ${at < 0 ? '-' : ''}${Math.trunc(abs / 1000)}.${String(abs % 1000).padStart(3, '0')}`;
}

function offsetText(ms: number): string {
  if (ms === 0) return '';
  return ms > 0 ? ` offset ${formatPromDuration(ms)}` : ` offset -${formatPromDuration(-ms)}`;
}

const LEGACY_METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LEGACY_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function vectorSelector(v: VectorSelector): string {
  // A name outside the legacy charset stays inside the braces (`{"a.b"}`), which parses back to the same
  // selector; Prometheus would print {__name__="a.b"}, which our parser reads as a nameless selector.
  const bare = v.name !== undefined && LEGACY_METRIC_NAME.test(v.name);
  const items: string[] = [];
  for (const m of v.matchers) {
    if (v.name !== undefined && m.name === '__name__' && m.op === '=' && m.value === v.name) continue;
    items.push(matcherText(m));
  }
  // Prometheus sorts the printed matchers (as strings, byte order); the quoted name stays first.
  items.sort(compareCodePoints);
  if (v.name !== undefined && !bare) items.unshift(goQuote(v.name));
  const braces = items.length > 0 ? `{${items.join(',')}}` : '';
  return (bare ? v.name! : '') + braces;
}

function matcherText(m: Matcher): string {
  const name = LEGACY_LABEL_NAME.test(m.name) ? m.name : goQuote(m.name);
  return name + m.op + goQuote(m.value);
}

function labelList(names: readonly string[]): string {
  return names.map((n) => (LEGACY_LABEL_NAME.test(n) ? n : goQuote(n))).join(', ');
}

// UTF-8 byte order is code point order; JavaScript's default sort compares UTF-16 units instead.
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done === true || y.done === true) return x.done === true ? (y.done === true ? 0 : -1) : 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return n;
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest digits that read back as v, never an exponent. */
export function goFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  const s = String(v);
  const e = s.indexOf('e');
  if (e === -1) return s;
  // JavaScript has the same shortest digits, but writes an exponent outside 1e-7..1e21.
  const sign = s.startsWith('-') ? '-' : '';
  const mantissa = s.slice(sign.length, e);
  const exp = Number(s.slice(e + 1));
  const digits = mantissa.replace('.', '');
  const point = (mantissa.indexOf('.') === -1 ? mantissa.length : mantissa.indexOf('.')) + exp;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Go's strconv.Quote: printable characters as they are, the rest escaped; invalid UTF-8 bytes as \xNN. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const esc = ESCAPES[ch];
    if (esc !== undefined) out += esc;
    else if (cp >= 0xdc80 && cp <= 0xdcff)
      out += `\\x${(cp - 0xdc00).toString(16)}`; // a raw byte (parse.ts)
    else if (cp === 0x20 || PRINTABLE.test(ch)) out += ch;
    else if (cp < 0x80) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

const ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
};
// Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols (and the ASCII space).
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
