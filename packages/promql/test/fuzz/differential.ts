// The differential fuzzer: random expressions evaluated by our engine and by promtool 2.42 (`promtool test
// rules`, hundreds of expressions per call, each expecting our answer), disagreements shrunk to a one-line repro.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluate, type SampleSource } from '../../src/engine.ts';
import type { Labels } from '../../src/labels.ts';
import { parsePromQL } from '../../src/parse.ts';
import { parseSeriesDesc } from '../../src/series-notation.ts';
import { createSampleStore, type SampleStore } from '../../src/store.ts';
import {
  createRandom,
  dataset,
  evalTime,
  expression,
  type GenNode,
  INTERVAL_MS,
  render,
  SAMPLES,
  shrinkCandidates,
} from './generate.ts';

/** What one engine answered: samples (a scalar is one sample without labels, as promtool shows it), or an error. */
export type Outcome =
  | { readonly kind: 'samples'; readonly samples: ReadonlyArray<{ readonly labels: Labels; readonly value: number }> }
  | { readonly kind: 'error'; readonly message: string };

/** One expression at one time. */
interface Case {
  readonly node: GenNode;
  readonly text: string;
  readonly timeMs: number;
}

/** A disagreement, with the smallest expression found that still disagrees. */
export interface Disagreement {
  readonly seed: number;
  readonly timeMs: number;
  readonly text: string;
  readonly ours: Outcome;
  readonly theirs: Outcome;
  readonly shrunk: { readonly text: string; readonly ours: Outcome; readonly theirs: Outcome };
}

/** Totals of a fuzzing run. */
export interface FuzzReport {
  readonly seeds: readonly number[];
  readonly expressions: number;
  /** How many of them an engine rejected (both did, or it is a disagreement). */
  readonly errors: number;
  readonly disagreements: readonly Disagreement[];
}

/** The store of a data set: one sample a minute, as promtool loads `interval: 1m`. */
export function loadDataset(lines: readonly string[]): SampleStore {
  const store = createSampleStore({ retentionMs: 1e12 });
  for (const line of lines) {
    const { labels, values } = parseSeriesDesc(line);
    values.forEach((v, i) => {
      if (v === 'stale') store.markStale(labels, i * INTERVAL_MS);
      else if (v !== undefined) store.append(labels, i * INTERVAL_MS, v);
    });
  }
  return store;
}

/** Our engine's answer, with server semantics: names removed at once; a subquery without step uses 1m. */
export function ours(store: SampleSource, text: string, timeMs: number): Outcome {
  try {
    const v = evaluate(parsePromQL(text).expr, store, timeMs, { subqueryStepMs: 60_000 });
    if (v.type === 'scalar') return { kind: 'samples', samples: [{ labels: {}, value: v.value }] };
    if (v.type === 'string') return { kind: 'error', message: 'string result' };
    return { kind: 'samples', samples: v.samples };
  } catch (err) {
    return { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  }
}

const goDuration = (ms: number): string =>
  `${Math.floor(ms / 60_000) > 0 ? `${Math.floor(ms / 60_000)}m` : ''}${(ms % 60_000) / 1000}s`;

function metricText(labels: Labels): string {
  const name = labels['__name__'] ?? '';
  // A name outside the identifier charset (label_join can make one) goes in the braces.
  if (!/^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/.test(name))
    return `{${Object.keys(labels)
      .sort()
      .map((k) => `${k}=${JSON.stringify(labels[k])}`)
      .join(', ')}}`;
  const rest = Object.keys(labels)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(', ');
  return `${name}{${rest}}`;
}

function yamlFloat(v: number): string {
  if (Number.isNaN(v)) return '.nan';
  if (v === Number.POSITIVE_INFINITY) return '.inf';
  if (v === Number.NEGATIVE_INFINITY) return '-.inf';
  return String(v);
}

// A label set no expression can produce: what an expression we reject expects, so promtool always reports it.
const ERROR_SENTINEL = '{__fuzz_expected_error__="1"}';

function testFile(series: readonly string[], cases: readonly Case[], answers: readonly Outcome[]): string {
  const out = ['rule_files: []', 'evaluation_interval: 1m', 'tests:', '  - interval: 1m', '    input_series:'];
  for (const s of series) {
    const split = s.indexOf('} ') + 1;
    out.push(
      `      - series: ${JSON.stringify(s.slice(0, split))}`,
      `        values: ${JSON.stringify(s.slice(split + 1))}`,
    );
  }
  // promtool loads samples lazily, up to the latest evaluation time so far: a first test at the end of the data
  // loads it all, so that a negative offset or an `@` after the evaluation time sees what Prometheus would.
  out.push(
    '    promql_expr_test:',
    '      - expr: vector(0)',
    `        eval_time: ${goDuration(SAMPLES * INTERVAL_MS)}`,
  );
  out.push("        exp_samples: [{labels: '{}', value: 0}]");
  cases.forEach((c, i) => {
    out.push(`      - expr: ${JSON.stringify(c.text)}`, `        eval_time: ${goDuration(c.timeMs)}`);
    const a = answers[i]!;
    if (a.kind === 'error') out.push(`        exp_samples: [{labels: ${JSON.stringify(ERROR_SENTINEL)}, value: 0}]`);
    else if (a.samples.length === 0) out.push('        exp_samples: []');
    else {
      out.push('        exp_samples:');
      for (const s of a.samples)
        out.push(
          `          - labels: ${JSON.stringify(metricText(s.labels))}`,
          `            value: ${yamlFloat(s.value)}`,
        );
    }
  });
  return `${out.join('\n')}\n`;
}

// promtool's `{__name__="x", a="1"} 7E-01, {…} 2E+00` (or `nil`).
function parseSamples(text: string): Outcome {
  const samples: Array<{ labels: Labels; value: number }> = [];
  if (text.trim() === 'nil') return { kind: 'samples', samples };
  const re = /\{((?:[^"}]|"(?:[^"\\]|\\.)*")*)\} (\S+?)(?:, |$)/g;
  for (const m of text.matchAll(re)) {
    const labels: Record<string, string> = {};
    for (const l of m[1]!.matchAll(/([^\s=,]+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = JSON.parse(`"${l[2]}"`);
    const raw = m[2]!;
    const value = raw === '+Inf' ? Number.POSITIVE_INFINITY : raw === '-Inf' ? Number.NEGATIVE_INFINITY : Number(raw);
    samples.push({ labels, value });
  }
  return { kind: 'samples', samples };
}

/**
 * Runs promtool on one batch: what it answered for each case it disagreed with (a case it passed gave exactly
 * our answer, so it is left undefined).
 */
export function promtoolBatch(
  promtool: string,
  series: readonly string[],
  cases: readonly Case[],
  answers: readonly Outcome[],
): Array<Outcome | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'obs-promql-fuzz-'));
  try {
    const file = join(dir, 'fuzz.yml');
    writeFileSync(file, testFile(series, cases, answers));
    let output: string;
    try {
      output = execFileSync(promtool, ['test', 'rules', file], { encoding: 'utf8', stdio: 'pipe', maxBuffer: 1 << 28 });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      output = `${e.stdout ?? ''}${e.stderr ?? ''}`;
      if (!output.includes('FAILED:')) throw new Error(`promtool test rules failed:\n${output}`);
    }
    const byKey = new Map<string, Outcome>();
    const lines = output.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const m = /^\s*expr: (".*"), time: (\S+?),(?: err: (.*))?$/.exec(lines[i]!);
      if (m === null) continue;
      const key = `${JSON.parse(m[1]!)}\x00${m[2]}`;
      if (m[3] !== undefined) {
        byKey.set(key, { kind: 'error', message: m[3] });
        continue;
      }
      const got = /^\s*got: (.*)$/.exec(lines[i + 2] ?? '');
      if (got === null)
        throw new Error(`unexpected promtool output after ${lines[i]}:\n${lines.slice(i, i + 3).join('\n')}`);
      byKey.set(key, parseSamples(got[1]!));
    }
    return cases.map((c) => byKey.get(`${c.text}\x00${goDuration(c.timeMs)}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function close(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  const diff = Math.abs(a - b);
  return diff <= 1e-9 * Math.max(Math.abs(a), Math.abs(b)) || diff < 1e-9;
}

const key = (l: Labels): string => metricText(l);

/** Whether two answers agree: both errors, or the same label sets with values equal up to rounding. */
export function agree(a: Outcome, b: Outcome): boolean {
  if (a.kind === 'error' || b.kind === 'error') return a.kind === b.kind;
  if (a.samples.length !== b.samples.length) return false;
  const xs = [...a.samples].sort((x, y) => key(x.labels).localeCompare(key(y.labels)));
  const ys = [...b.samples].sort((x, y) => key(x.labels).localeCompare(key(y.labels)));
  return xs.every((x, i) => key(x.labels) === key(ys[i]!.labels) && close(x.value, ys[i]!.value));
}

/** An answer on one line. */
export function showOutcome(o: Outcome): string {
  if (o.kind === 'error') return `error: ${o.message.replace(/^\[@obs\/promql\] /, '')}`;
  if (o.samples.length === 0) return '(empty)';
  return [...o.samples]
    .map((s) => `${metricText(s.labels)} ${String(s.value)}`)
    .sort()
    .join(', ');
}

/** The one-line repro of a disagreement. */
export function reproLine(d: Disagreement): string {
  return `seed ${d.seed} at ${d.timeMs / 1000}s: ${d.shrunk.text}  promtool: ${showOutcome(d.shrunk.theirs)}  ours: ${showOutcome(d.shrunk.ours)}  (unshrunk: ${d.text})`;
}

const BATCH = 500;

// Each case's disagreement, undefined where the engines agree.
function compare(
  promtool: string,
  series: readonly string[],
  store: SampleStore,
  cases: readonly Case[],
): Array<{ ours: Outcome; theirs: Outcome } | undefined> {
  const out: Array<{ ours: Outcome; theirs: Outcome } | undefined> = [];
  for (let i = 0; i < cases.length; i += BATCH) {
    const batch = cases.slice(i, i + BATCH);
    const answers = batch.map((c) => ours(store, c.text, c.timeMs));
    const theirs = promtoolBatch(promtool, series, batch, answers);
    batch.forEach((_, j) => {
      const t = theirs[j];
      out.push(t === undefined || agree(answers[j]!, t) ? undefined : { ours: answers[j]!, theirs: t });
    });
  }
  return out;
}

// Greedy shrinking: each round tries every smaller candidate in one promtool call and keeps the smallest
// that still disagrees.
function shrink(
  promtool: string,
  series: readonly string[],
  store: SampleStore,
  start: Case,
  found: { ours: Outcome; theirs: Outcome },
): Disagreement['shrunk'] {
  let best = { text: start.text, node: start.node, ...found };
  for (let round = 0; round < 40; round++) {
    const candidates = shrinkCandidates(best.node)
      .slice(0, 200)
      .map((node) => ({ node, text: render(node), timeMs: start.timeMs }));
    if (candidates.length === 0) break;
    const results = compare(promtool, series, store, candidates);
    const i = results.findIndex((r) => r !== undefined);
    if (i < 0) break;
    best = { text: candidates[i]!.text, node: candidates[i]!.node, ...results[i]! };
  }
  return { text: best.text, ours: best.ours, theirs: best.theirs };
}

/** The cases of one seed: `count` distinct expressions, each at its own evaluation time. */
export function casesOf(seed: number, count: number): Case[] {
  const r = createRandom(seed);
  const cases: Case[] = [];
  const seen = new Set<string>();
  for (let tries = 0; cases.length < count && tries < count * 20; tries++) {
    const node = expression(r);
    const text = render(node);
    const timeMs = evalTime(r);
    const k = `${text}\x00${timeMs}`;
    if (seen.has(k)) continue;
    seen.add(k);
    cases.push({ node, text, timeMs });
  }
  return cases;
}

/** Runs `count` expressions for each seed against promtool; every disagreement comes back shrunk. */
export function fuzz(
  promtool: string,
  seeds: readonly number[],
  count: number,
  onSeed?: (seed: number, found: number) => void,
): FuzzReport {
  let expressions = 0;
  let errors = 0;
  const disagreements: Disagreement[] = [];
  for (const seed of seeds) {
    const series = dataset(seed);
    const store = loadDataset(series);
    const cases = casesOf(seed, count);
    const results = compare(promtool, series, store, cases);
    expressions += cases.length;
    let found = 0;
    results.forEach((res, i) => {
      const c = cases[i]!;
      if (res === undefined) {
        if (ours(store, c.text, c.timeMs).kind === 'error') errors++;
        return;
      }
      found++;
      disagreements.push({
        seed,
        timeMs: c.timeMs,
        text: c.text,
        ...res,
        shrunk: shrink(promtool, series, store, c, res),
      });
    });
    onSeed?.(seed, found);
  }
  return { seeds, expressions, errors, disagreements };
}
