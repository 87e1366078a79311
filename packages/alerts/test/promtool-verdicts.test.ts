// Issue #14: `obs-alerts test` gives the verdicts of the real `promtool test rules` (Debian, 2.42) on files that
// exercise each feature of the rule-file and test formats. Some expectations in them are wrong on purpose: both
// must fail exactly those, and pass the rest.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debianTool } from '@obs/testing';
import { describe, expect, test } from 'vitest';
import { main } from '../src/cli.ts';
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

describe('obs-alerts check says what promtool check rules says', () => {
  const bad: Record<string, string> = {
    'bad-record-name.yml': 'groups:\n  - name: g\n    rules:\n      - record: "a b"\n        expr: up\n',
    'bad-record-label.yml':
      'groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n        labels: {__name__: b}\n',
    'bad-record-for.yml': 'groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n        for: 1m\n',
    'bad-record-annotations.yml':
      'groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n        annotations: {a: b}\n',
    'bad-both.yml': 'groups:\n  - name: g\n    rules:\n      - record: a\n        alert: a\n        expr: up\n',
    'bad-expr.yml': 'groups:\n  - name: g\n    rules:\n      - record: a\n        expr: sum(up\n',
    'bad-template.yml':
      'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        annotations: {s: "{{ nope }}"}\n',
    'bad-group.yml': 'groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n',
    'bad-field.yml': 'groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n        labelz: {}\n',
  };
  const good =
    'groups:\n  - name: g\n    rules:\n      - record: a:b\n        expr: up\n      - record: a:b\n        expr: up\n';
  const tmp = mkdtempSync(join(tmpdir(), 'obs-alerts-check-'));
  for (const [name, text] of Object.entries({ ...bad, 'dup.yml': good })) writeFileSync(join(tmp, name), text);

  test.each(Object.keys(bad))('%s is refused by obs-alerts check', (name) => {
    const err: string[] = [];
    expect(
      main(
        ['check', join(tmp, name)],
        () => {},
        (s) => err.push(s),
      ),
    ).toBe(1);
    expect(err.join('')).toMatch(new RegExp(`${name}(:\\d+)?: `));
  });
  test.skipIf(promtool === undefined).each(Object.keys(bad))('%s is refused by promtool check rules too', (name) => {
    expect(spawnSync(promtool!, ['check', 'rules', name], { cwd: tmp }).status).toBe(1);
  });
  test("duplicate recording rules: accepted with promtool's warning", () => {
    const out: string[] = [];
    expect(
      main(
        ['check', join(tmp, 'dup.yml')],
        (s) => out.push(s),
        () => {},
      ),
    ).toBe(0);
    expect(out.join('')).toContain('1 duplicate rule(s) found.\nMetric: a:b\n');
    if (promtool === undefined) return;
    const run = spawnSync(promtool, ['check', 'rules', 'dup.yml'], { cwd: tmp, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(`${run.stdout}${run.stderr}`).toContain('1 duplicate rule(s) found.\nMetric: a:b\n');
  });
  test('stricter than promtool 2.42: a rule whose expression is a range vector (it fails every evaluation in Prometheus)', () => {
    writeFileSync(
      join(tmp, 'range.yml'),
      'groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up[5m]\n',
    );
    const err: string[] = [];
    expect(
      main(
        ['check', join(tmp, 'range.yml')],
        () => {},
        (s) => err.push(s),
      ),
    ).toBe(1);
    expect(err.join('')).toMatch(
      /range\.yml:5: recording rule "a": expr must be an instant vector or scalar, got matrix/,
    );
    if (promtool !== undefined)
      expect(spawnSync(promtool, ['check', 'rules', 'range.yml'], { cwd: tmp }).status).toBe(0);
  });
  test('the rule files of the promtool comparisons pass both checks', () => {
    const rules = readdirSync(dir).filter((f) => f.endsWith('-rules.yml'));
    expect(
      main(
        ['check', ...rules.map((f) => join(dir, f))],
        () => {},
        () => {},
      ),
    ).toBe(0);
    if (promtool !== undefined) expect(spawnSync(promtool, ['check', 'rules', ...rules], { cwd: dir }).status).toBe(0);
  });
});
