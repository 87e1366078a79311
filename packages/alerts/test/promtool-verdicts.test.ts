// Issue #14: `obs-alerts test` gives the verdicts of the real `promtool test rules` (Debian, 2.42) on files that
// exercise each feature of the rule-file and test formats. Some expectations in them are wrong on purpose: both
// must fail exactly those, and pass the rest.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { debianTool } from '@obs/testing';
import { describe, expect, test } from 'vitest';
import { runRuleTests } from '../src/rule-tests.ts';

const dir = join(import.meta.dirname, 'promtool');
const files = readdirSync(dir).filter((f) => f.endsWith('.test.yml'));
const promtool = debianTool('promtool');

/** The failed expectations promtool reports, as `alertname X@T` or `expr E@T`. */
function promtoolFailures(file: string): { failed: string[]; out: string } {
  const run = spawnSync(promtool!, ['test', 'rules', file], { cwd: dir, encoding: 'utf8' });
  const out = `${run.stdout}${run.stderr}`;
  const failed: string[] = [];
  for (const m of out.matchAll(/^\s+alertname: (.*), time: (\S+),$/gm)) failed.push(`alertname ${m[1]}@${m[2]}`);
  for (const m of out.matchAll(/^\s+expr: (".*"), time: (\S+),$/gm))
    failed.push(`expr ${JSON.parse(m[1]!) as string}@${m[2]}`);
  return { failed: failed.sort(), out };
}

function ourFailures(file: string): { failed: string[]; passed: number; messages: readonly string[] } {
  const result = runRuleTests(join(dir, file));
  const failed: string[] = [];
  for (const f of result.failures) {
    const head = f.split('\n')[0]!;
    const alert = /: alertname (.*), time (\S+)$/.exec(head);
    const expr = /: expr (".*"), time (\S+?):?(?: |$)/.exec(head);
    if (alert !== null) failed.push(`alertname ${alert[1]}@${alert[2]}`);
    else if (expr !== null) failed.push(`expr ${JSON.parse(expr[1]!) as string}@${expr[2]}`);
    else failed.push(head);
  }
  return { failed: failed.sort(), passed: result.passed, messages: result.failures };
}

describe('obs-alerts test and promtool test rules give the same verdicts', () => {
  test.each(files)('%s: obs-alerts runs it', (file) => {
    const ours = ourFailures(file);
    expect(ours.passed).toBeGreaterThan(0);
    const wrong = readFileSync(join(dir, file), 'utf8').match(/# wrong on purpose/g)?.length ?? 0;
    expect(ours.failed).toHaveLength(wrong);
  });
  test.skipIf(promtool === undefined).each(files)('%s: the same expectations fail in promtool', (file) => {
    const theirs = promtoolFailures(file);
    const ours = ourFailures(file);
    expect(ours.failed, `promtool said:\n${theirs.out}\nwe said:\n${ours.messages.join('\n')}`).toEqual(theirs.failed);
  });
  test.runIf(promtool === undefined)('promtool is missing: the comparison with it is skipped', () => {
    console.warn('promtool (Debian package prometheus) not found: promtool verdicts not compared');
  });
});
