// Parser of Prometheus' PromQL test scripts (promql/promqltest): `load`, `clear`, `eval` and their `expect` lines.
import { RE2JS } from 're2js';
import { parsePromDuration } from '../duration.ts';
import { PromqlError } from '../errors.ts';
import { parseSeriesDesc } from '../series-notation.ts';
import { expandHistogramToken, type ScriptHistogram } from './histogram-notation.ts';

/** One loaded or expected point: a float, `undefined` for `_`, a staleness marker, or a native histogram. */
export type ScriptPoint = number | undefined | 'stale' | ScriptHistogram;

/** A series line of a `load` block or of an eval's expectations. */
export interface ScriptSeries {
  readonly line: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly points: readonly ScriptPoint[];
}

/** `load <interval>` (or `load_with_nhcb`) and its series. */
export interface LoadCommand {
  readonly kind: 'load';
  readonly line: number;
  readonly intervalMs: number;
  /** `load_with_nhcb`: classic histograms are also loaded as native histograms with custom buckets (NHCB). */
  readonly nhcb: boolean;
  readonly series: readonly ScriptSeries[];
}

/** `clear`: drops everything loaded so far. */
export interface ClearCommand {
  readonly kind: 'clear';
  readonly line: number;
}

/** An `expect fail|warn|info` line: no text (anything matches), an exact `msg:` or a `regex:`. */
export interface Expectation {
  readonly message?: string | undefined;
  /** Go's `regexp.MatchString`: RE2, matching anywhere in the text. */
  readonly regex?: { readonly source: string; test(text: string): boolean } | undefined;
}

/** `eval instant at …` or `eval range from … to … step …`, with what it expects. */
export interface EvalCommand {
  readonly kind: 'eval';
  readonly line: number;
  readonly expr: string;
  /** The instant's time, or the range's start (ms). */
  readonly startMs: number;
  readonly endMs: number;
  readonly stepMs: number;
  readonly range: boolean;
  readonly fail: Expectation | undefined;
  readonly warn: readonly Expectation[];
  readonly info: readonly Expectation[];
  /** The deprecated `eval_warn`/`eval_info`: at least one annotation of the kind, any text. */
  readonly anyWarn: boolean;
  readonly anyInfo: boolean;
  readonly noWarn: boolean;
  readonly noInfo: boolean;
  readonly ordered: boolean;
  /** A bare number: the query must return a scalar. */
  readonly scalar: number | undefined;
  /** `expect string "…"`. */
  readonly string: string | undefined;
  /** `expect range vector from … to … step …`: an instant query whose result is a range vector. */
  readonly rangeVector: { readonly startMs: number; readonly endMs: number; readonly stepMs: number } | undefined;
  readonly series: readonly ScriptSeries[];
}

/** A parsed script. */
export type ScriptCommand = LoadCommand | ClearCommand | EvalCommand;

function scriptError(file: string, line: number, what: string): PromqlError {
  return new PromqlError('OBS_ERR_PROMQL_TEST_SCRIPT', `[@obs/promql] ${file}:${line}: ${what}`);
}

function duration(file: string, line: number, text: string, what: string): number {
  const ms = parsePromDuration(text.trim());
  if (ms === undefined) throw scriptError(file, line, `invalid ${what} ${JSON.stringify(text)}`);
  return ms;
}

// Splits a series line into its selector and its points; spaces inside a `{{…}}` histogram do not split.
function splitSeriesLine(text: string): { selector: string; tokens: string[] } {
  let i = 0;
  while (i < text.length && /[a-zA-Z0-9_:.]/.test(text[i]!)) i++;
  if (text[i] === '{') {
    let quote: string | undefined;
    for (i++; i < text.length; i++) {
      const c = text[i]!;
      if (quote !== undefined) {
        if (c === '\\' && quote !== '`') i++;
        else if (c === quote) quote = undefined;
      } else if (c === '"' || c === "'" || c === '`') quote = c;
      else if (c === '}') {
        i++;
        break;
      }
    }
  }
  const selector = text.slice(0, i);
  const tokens: string[] = [];
  let current = '';
  let depth = 0;
  for (const c of text.slice(i)) {
    if (c === '{') depth++;
    else if (c === '}') depth--;
    if (depth === 0 && (c === ' ' || c === '\t')) {
      if (current !== '') tokens.push(current);
      current = '';
    } else current += c;
  }
  if (current !== '') tokens.push(current);
  return { selector, tokens };
}

function seriesLine(file: string, line: number, text: string): ScriptSeries {
  const { selector, tokens } = splitSeriesLine(text);
  if (selector === '') throw scriptError(file, line, `expected a series, got ${JSON.stringify(text)}`);
  const points: ScriptPoint[] = [];
  const floats: string[] = [];
  const flush = (): void => {
    if (floats.length === 0) return;
    try {
      points.push(...parseSeriesDesc(`x ${floats.join(' ')}`).values);
    } catch (e) {
      // The notation's own error carries the package prefix; the script error adds it once.
      const why = (e as Error).message.replace(/^\[@obs\/promql\] /, '');
      throw scriptError(file, line, `bad values ${JSON.stringify(floats.join(' '))}: ${why}`);
    }
    floats.length = 0;
  };
  for (const token of tokens) {
    if (!token.includes('{{')) {
      floats.push(token);
      continue;
    }
    flush();
    try {
      points.push(...expandHistogramToken(token));
    } catch (e) {
      throw scriptError(file, line, `bad histogram ${JSON.stringify(token)}: ${(e as Error).message}`);
    }
  }
  flush();
  let labels: Record<string, string>;
  try {
    labels = parseSeriesDesc(selector).labels;
  } catch (e) {
    throw scriptError(file, line, `bad series ${JSON.stringify(selector)}: ${(e as Error).message}`);
  }
  return { line, labels, points };
}

function expectation(file: string, line: number, kind: string, rest: string | undefined): Expectation {
  if (rest === undefined) return {};
  const m = /^(msg|regex):(.*)$/.exec(rest.trim());
  if (m === null) throw scriptError(file, line, `expected msg: or regex: after "expect ${kind}"`);
  const text = m[2]!.trim();
  if (m[1] === 'msg') return { message: text };
  try {
    const re = RE2JS.compile(text);
    return { regex: { source: text, test: (s) => re.test(s) } };
  } catch {
    throw scriptError(file, line, `invalid regex ${JSON.stringify(text)}`);
  }
}

function unquoteString(file: string, line: number, raw: string): string {
  const text = raw.trim();
  if (text.startsWith('`') && text.endsWith('`') && text.length >= 2) return text.slice(1, -1);
  if (text.startsWith('"') && text.endsWith('"') && text.length >= 2) {
    try {
      return JSON.parse(text) as string;
    } catch {
      // fall through to the error below
    }
  }
  throw scriptError(file, line, `expected a quoted string after "expect string", got ${JSON.stringify(raw)}`);
}

const EVAL_INSTANT = /^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$/;
const EVAL_RANGE = /^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$/;
const EXPECT = /^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(.*))?$/;
const EXPECT_RANGE = /^expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$/;
const NUMBER = /^[+-]?(?:0x[0-9a-f]+|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|inf|nan)$/i;

function parseEval(file: string, lines: readonly string[], start: number): { cmd: EvalCommand; next: number } {
  const header = lines[start]!;
  const lineNo = start + 1;
  const instant = EVAL_INSTANT.exec(header);
  const range = instant === null ? EVAL_RANGE.exec(header) : null;
  if (instant === null && range === null)
    throw scriptError(
      file,
      lineNo,
      'invalid eval command: expected "eval instant [at <time>] <query>" or "eval range from <t> to <t> step <d> <query>"',
    );
  let startMs: number;
  let endMs: number;
  let stepMs = 0;
  let expr: string;
  const mod = (instant ?? range)![1];
  if (instant !== null) {
    startMs = instant[2] === undefined ? 0 : duration(file, lineNo, instant[2], 'time');
    endMs = startMs;
    expr = instant[3]!;
  } else {
    startMs = duration(file, lineNo, range![2]!, 'start time');
    endMs = duration(file, lineNo, range![3]!, 'end time');
    stepMs = duration(file, lineNo, range![4]!, 'step');
    expr = range![5]!;
    if (endMs < startMs) throw scriptError(file, lineNo, 'the end time is before the start time');
    if (stepMs <= 0) throw scriptError(file, lineNo, 'the step must be positive');
  }
  let fail: Expectation | undefined = mod === 'fail' ? {} : undefined;
  const warn: Expectation[] = [];
  const info: Expectation[] = [];
  let noWarn = false;
  let noInfo = false;
  let ordered = mod === 'ordered';
  let scalar: number | undefined;
  let str: string | undefined;
  let rangeVector: EvalCommand['rangeVector'];
  const series: ScriptSeries[] = [];
  let i = start + 1;
  for (; i < lines.length && lines[i] !== ''; i++) {
    const text = lines[i]!;
    const n = i + 1;
    if (fail !== undefined && text.startsWith('expected_fail_message')) {
      fail = { message: text.slice('expected_fail_message'.length).trim() };
      continue;
    }
    if (fail !== undefined && text.startsWith('expected_fail_regexp')) {
      fail = expectation(file, n, 'fail', `regex:${text.slice('expected_fail_regexp'.length)}`);
      continue;
    }
    if (text.startsWith('expect range vector')) {
      const m = EXPECT_RANGE.exec(text);
      if (m === null) throw scriptError(file, n, `invalid range vector definition ${JSON.stringify(text)}`);
      rangeVector = {
        startMs: duration(file, n, m[1]!, 'start time'),
        endMs: duration(file, n, m[2]!, 'end time'),
        stepMs: duration(file, n, m[3]!, 'step'),
      };
      continue;
    }
    if (text.startsWith('expect string')) {
      str = unquoteString(file, n, text.slice('expect string'.length));
      continue;
    }
    if (text.split(' ')[0] === 'expect') {
      const m = EXPECT.exec(text);
      if (m === null) throw scriptError(file, n, `invalid expect line ${JSON.stringify(text)}`);
      const kind = m[1]!;
      const e = expectation(file, n, kind, m[2]);
      if (kind === 'fail') {
        if (fail !== undefined && mod !== 'fail') throw scriptError(file, n, 'only one "expect fail" line is allowed');
        fail = e;
      } else if (kind === 'warn') warn.push(e);
      else if (kind === 'info') info.push(e);
      else if (kind === 'no_warn') noWarn = true;
      else if (kind === 'no_info') noInfo = true;
      else ordered = true;
      continue;
    }
    if (NUMBER.test(text)) {
      scalar = Number.parseFloat(text);
      const lower = text.toLowerCase().replace(/^\+/, '');
      if (lower === 'inf') scalar = Number.POSITIVE_INFINITY;
      else if (lower === '-inf') scalar = Number.NEGATIVE_INFINITY;
      else if (lower.replace(/^-/, '') === 'nan') scalar = Number.NaN;
      else if (/^[+-]?0x/i.test(text)) scalar = Number(text.replace(/^\+/, ''));
      continue;
    }
    const s = seriesLine(file, n, text);
    if (s.points.length > 1 && instant !== null && rangeVector === undefined)
      throw scriptError(
        file,
        n,
        'an instant evaluation expects one value per series (or an "expect range vector" line)',
      );
    series.push(s);
  }
  if (warn.length > 0 && noWarn) throw scriptError(file, lineNo, 'warn and no_warn cannot be used together');
  if (info.length > 0 && noInfo) throw scriptError(file, lineNo, 'info and no_info cannot be used together');
  const cmd: EvalCommand = {
    kind: 'eval',
    line: lineNo,
    expr,
    startMs: rangeVector === undefined ? startMs : rangeVector.endMs,
    endMs: rangeVector === undefined ? endMs : rangeVector.endMs,
    stepMs,
    range: range !== null,
    fail,
    warn,
    info,
    anyWarn: mod === 'warn',
    anyInfo: mod === 'info',
    noWarn,
    noInfo,
    ordered,
    scalar,
    string: str,
    rangeVector,
    series,
  };
  return { cmd, next: i };
}

/**
 * Parses a PromQL test script.
 * @throws PromqlError `OBS_ERR_PROMQL_TEST_SCRIPT` naming `file:line` and what is wrong.
 */
export function parseScript(file: string, text: string): ScriptCommand[] {
  // As promqltest does: lines are trimmed, and a line starting with # is blank (it ends a block).
  const lines = text.split('\n').map((l) => {
    const t = l.trim();
    return t.startsWith('#') ? '' : t;
  });
  const out: ScriptCommand[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const word = line.split(/[\t ]+/, 1)[0]!.toLowerCase();
    if (word === 'clear') {
      out.push({ kind: 'clear', line: i + 1 });
    } else if (word.startsWith('load')) {
      const m = /^load(_with_nhcb)?\s+(\S+)$/.exec(line);
      if (m === null) throw scriptError(file, i + 1, 'invalid load command: expected "load[_with_nhcb] <interval>"');
      const intervalMs = duration(file, i + 1, m[2]!, 'interval');
      const series: ScriptSeries[] = [];
      const at = i;
      for (i++; i < lines.length && lines[i] !== ''; i++) series.push(seriesLine(file, i + 1, lines[i]!));
      out.push({ kind: 'load', line: at + 1, intervalMs, nhcb: m[1] !== undefined, series });
    } else if (word.startsWith('eval')) {
      const { cmd, next } = parseEval(file, lines, i);
      out.push(cmd);
      i = next;
    } else throw scriptError(file, i + 1, `invalid command ${JSON.stringify(line)}`);
  }
  return out;
}
