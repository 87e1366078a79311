// Prometheus' alert templates: Go's text/template (actions, pipes, variables, if/else/range/with, the Go builtins)
// with Prometheus' function set, parsed once at load (an unknown function is an error with its position).
import type { ObsError } from '@obs/core';
import { parsePromDuration } from '@obs/promql';
import { alertsError } from './errors.ts';

/** One sample as `query` returns it, and as `first`, `label`, `value`, `sortByLabel` take it. */
export interface TemplateSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** What a template sees: `$labels`, `$value`, `$externalLabels`, `$externalURL`, and `query`. */
export interface TemplateData {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** @default {} */
  readonly externalLabels?: Readonly<Record<string, string>>;
  /** @default "" */
  readonly externalURL?: string;
  /** The `query` function: an instant query at the evaluation time. @default none (an error if used) */
  readonly query?: (expr: string) => readonly TemplateSample[];
}

// Go's %g with a precision: exponent form when exp < -4 or exp >= precision, trailing zeros dropped.
function goG(v: number, precision: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const exp = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(precision)))));
  if (exp < -4 || exp >= precision) {
    const [mant, e] = v.toExponential(precision - 1).split('e') as [string, string];
    const m = mant.includes('.') ? mant.replace(/\.?0+$/, '') : mant;
    const n = Number(e);
    return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  const fixed = v.toFixed(Math.max(0, precision - 1 - exp));
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

/** Go's default formatting of a float64 (`%v`): shortest digits, exponent form below 1e-4 or from 1e6 (eprec 6). */
export function goFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(v)));
  if (exp < -4 || exp >= 6) {
    const [m, e] = v.toExponential().split('e') as [string, string];
    const n = Number(e);
    return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  return String(v);
}

/** Prometheus' `humanize`: SI prefixes, 4 significant digits. */
export function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return goG(v, 4);
  if (Math.abs(v) >= 1) {
    let prefix = '';
    for (const p of ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y']) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return `${goG(v, 4)}${prefix}`;
  }
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${goG(v, 4)}${prefix}`;
}

function humanize1024(v: number): string {
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return goG(v, 4);
  let prefix = '';
  for (const p of ['ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi']) {
    if (Math.abs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return `${goG(v, 4)}${prefix}`;
}

function humanizeDuration(v: number): string {
  if (!Number.isFinite(v)) return goG(v, 4);
  if (v === 0) return `${goG(v, 4)}s`;
  if (Math.abs(v) >= 1) {
    const sign = v < 0 ? '-' : '';
    const abs = Math.abs(v);
    const d = Math.trunc(abs);
    const [s, mi, h, days] = [d % 60, Math.trunc(d / 60) % 60, Math.trunc(d / 3600) % 24, Math.trunc(d / 86_400)];
    if (days !== 0) return `${sign}${days}d ${h}h ${mi}m ${s}s`;
    if (h !== 0) return `${sign}${h}h ${mi}m ${s}s`;
    if (mi !== 0) return `${sign}${mi}m ${s}s`;
    return `${sign}${goG(abs, 4)}s`;
  }
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${goG(v, 4)}${prefix}s`;
}

/** A time as Go prints a `time.Time` in UTC: `2006-01-02 15:04:05.999 +0000 UTC` (ms, as Prometheus keeps it). */
class GoTime {
  readonly ms: number;
  constructor(ms: number) {
    this.ms = ms;
  }
  toString(): string {
    const iso = new Date(this.ms).toISOString(); // 1970-01-01T00:00:01.500Z
    const frac = iso.slice(20, 23).replace(/0+$/, '');
    return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac === '' ? '' : `.${frac}`} +0000 UTC`;
  }
}

function toTime(v: number): GoTime {
  if (!Number.isFinite(v)) throw new Error('value is NaN or Inf');
  return new GoTime(Math.trunc(v * 1000));
}

// Go's url.QueryEscape: everything but A-Z a-z 0-9 - _ . ~ is escaped, a space is "+".
function queryEscape(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

// Go rounds a decimal tie to even (2.25 → "2.2" with %.1f); JavaScript's toFixed rounds it up.
function toFixedGo(v: number, digits: number): string {
  const out = v.toFixed(digits);
  const scaled = Math.abs(v) * 10 ** digits;
  if (Number.isFinite(scaled) && scaled - Math.floor(scaled) === 0.5 && Math.floor(scaled) % 2 === 0)
    return (Math.sign(v) * (Math.floor(scaled) / 10 ** digits)).toFixed(digits);
  return out;
}

function printf(format: string, args: readonly unknown[]): string {
  let i = 0;
  return format.replace(
    /%([-+ 0#]*)(\d*)(?:\.(\d+))?([sdfgevqxX%])/g,
    (_all, flags: string, width: string, prec?: string, verb?: string) => {
      if (verb === '%') return '%';
      const arg = args[i++];
      let out: string;
      switch (verb) {
        case 'd':
          out = String(Math.trunc(Number(arg)));
          break;
        case 'f':
          out = toFixedGo(Number(arg), prec === undefined ? 6 : Number(prec));
          break;
        case 'e':
          out = Number(arg)
            .toExponential(prec === undefined ? 6 : Number(prec))
            .replace(/e([+-])(\d)$/, 'e$10$2');
          break;
        case 'g':
          out = prec === undefined ? goFloat(Number(arg)) : goG(Number(arg), Number(prec));
          break;
        case 'x':
        case 'X':
          out = typeof arg === 'number' ? Math.trunc(arg).toString(16) : Buffer.from(String(arg)).toString('hex');
          if (verb === 'X') out = out.toUpperCase();
          break;
        case 'q':
          out = JSON.stringify(String(arg));
          break;
        default:
          out = show(arg);
      }
      if (flags.includes('+') && typeof arg === 'number' && arg >= 0 && 'dfeg'.includes(verb ?? '')) out = `+${out}`;
      if (width === '') return out;
      return flags.includes('-')
        ? out.padEnd(Number(width))
        : out.padStart(Number(width), flags.includes('0') ? '0' : ' ');
    },
  );
}

/** How Go's text/template prints a value. */
function show(v: unknown): string {
  if (v === undefined || v === null) return '<no value>';
  if (typeof v === 'number') return goFloat(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (v instanceof GoTime) return v.toString();
  if (Array.isArray(v)) return `[${v.map(show).join(' ')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (isSample(o)) return `{${show(o.labels)} ${show(o.value)}}`;
    return `map[${Object.keys(o)
      .sort()
      .map((k) => `${k}:${show(o[k])}`)
      .join(' ')}]`;
  }
  return String(v);
}

function isSample(o: unknown): o is TemplateSample {
  return typeof o === 'object' && o !== null && 'labels' in o && 'value' in o && Object.keys(o).length === 2;
}

function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const n = Number(v.trim());
    if (v.trim() === '' || Number.isNaN(n)) {
      const lower = v.trim().toLowerCase();
      if (lower === 'nan') return Number.NaN;
      if (lower === 'inf' || lower === '+inf') return Number.POSITIVE_INFINITY;
      if (lower === '-inf') return Number.NEGATIVE_INFINITY;
      throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
    }
    return n;
  }
  if (v instanceof GoTime) return v.ms / 1000;
  throw new Error(`can't convert ${show(v)} to float`);
}

function sample(v: unknown, fn: string): TemplateSample {
  if (!isSample(v)) throw new Error(`${fn}: wrong type for value; expected *template.sample; got ${show(v)}`);
  return v;
}

function truth(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object' && !(v instanceof GoTime) && !isSample(v)) return Object.keys(v).length > 0;
  return true;
}

// Go's regexp replacement syntax ($1, ${1}, ${name}) in JavaScript's ($1, $<name>).
function goReplacement(repl: string): string {
  return repl.replace(/\$\$|\$\{(\w+)\}|\$(\w+)/g, (all, braced?: string, bare?: string) => {
    if (all === '$$') return '$$';
    const name = braced ?? bare ?? '';
    return /^\d+$/.test(name) ? `$${name}` : `$<${name}>`;
  });
}

function splitHostPort(hostPort: string): [string, string] | undefined {
  const m = /^\[([^\]]*)\]:(\d*)$/.exec(hostPort) ?? /^([^:[\]]*):(\d*)$/.exec(hostPort);
  return m === null ? undefined : [m[1]!, m[2]!];
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}

interface Scope {
  readonly data: TemplateData;
}

type Fn = (scope: Scope, ...args: unknown[]) => unknown;

const cmp = (a: unknown, b: unknown): number => {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  throw new Error('incompatible types for comparison');
};

const FUNCS: Readonly<Record<string, Fn>> = {
  // Go's builtins (and, or, not, len, index, print*, comparisons, escapers).
  and: (_s, ...a) => a.find((x) => !truth(x)) ?? a[a.length - 1],
  or: (_s, ...a) => a.find((x) => truth(x)) ?? a[a.length - 1],
  not: (_s, a) => !truth(a),
  len: (_s, a) => (Array.isArray(a) || typeof a === 'string' ? a.length : Object.keys(a as object).length),
  index: (_s, a, ...keys) => keys.reduce((o: unknown, k) => (o as Record<string, unknown>)?.[String(k)] ?? '', a),
  print: (_s, ...a) => a.map(show).join(''),
  println: (_s, ...a) => `${a.map(show).join(' ')}\n`,
  printf: (_s, f, ...rest) => printf(String(f), rest),
  eq: (_s, a, ...bs) => bs.some((b) => a === b),
  ne: (_s, a, b) => a !== b,
  lt: (_s, a, b) => cmp(a, b) < 0,
  le: (_s, a, b) => cmp(a, b) <= 0,
  gt: (_s, a, b) => cmp(a, b) > 0,
  ge: (_s, a, b) => cmp(a, b) >= 0,
  html: (_s, ...a) =>
    a
      .map(show)
      .join('')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&#34;')
      .replace(/'/g, '&#39;'),
  urlquery: (_s, ...a) => queryEscape(a.map(show).join('')),
  js: (_s, ...a) => JSON.stringify(a.map(show).join('')).slice(1, -1),
  // Prometheus' set (template/template.go).
  query: (s, q) => {
    if (s.data.query === undefined) throw new Error('query is not available here');
    return [...s.data.query(String(q))];
  },
  first: (_s, v) => {
    const list = v as readonly TemplateSample[];
    if (!Array.isArray(list) || list.length === 0) throw new Error('first() called on vector with no elements');
    return list[0];
  },
  label: (_s, name, v) => sample(v, 'label').labels[String(name)] ?? '',
  value: (_s, v) => sample(v, 'value').value,
  strvalue: (_s, v) => sample(v, 'strvalue').labels['__value__'] ?? '',
  args: (_s, ...a) => Object.fromEntries(a.map((x, i) => [`arg${i}`, x])),
  reReplaceAll: (_s, pattern, repl, text) =>
    String(text).replace(new RegExp(String(pattern), 'gu'), goReplacement(String(repl))),
  safeHtml: (_s, text) => String(text),
  match: (_s, pattern, text) => new RegExp(String(pattern), 'u').test(String(text)),
  title: (_s, text) =>
    String(text).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_a, sep: string, c: string) => sep + c.toUpperCase()),
  toUpper: (_s, text) => String(text).toUpperCase(),
  toLower: (_s, text) => String(text).toLowerCase(),
  graphLink: (_s, expr) => `/graph?g0.expr=${queryEscape(String(expr))}&g0.tab=0`,
  tableLink: (_s, expr) => `/graph?g0.expr=${queryEscape(String(expr))}&g0.tab=1`,
  sortByLabel: (_s, name, v) =>
    [...(v as TemplateSample[])].sort((a, b) => {
      const [x, y] = [a.labels[String(name)] ?? '', b.labels[String(name)] ?? ''];
      return x < y ? -1 : x > y ? 1 : 0;
    }),
  humanize: (_s, v) => humanize(num(v)),
  humanize1024: (_s, v) => humanize1024(num(v)),
  humanizeDuration: (_s, v) => humanizeDuration(num(v)),
  humanizePercentage: (_s, v) => `${goG(num(v) * 100, 4)}%`,
  humanizeTimestamp: (_s, v) => {
    const n = num(v);
    return Number.isFinite(n) ? toTime(n).toString() : goG(n, 4);
  },
  toTime: (_s, v) => toTime(num(v)),
  pathPrefix: (s) => {
    const url = s.data.externalURL ?? '';
    return url === '' ? '' : new URL(url).pathname.replace(/\/$/, '');
  },
  externalURL: (s) => s.data.externalURL ?? '',
  parseDuration: (_s, d) => {
    const ms = parsePromDuration(String(d));
    if (ms === undefined || /^\d+(\.\d+)?$/.test(String(d)))
      throw new Error(`not a valid duration string: ${JSON.stringify(d)}`);
    return ms / 1000;
  },
  stripPort: (_s, hostPort) => splitHostPort(String(hostPort))?.[0] ?? String(hostPort),
  stripDomain: (_s, hostPort) => {
    const text = String(hostPort);
    const [host, port] = splitHostPort(text) ?? [text, ''];
    if (isIp(host)) return text;
    const short = host.split('.')[0]!;
    return port === '' ? short : `${short.includes(':') ? `[${short}]` : short}:${port}`;
  },
};

// ---- Parsing: text and actions, then a tree of nodes -------------------------------------------------------------

type Operand =
  | { readonly kind: 'literal'; readonly value: unknown }
  | { readonly kind: 'field'; readonly base: 'dot' | string; readonly path: readonly string[] }
  | { readonly kind: 'fn'; readonly name: string }
  | { readonly kind: 'pipe'; readonly pipe: Pipeline };
type Command = readonly Operand[];
interface Pipeline {
  readonly decl: readonly string[];
  readonly assign: boolean;
  readonly cmds: readonly Command[];
}
type Node =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'action'; readonly pipe: Pipeline }
  | {
      readonly kind: 'if' | 'with' | 'range';
      readonly pipe: Pipeline;
      readonly body: Node[];
      readonly otherwise: Node[];
    };

class TemplateSyntaxError extends Error {}

interface Token {
  readonly t: string;
  readonly col: number;
}

function tokenize(src: string, at: (offset: number) => string): Token[] {
  const out: Token[] = [];
  const re =
    /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|'(?:[^'\\]|\\.)'|:=|=|\||\(|\)|,|\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*|\.(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)?|[^\s|()",=]+)/gy;
  let m = re.exec(src);
  let last = 0;
  while (m !== null) {
    out.push({ t: m[1]!, col: m.index + (m[0].length - m[1]!.length) });
    last = re.lastIndex;
    m = re.exec(src);
  }
  if (src.slice(last).trim() !== '')
    throw new TemplateSyntaxError(`${at(last)}: unexpected ${JSON.stringify(src.slice(last).trim())}`);
  return out;
}

function parseTemplate(template: string, vars: ReadonlySet<string>): Node[] {
  const position = (offset: number): string => {
    const before = template.slice(0, offset);
    const line = before.split('\n').length;
    return `line ${line}, column ${offset - before.lastIndexOf('\n')}`;
  };
  const root: Node[] = [];
  const stack: { node: Extract<Node, { kind: 'if' | 'with' | 'range' }> | undefined; list: Node[]; elseIf: number }[] =
    [{ node: undefined, list: root, elseIf: 0 }];
  const declared = [new Set(vars)];
  const re = /\{\{(-\s)?([\s\S]*?)(\s-)?\}\}/g;
  let pos = 0;
  let trimNext = false;
  for (let m = re.exec(template); m !== null; m = re.exec(template)) {
    let text = template.slice(pos, m.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (m[1] !== undefined) text = text.replace(/\s+$/, '');
    if (text !== '') stack[stack.length - 1]!.list.push({ kind: 'text', text });
    pos = re.lastIndex;
    trimNext = m[3] !== undefined;
    const body = m[2]!;
    const offset = m.index + 2 + (m[1]?.length ?? 0);
    if (/^\s*\/\*[\s\S]*\*\/\s*$/.test(body)) continue;
    const tokens = tokenize(body, (o) => position(offset + o));
    const head = tokens[0]?.t;
    const at = (i: number): string => position(offset + (tokens[i]?.col ?? 0));
    if (head === undefined) throw new TemplateSyntaxError(`${position(offset)}: missing value for command`);
    const top = stack[stack.length - 1]!;
    if (head === 'end') {
      if (top.node === undefined) throw new TemplateSyntaxError(`${at(0)}: unexpected {{end}}`);
      for (let i = 0, n = top.elseIf; i <= n; i++) {
        stack.pop();
        declared.pop();
      }
      continue;
    }
    if (head === 'else') {
      if (top.node === undefined) throw new TemplateSyntaxError(`${at(0)}: unexpected {{else}}`);
      declared[declared.length - 1] = new Set(declared[declared.length - 2]);
      if (tokens[1]?.t === 'if') {
        // {{else if x}} is {{else}}{{if x}}, whose {{end}} closes both.
        declared.push(new Set(declared[declared.length - 1]));
        const node = { kind: 'if' as const, pipe: parsePipe(tokens.slice(2), at, 2), body: [], otherwise: [] };
        top.node.otherwise.push(node);
        stack.push({ node, list: node.body, elseIf: top.elseIf + 1 });
        continue;
      }
      top.list = top.node.otherwise;
      continue;
    }
    if (head === 'if' || head === 'with' || head === 'range') {
      declared.push(new Set(declared[declared.length - 1]));
      const node = {
        kind: head as 'if' | 'with' | 'range',
        pipe: parsePipe(tokens.slice(1), at, 1),
        body: [] as Node[],
        otherwise: [] as Node[],
      };
      top.list.push(node);
      stack.push({ node, list: node.body, elseIf: 0 });
      continue;
    }
    if (head === 'define' || head === 'template' || head === 'block' || head === 'break' || head === 'continue')
      throw new TemplateSyntaxError(`${at(0)}: {{${head}}} is not supported in alert templates`);
    top.list.push({ kind: 'action', pipe: parsePipe(tokens, at, 0) });
  }
  if (stack.length > 1) throw new TemplateSyntaxError(`${position(template.length)}: unexpected EOF`);
  let text = template.slice(pos);
  if (trimNext) text = text.replace(/^\s+/, '');
  if (text !== '') root.push({ kind: 'text', text });
  return root;

  function parsePipe(tokens: readonly Token[], at: (i: number) => string, base: number): Pipeline {
    let decl: string[] = [];
    let assign = false;
    let rest = tokens;
    const scope = declared[declared.length - 1]!;
    const declIdx = tokens.findIndex((t) => t.t === ':=' || t.t === '=');
    if (declIdx > 0 && tokens.slice(0, declIdx).every((t) => t.t === ',' || /^\$[A-Za-z0-9_]*$/.test(t.t))) {
      decl = tokens
        .slice(0, declIdx)
        .filter((t) => t.t !== ',')
        .map((t) => t.t);
      assign = tokens[declIdx]!.t === '=';
      rest = tokens.slice(declIdx + 1);
    }
    const pipe = parseCmds(rest, (i) => at(i + (tokens.length - rest.length)), base);
    for (const d of decl) scope.add(d);
    return { decl, assign, cmds: pipe };
  }

  function parseCmds(tokens: readonly Token[], at: (i: number) => string, _base: number): Command[] {
    const cmds: Command[] = [];
    let cmd: Operand[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!.t;
      if (t === '|') {
        if (cmd.length === 0) throw new TemplateSyntaxError(`${at(i)}: missing command`);
        cmds.push(cmd);
        cmd = [];
        continue;
      }
      if (t === '(') {
        let depth = 1;
        let j = i + 1;
        for (; j < tokens.length && depth > 0; j++) {
          if (tokens[j]!.t === '(') depth++;
          if (tokens[j]!.t === ')') depth--;
        }
        if (depth !== 0) throw new TemplateSyntaxError(`${at(i)}: unclosed left paren`);
        const inner = tokens.slice(i + 1, j - 1);
        cmd.push({ kind: 'pipe', pipe: { decl: [], assign: false, cmds: parseCmds(inner, (k) => at(k + i + 1), 0) } });
        i = j - 1;
        continue;
      }
      if (t === ')') throw new TemplateSyntaxError(`${at(i)}: unexpected right paren`);
      cmd.push(operand(t, at(i)));
    }
    if (cmd.length === 0) throw new TemplateSyntaxError(`${at(tokens.length)}: missing value for command`);
    cmds.push(cmd);
    return cmds;
  }

  function operand(t: string, at: string): Operand {
    if (t.startsWith('"')) return { kind: 'literal', value: JSON.parse(t) as string };
    if (t.startsWith('`')) return { kind: 'literal', value: t.slice(1, -1) };
    if (t.startsWith("'"))
      return { kind: 'literal', value: (JSON.parse(`"${t.slice(1, -1)}"`) as string).codePointAt(0) };
    if (t === 'true' || t === 'false') return { kind: 'literal', value: t === 'true' };
    if (t === 'nil') return { kind: 'literal', value: undefined };
    if (/^[-+]?(\d|\.\d)/.test(t)) {
      const n = Number(t.replace(/_/g, ''));
      if (Number.isNaN(n)) throw new TemplateSyntaxError(`${at}: bad number syntax: ${JSON.stringify(t)}`);
      return { kind: 'literal', value: n };
    }
    if (t.startsWith('$')) {
      const [name, ...path] = t.split('.');
      if (!declared[declared.length - 1]!.has(name!))
        throw new TemplateSyntaxError(`${at}: undefined variable ${JSON.stringify(name)}`);
      return { kind: 'field', base: name!, path };
    }
    if (t.startsWith('.')) return { kind: 'field', base: 'dot', path: t === '.' ? [] : t.slice(1).split('.') };
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(t)) {
      if (FUNCS[t] === undefined) throw new TemplateSyntaxError(`${at}: function ${JSON.stringify(t)} not defined`);
      return { kind: 'fn', name: t };
    }
    throw new TemplateSyntaxError(`${at}: unexpected ${JSON.stringify(t)}`);
  }
}

// ---- Execution ----------------------------------------------------------------------------------------------------

// The fields of the values a template reaches: Prometheus' names (.Labels, .Value) over our objects.
function field(value: unknown, name: string): unknown {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object') throw new Error(`can't evaluate field ${name} in type ${typeof value}`);
  const o = value as Record<string, unknown>;
  if (isSample(o)) {
    if (name === 'Labels') return o.labels;
    if (name === 'Value') return o.value;
    throw new Error(`can't evaluate field ${name} in type *template.sample`);
  }
  // A missing label is "" (Prometheus expands with missingkey=zero).
  return o[name] ?? '';
}

function run(nodes: readonly Node[], dot: unknown, vars: Map<string, unknown>[], scope: Scope, out: string[]): void {
  for (const node of nodes) {
    if (node.kind === 'text') out.push(node.text);
    else if (node.kind === 'action') {
      const v = pipe(node.pipe, dot, vars, scope);
      if (node.pipe.decl.length === 0) out.push(show(v));
    } else {
      vars.push(new Map());
      const v = pipe(node.pipe, dot, vars, scope);
      if (node.kind === 'range') {
        const items: [unknown, unknown][] = Array.isArray(v)
          ? v.map((x, i) => [i, x])
          : v !== null && typeof v === 'object'
            ? Object.keys(v)
                .sort()
                .map((k) => [k, (v as Record<string, unknown>)[k]])
            : typeof v === 'number'
              ? Array.from({ length: v }, (_x, i) => [i, i])
              : [];
        if (items.length === 0) run(node.otherwise, dot, vars, scope, out);
        for (const [k, x] of items) {
          const d = node.pipe.decl;
          if (d.length === 1) vars[vars.length - 1]!.set(d[0]!, x);
          if (d.length === 2) {
            vars[vars.length - 1]!.set(d[0]!, k);
            vars[vars.length - 1]!.set(d[1]!, x);
          }
          run(node.body, x, vars, scope, out);
        }
      } else if (truth(v)) run(node.body, node.kind === 'with' ? v : dot, vars, scope, out);
      else run(node.otherwise, dot, vars, scope, out);
      vars.pop();
    }
  }
}

function lookup(vars: readonly Map<string, unknown>[], name: string): unknown {
  for (let i = vars.length - 1; i >= 0; i--) if (vars[i]!.has(name)) return vars[i]!.get(name);
  return undefined;
}

function pipe(p: Pipeline, dot: unknown, vars: Map<string, unknown>[], scope: Scope): unknown {
  let piped: unknown;
  p.cmds.forEach((cmd, i) => {
    const [head, ...rest] = cmd;
    const args = rest.map((o) => value(o, dot, vars, scope));
    if (i > 0) args.push(piped);
    if (head!.kind === 'fn') piped = FUNCS[head!.name]!(scope, ...args);
    else {
      if (args.length > 0)
        throw new Error(`can't give argument to non-function ${show(value(head!, dot, vars, scope))}`);
      piped = value(head!, dot, vars, scope);
    }
  });
  if (p.decl.length === 1) {
    const name = p.decl[0]!;
    const target = p.assign ? vars.findLast((m) => m.has(name)) : undefined;
    (target ?? vars[vars.length - 1]!).set(name, piped);
  }
  return piped;
}

function value(o: Operand, dot: unknown, vars: Map<string, unknown>[], scope: Scope): unknown {
  switch (o.kind) {
    case 'literal':
      return o.value;
    case 'fn':
      return FUNCS[o.name]!(scope);
    case 'pipe':
      return pipe(o.pipe, dot, vars, scope);
    case 'field':
      return o.path.reduce((v, name) => field(v, name), o.base === 'dot' ? dot : lookup(vars, o.base));
  }
}

const PREDEFINED: ReadonlySet<string> = new Set(['$', '$labels', '$value', '$externalLabels', '$externalURL']);
const cache = new Map<string, Node[]>();

function compiled(template: string): Node[] {
  let nodes = cache.get(template);
  if (nodes === undefined) {
    nodes = parseTemplate(template, PREDEFINED);
    if (cache.size > 1000) cache.clear();
    cache.set(template, nodes);
  }
  return nodes;
}

function templateError(template: string, err: unknown): ObsError {
  return alertsError(
    'OBS_ERR_ALERTS_RULE_INVALID',
    `[@obs/alerts] template ${JSON.stringify(template)}: ${(err as Error).message}`,
    {
      cause: err,
    },
  );
}

/**
 * Parses a template without running it, as Prometheus does when it loads a rule: a syntax error, an unknown
 * function or an undefined variable fails here, with its line and column in the template.
 * @throws ObsError `OBS_ERR_ALERTS_RULE_INVALID`
 */
export function checkTemplate(template: string): void {
  try {
    compiled(template);
  } catch (err) {
    throw templateError(template, err);
  }
}

/**
 * Expands a Prometheus alert template (Go's text/template with Prometheus' functions): `$labels`, `$value`,
 * `$externalLabels`, `$externalURL`, `.Labels`, `.Value`, pipes, variables, `if`/`else`/`range`/`with`.
 * @throws ObsError `OBS_ERR_ALERTS_RULE_INVALID` on a template that does not parse or fails to run
 */
export function expandTemplate(template: string, data: TemplateData): string {
  if (!template.includes('{{')) return template;
  const dot = {
    Labels: data.labels,
    Value: data.value,
    ExternalLabels: data.externalLabels ?? {},
    ExternalURL: data.externalURL ?? '',
  };
  const vars = [
    new Map<string, unknown>([
      ['$', dot],
      ['$labels', data.labels],
      ['$value', data.value],
      ['$externalLabels', data.externalLabels ?? {}],
      ['$externalURL', data.externalURL ?? ''],
    ]),
  ];
  try {
    const out: string[] = [];
    run(compiled(template), dot, vars, { data }, out);
    return out.join('');
  } catch (err) {
    throw templateError(template, err);
  }
}
