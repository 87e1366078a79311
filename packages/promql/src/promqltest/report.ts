// The text report of `obs-promql promqltest`: per file and in total, skips grouped by category and reason.
import type { EvalOutcome, ScriptResult, SkipCategory } from './run.ts';

/** Counts of one file or of all of them. */
export interface Totals {
  readonly run: number;
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  /** Skips by category, then by reason. */
  readonly skips: ReadonlyMap<SkipCategory, ReadonlyMap<string, number>>;
}

export function totals(outcomes: readonly EvalOutcome[]): Totals {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const skips = new Map<SkipCategory, Map<string, number>>();
  for (const o of outcomes) {
    if (o.status === 'passed') passed++;
    else if (o.status === 'failed') failed++;
    else {
      skipped++;
      let reasons = skips.get(o.category);
      if (reasons === undefined) {
        reasons = new Map();
        skips.set(o.category, reasons);
      }
      reasons.set(o.reason, (reasons.get(o.reason) ?? 0) + 1);
    }
  }
  return { run: passed + failed, passed, failed, skipped, skips };
}

function summary(name: string, t: Totals): string[] {
  const lines = [`${name}: ${t.run} run, ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`];
  for (const [category, reasons] of t.skips) {
    const n = [...reasons.values()].reduce((a, b) => a + b, 0);
    lines.push(`  skipped, ${category}: ${n}`);
    for (const [reason, count] of reasons) lines.push(`    ${count} × ${reason}`);
  }
  return lines;
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((l) => prefix + l)
    .join('\n');
}

/** The report: with `verbose`, every failure with its query, the expected and the actual result. */
export function formatReport(results: readonly ScriptResult[], verbose: boolean): string {
  const lines: string[] = [];
  for (const r of results) {
    if (verbose)
      for (const o of r.outcomes) {
        if (o.status !== 'failed') continue;
        lines.push(`FAILED ${r.file}:${o.line}: ${o.expr}`, `  ${o.reason}`);
        if (o.expected !== undefined) lines.push('  expected:', indent(o.expected, '    '));
        if (o.actual !== undefined) lines.push('  actual:', indent(o.actual, '    '));
      }
    lines.push(...summary(r.file, totals(r.outcomes)));
  }
  if (results.length > 1) lines.push(...summary('total', totals(results.flatMap((r) => r.outcomes))));
  return `${lines.join('\n')}\n`;
}
