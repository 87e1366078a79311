// Runs Prometheus' PromQL test scripts against the embedded engine and classifies every evaluation.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Expr } from '../ast.ts';
import { evaluateQuery, type QueryResult, type VectorSample } from '../engine.ts';
import { PromqlError } from '../errors.ts';
import { type Labels, labelsKey } from '../labels.ts';
import { compactHistogram, type FloatHistogram, histogramBuckets, usesCustomBuckets } from '../native-histogram.ts';
import { type ParsedExpr, parsePromQL, positionAt } from '../parse.ts';
import { atVariants } from './at-variants.ts';
import type { ScriptHistogram } from './histogram-notation.ts';
import { nhcbSeries } from './nhcb.ts';
import { type EvalCommand, type Expectation, parseScript, type ScriptPoint, type ScriptSeries } from './script.ts';
import { createScriptSource, type ScriptSource } from './source.ts';

/** Why an evaluation was not run. */
export type SkipCategory = 'outside the engine';

/** The outcome of one `eval` command. */
export type EvalOutcome =
  | { readonly status: 'passed'; readonly line: number; readonly expr: string }
  | {
      readonly status: 'failed';
      readonly line: number;
      readonly expr: string;
      /** What went wrong, and the expected and actual results where there are some. */
      readonly reason: string;
      readonly expected?: string | undefined;
      readonly actual?: string | undefined;
    }
  | {
      readonly status: 'skipped';
      readonly line: number;
      readonly expr: string;
      readonly category: SkipCategory;
      readonly reason: string;
    };

/** The outcomes of one script. */
export interface ScriptResult {
  readonly file: string;
  readonly outcomes: readonly EvalOutcome[];
}

const EPSILON = 1e-6;
const MIN_NORMAL = 2.2250738585072014e-308;

/** Prometheus' almost.Equal: a relative tolerance, and NaN equal to NaN. */
export function almostEqual(a: number, b: number, epsilon: number = EPSILON): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < epsilon * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}

function showValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

// Prometheus's TestExpression-like text of a histogram, for reports.
function showHistogram(h: FloatHistogram): string {
  const parts = [`schema:${h.schema}`, `count:${showValue(h.count)}`, `sum:${showValue(h.sum)}`];
  if (h.zeroCount !== 0) parts.push(`z_bucket:${showValue(h.zeroCount)}`);
  if (h.zeroThreshold !== 0) parts.push(`z_bucket_w:${showValue(h.zeroThreshold)}`);
  if (usesCustomBuckets(h)) parts.push(`custom_values:[${h.customValues.map(showValue).join(' ')}]`);
  if (h.counterResetHint !== 'unknown') parts.push(`counter_reset_hint:${h.counterResetHint}`);
  const buckets = histogramBuckets(h).map((b) => `${showValue(b.lower)}..${showValue(b.upper)}:${showValue(b.count)}`);
  if (buckets.length > 0) parts.push(`buckets:[${buckets.join(' ')}]`);
  return `{{${parts.join(' ')}}}`;
}

function showPoint(p: ScriptPoint): string {
  if (p === undefined) return '_';
  if (typeof p === 'number') return showValue(p);
  if (p === 'stale') return 'stale';
  return showHistogram(p.h);
}

function showLabels(labels: Labels): string {
  const name = labels['__name__'];
  const rest = Object.keys(labels)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(', ');
  return `${name ?? ''}{${rest}}`;
}

function showExpected(cmd: EvalCommand): string {
  if (cmd.string !== undefined) return JSON.stringify(cmd.string);
  if (cmd.scalar !== undefined) return showValue(cmd.scalar);
  if (cmd.series.length === 0) return '(empty)';
  return cmd.series.map((s) => `${showLabels(s.labels)} ${s.points.map(showPoint).join(' ')}`).join('\n');
}

function showActual(value: QueryResult['value']): string {
  switch (value.type) {
    case 'scalar':
      return `scalar ${showValue(value.value)}`;
    case 'string':
      return `string ${JSON.stringify(value.value)}`;
    case 'vector':
      return value.samples.length === 0
        ? '(empty vector)'
        : value.samples
            .map(
              (s) =>
                `${showLabels(s.labels)} ${s.histogram === undefined ? showValue(s.value) : showHistogram(s.histogram)}`,
            )
            .join('\n');
    case 'matrix':
      return value.series.length === 0
        ? '(empty matrix)'
        : value.series
            .map((s) => {
              const floats = s.t.map((t, i) => `${showValue(s.v[i]!)}@${t / 1000}s`);
              const hs = s.histograms;
              const hists = hs === undefined ? [] : hs.t.map((t, i) => `${showHistogram(hs.h[i]!)}@${t / 1000}s`);
              return `${showLabels(s.labels)} ${[...floats, ...hists].join(' ')}`;
            })
            .join('\n');
  }
}

function matchesExpectation(e: Expectation, text: string): boolean {
  if (e.message !== undefined) return e.message === text;
  if (e.regex !== undefined) return e.regex.test(text);
  return true;
}

// The error text Prometheus would print: our messages carry a package prefix and, for parse errors, a position.
function promErrorText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^\[@obs\/promql\] /, '').replace(/ at line \d+, column \d+ of ".*"$/s, '');
}

function checkAnnotations(cmd: EvalCommand, parsed: ParsedExpr, result: QueryResult): string | undefined {
  const format = (level: 'warning' | 'info', message: string, at: number): string => {
    const { line, column } = positionAt(parsed.text, at);
    return `PromQL ${level}: ${message} (${line}:${column})`;
  };
  const warnings = result.annotations.filter((a) => a.level === 'warning').map((a) => format(a.level, a.message, a.at));
  const infos = result.annotations.filter((a) => a.level === 'info').map((a) => format(a.level, a.message, a.at));
  if (cmd.anyWarn && warnings.length === 0) return 'expected warnings but got none';
  if (cmd.anyInfo && infos.length === 0) return 'expected info annotations but got none';
  for (const [kind, expected, actual] of [
    ['warn', cmd.warn, warnings],
    ['info', cmd.info, infos],
  ] as const) {
    if (expected.length === 0) continue;
    if (actual.length === 0) return `expected ${kind} annotations but none were found`;
    for (const e of expected)
      if (!actual.some((a) => matchesExpectation(e, a)))
        return `expected ${kind} annotation matching ${JSON.stringify(e.message ?? e.regex?.source ?? '')}, found: ${JSON.stringify(actual)}`;
    for (const a of actual)
      if (!expected.some((e) => matchesExpectation(e, a))) return `unexpected ${kind} annotation ${JSON.stringify(a)}`;
  }
  if (cmd.noWarn && warnings.length > 0) return `unexpected warning annotations: ${JSON.stringify(warnings)}`;
  if (cmd.noInfo && infos.length > 0) return `unexpected info annotations: ${JSON.stringify(infos)}`;
  return undefined;
}

function expectedByKey(series: readonly ScriptSeries[]): Map<string, { s: ScriptSeries; pos: number }> {
  const out = new Map<string, { s: ScriptSeries; pos: number }>();
  series.forEach((s, i) => {
    out.set(labelsKey(s.labels), { s, pos: i });
  });
  return out;
}

function sideMatches(
  a: FloatHistogram,
  b: FloatHistogram,
  spans: 'positiveSpans' | 'negativeSpans',
  buckets: 'positiveBuckets' | 'negativeBuckets',
): boolean {
  // Both are compacted: equal layouts have equal spans once empty spans are ignored.
  const xs = a[spans].filter((s) => s.length > 0);
  const ys = b[spans].filter((s) => s.length > 0);
  if (xs.length !== ys.length || a[buckets].length !== b[buckets].length) return false;
  for (let i = 0; i < xs.length; i++)
    if (xs[i]!.offset !== ys[i]!.offset || xs[i]!.length !== ys[i]!.length) return false;
  return a[buckets].every((x, i) => almostEqual(x, b[buckets][i]!));
}

/** Prometheus's compareNativeHistogram: both compacted, floats within tolerance, the hint only when written. */
function histogramMatches(expected: ScriptHistogram, actual: FloatHistogram): boolean {
  const e = compactHistogram(expected.h);
  const a = compactHistogram(actual);
  if (e.schema !== a.schema || !almostEqual(e.count, a.count) || !almostEqual(e.sum, a.sum)) return false;
  if (
    usesCustomBuckets(e) &&
    (e.customValues.length !== a.customValues.length || e.customValues.some((x, i) => x !== a.customValues[i]))
  )
    return false;
  if (e.zeroThreshold !== a.zeroThreshold || !almostEqual(e.zeroCount, a.zeroCount)) return false;
  if (!sideMatches(e, a, 'negativeSpans', 'negativeBuckets') || !sideMatches(e, a, 'positiveSpans', 'positiveBuckets'))
    return false;
  return !expected.hintSet || e.counterResetHint === a.counterResetHint;
}

function isScriptHistogram(p: ScriptPoint): p is ScriptHistogram {
  return typeof p === 'object';
}

function compare(cmd: EvalCommand, value: QueryResult['value']): string | undefined {
  if (cmd.string !== undefined) {
    if (value.type !== 'string') return `expected a string, got a ${value.type}`;
    return value.value === cmd.string ? undefined : `expected string ${JSON.stringify(cmd.string)}`;
  }
  if (cmd.scalar !== undefined) {
    if (value.type !== 'scalar') return `expected a scalar, got a ${value.type}`;
    return almostEqual(cmd.scalar, value.value) ? undefined : `expected scalar ${showValue(cmd.scalar)}`;
  }
  const expected = expectedByKey(cmd.series);
  if (value.type === 'scalar' || value.type === 'string') return `expected a vector or matrix, got a ${value.type}`;
  if (value.type === 'vector') {
    const seen = new Set<string>();
    for (const [i, s] of value.samples.entries()) {
      const key = labelsKey(s.labels);
      const e = expected.get(key);
      const got = s.histogram === undefined ? showValue(s.value) : showHistogram(s.histogram);
      if (e === undefined) return `unexpected series ${showLabels(s.labels)} ${got}`;
      if (cmd.ordered && e.pos !== i) return `${showLabels(s.labels)} at position ${i + 1}, expected at ${e.pos + 1}`;
      const want = e.s.points[0];
      const ok =
        s.histogram === undefined
          ? typeof want === 'number' && almostEqual(want, s.value)
          : want !== undefined && isScriptHistogram(want) && histogramMatches(want, s.histogram);
      if (!ok) return `expected ${showPoint(want)} for ${showLabels(s.labels)}, got ${got}`;
      seen.add(key);
    }
    for (const [key, e] of expected) if (!seen.has(key)) return `expected series ${showLabels(e.s.labels)} not found`;
    return undefined;
  }
  if (cmd.ordered) return 'expected an ordered result, but the query returned a matrix';
  const start = cmd.rangeVector?.startMs ?? cmd.startMs;
  const end = cmd.rangeVector?.endMs ?? cmd.endMs;
  const step = cmd.rangeVector?.stepMs ?? cmd.stepMs;
  const seen = new Set<string>();
  for (const s of value.series) {
    const key = labelsKey(s.labels);
    const e = expected.get(key);
    if (e === undefined) return `unexpected series ${showLabels(s.labels)}`;
    seen.add(key);
    const points: Array<[number, number]> = [];
    const hpoints: Array<[number, ScriptHistogram]> = [];
    for (const [i, p] of e.s.points.entries()) {
      const t = start + i * step;
      if (t > end) return `expected ${e.s.points.length} points for ${showLabels(s.labels)}, more than the range holds`;
      if (typeof p === 'number') points.push([t, p]);
      else if (p !== undefined && isScriptHistogram(p)) hpoints.push([t, p]);
    }
    const hs = s.histograms ?? { t: [], h: [] };
    if (points.length !== s.t.length || hpoints.length !== hs.t.length)
      return `expected ${points.length} float and ${hpoints.length} histogram points for ${showLabels(s.labels)}, got ${s.t.length} and ${hs.t.length}`;
    for (const [i, [t, v]] of points.entries()) {
      if (s.t[i] !== t)
        return `expected a point at ${t / 1000}s for ${showLabels(s.labels)}, got one at ${s.t[i]! / 1000}s`;
      if (!almostEqual(v, s.v[i]!))
        return `expected ${showValue(v)} at ${t / 1000}s for ${showLabels(s.labels)}, got ${showValue(s.v[i]!)}`;
    }
    for (const [i, [t, h]] of hpoints.entries()) {
      if (hs.t[i] !== t)
        return `expected a histogram at ${t / 1000}s for ${showLabels(s.labels)}, got one at ${hs.t[i]! / 1000}s`;
      if (!histogramMatches(h, hs.h[i]!))
        return `expected ${showHistogram(h.h)} at ${t / 1000}s for ${showLabels(s.labels)}, got ${showHistogram(hs.h[i]!)}`;
    }
  }
  for (const [key, e] of expected) if (!seen.has(key)) return `expected series ${showLabels(e.s.labels)} not found`;
  return undefined;
}

function skipped(cmd: EvalCommand, category: SkipCategory, reason: string): EvalOutcome {
  return { status: 'skipped', line: cmd.line, expr: cmd.expr, category, reason };
}

type Check = { readonly problem: string; readonly actual?: string | undefined } | undefined;

// One evaluation of a command (or of one of its `@` variants) against everything the command expects.
function check(cmd: EvalCommand, parsed: ParsedExpr, expr: Expr, evalMs: number, source: ScriptSource): Check {
  let result: QueryResult;
  try {
    result = evaluateQuery(expr, source, {
      startMs: evalMs,
      endMs: cmd.range ? cmd.endMs : undefined,
      stepMs: cmd.range ? cmd.stepMs : undefined,
      delayedNameRemoval: true,
    });
  } catch (err) {
    if (cmd.fail !== undefined)
      return matchesExpectation(cmd.fail, promErrorText(err))
        ? undefined
        : { problem: 'wrong error', actual: promErrorText(err) };
    return { problem: 'the evaluation failed', actual: promErrorText(err) };
  }
  if (cmd.fail !== undefined) return { problem: 'expected an error, got none', actual: showActual(result.value) };
  const annotationProblem = checkAnnotations(cmd, parsed, result);
  if (annotationProblem !== undefined) return { problem: annotationProblem, actual: showActual(result.value) };
  const problem = compare(cmd, result.value);
  if (problem !== undefined) return { problem, actual: showActual(result.value) };
  if (cmd.range) return undefined;
  const range = rangeModeProblem(cmd, expr, evalMs, source);
  return range === undefined ? undefined : { problem: `in range mode: ${range.reason}`, actual: range.actual };
}

function runEval(cmd: EvalCommand, source: ScriptSource): EvalOutcome {
  const failed = (reason: string, actual?: string): EvalOutcome => ({
    status: 'failed',
    line: cmd.line,
    expr: cmd.expr,
    reason,
    expected:
      cmd.fail !== undefined
        ? `an error${(cmd.fail.message ?? cmd.fail.regex?.source) ? ` matching ${JSON.stringify(cmd.fail.message ?? cmd.fail.regex?.source)}` : ''}`
        : showExpected(cmd),
    actual,
  });
  const passed: EvalOutcome = { status: 'passed', line: cmd.line, expr: cmd.expr };
  let parsed: ParsedExpr;
  try {
    parsed = parsePromQL(cmd.expr);
  } catch (err) {
    if (err instanceof PromqlError && err.code === 'OBS_ERR_PROMQL_UNSUPPORTED')
      return skipped(cmd, 'outside the engine', promErrorText(err));
    if (cmd.fail !== undefined)
      return matchesExpectation(cmd.fail, promErrorText(err)) ? passed : failed('wrong error', promErrorText(err));
    return failed('the query does not parse', promErrorText(err));
  }
  const evalMs = cmd.rangeVector?.endMs ?? cmd.startMs;
  const first = check(cmd, parsed, parsed.expr, evalMs, source);
  if (first !== undefined) return failed(first.problem, first.actual);
  if (cmd.range) return passed;
  // Prometheus' runner repeats an instant query with every selector pinned to its time by `@`, at other
  // times; the answer must not change.
  const variants = atVariants(parsed.expr, evalMs);
  for (const t of variants?.times ?? []) {
    const again = check(cmd, parsed, variants!.expr, t, source);
    if (again !== undefined)
      return failed(`with @ ${evalMs / 1000} evaluated at ${t / 1000}s: ${again.problem}`, again.actual);
  }
  return passed;
}

// As Prometheus' runner does, an instant evaluation must give the same answer as the middle step of a range
// query from a minute before to a minute after; not for results a range query cannot give (range vectors,
// strings, an order), nor for queries whose answer depends on the query's own range (start(), step(), …).
function rangeModeProblem(
  cmd: EvalCommand,
  expr: Expr,
  t: number,
  source: ScriptSource,
): { reason: string; actual?: string } | undefined {
  if (cmd.range || cmd.rangeVector !== undefined || cmd.string !== undefined || cmd.ordered) return undefined;
  if (/(start|end|range|step)\(\)/.test(cmd.expr)) return undefined;
  let result: QueryResult;
  try {
    result = evaluateQuery(expr, source, {
      startMs: t - 60_000,
      endMs: t + 60_000,
      stepMs: 60_000,
      delayedNameRemoval: true,
    });
  } catch (err) {
    return { reason: `the evaluation failed: ${promErrorText(err)}` };
  }
  if (result.value.type !== 'matrix') return { reason: `expected a matrix, got a ${result.value.type}` };
  const samples: VectorSample[] = [];
  for (const s of result.value.series) {
    const i = s.t.indexOf(t);
    if (i !== -1) samples.push({ labels: s.labels, value: s.v[i]! });
    const j = s.histograms === undefined ? -1 : s.histograms.t.indexOf(t);
    if (j !== -1) samples.push({ labels: s.labels, value: 0, histogram: s.histograms!.h[j]! });
  }
  const value: QueryResult['value'] =
    cmd.scalar !== undefined ? { type: 'scalar', value: samples[0]?.value ?? Number.NaN } : { type: 'vector', samples };
  const problem = compare(cmd, value);
  return problem === undefined ? undefined : { reason: problem, actual: showActual(value) };
}

/**
 * Runs one script's text.
 * @throws PromqlError `OBS_ERR_PROMQL_TEST_SCRIPT` when the script is malformed, naming `file:line`.
 */
export function runScript(file: string, text: string): ScriptResult {
  const commands = parseScript(file, text);
  const source = createScriptSource();
  const outcomes: EvalOutcome[] = [];
  for (const cmd of commands) {
    if (cmd.kind === 'clear') {
      source.clear();
    } else if (cmd.kind === 'load') {
      for (const s of cmd.series)
        s.points.forEach((p, i) => {
          if (p !== undefined) source.add(s.labels, i * cmd.intervalMs, typeof p === 'object' ? p.h : p);
        });
      // load_with_nhcb also stores each classic histogram as a native histogram with custom buckets.
      if (cmd.nhcb)
        for (const s of nhcbSeries(cmd.series, cmd.intervalMs))
          for (let i = 0; i < s.t.length; i++) source.add(s.labels, s.t[i]!, s.h[i]!);
    } else outcomes.push(runEval(cmd, source));
  }
  return { file, outcomes };
}

/** The `.test` files named, a folder standing for the `.test` files in it (sorted). */
export function scriptFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      throw new PromqlError('OBS_ERR_PROMQL_TEST_SCRIPT', `[@obs/promql] ${p}: no such file or folder`);
    }
    if (!isDir) {
      out.push(p);
      continue;
    }
    const names = readdirSync(p)
      .filter((n) => n.endsWith('.test'))
      .sort();
    if (names.length === 0)
      throw new PromqlError('OBS_ERR_PROMQL_TEST_SCRIPT', `[@obs/promql] ${p}: no .test files in it`);
    for (const name of names) out.push(join(p, name));
  }
  return out;
}

/**
 * Reads and runs one script file.
 * @throws PromqlError `OBS_ERR_PROMQL_TEST_SCRIPT` when it cannot be read or is malformed.
 */
export function runScriptFile(file: string): ScriptResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PromqlError(
      'OBS_ERR_PROMQL_TEST_SCRIPT',
      `[@obs/promql] ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return runScript(file, text);
}
