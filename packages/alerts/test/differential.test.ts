import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debianTool } from '@obs/testing';
import { describe, expect, test } from 'vitest';
import { main } from '../src/cli.ts';
import { runRuleTests } from '../src/rule-tests.ts';

const source = join(import.meta.dirname, 'differential');
const files = readdirSync(source).filter((f) => f.endsWith('.test.yml'));

function workdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'obs-alerts-diff-'));
  cpSync(source, dir, { recursive: true });
  const out: string[] = [];
  expect(
    main(
      ['export', '-o', join(dir, 'seed-rules.yml')],
      (s) => out.push(s),
      (s) => out.push(s),
    ),
  ).toBe(0);
  return dir;
}

describe('differential suite: obs-alerts test and promtool test rules agree', () => {
  const dir = workdir();
  test.each(files)('%s passes obs-alerts test', (file) => {
    const result = runRuleTests(join(dir, file));
    expect(result.failures).toEqual([]);
    expect(result.passed).toBeGreaterThan(10);
  });

  const promtool = debianTool('promtool');
  test.skipIf(promtool === undefined).each(files)('%s passes the real promtool test rules, unchanged', (file) => {
    const out = execFileSync(promtool!, ['test', 'rules', file], { cwd: dir, encoding: 'utf8' });
    expect(out).toContain('SUCCESS');
  });
  test.skipIf(promtool === undefined)('promtool check rules accepts what obs-alerts export writes', () => {
    const out = execFileSync(promtool!, ['check', 'rules', 'seed-rules.yml', 'rules.yml'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(out).toContain('SUCCESS: 3 rules found');
  });

  test('a wrong expectation fails with a readable diff and exit code 1', () => {
    const broken = join(dir, 'broken.yml');
    writeFileSync(
      broken,
      readFileSync(join(dir, 'generated.test.yml'), 'utf8').replace(/value: 0\.4$/m, 'value: 0.41'),
    );
    const out: string[] = [];
    const err: string[] = [];
    expect(
      main(
        ['test', broken],
        (s) => out.push(s),
        (s) => err.push(s),
      ),
    ).toBe(1);
    expect(err.join('')).toContain('min_over_time(cache_hit_ratio[5m])');
    expect(err.join('')).toMatch(/exp: \{job="api"\} 0\.41\n\s+got: \{job="api"\} 0\.4/);
    expect(out.join('')).toMatch(/1 failed/);
  });
});

describe('obs-alerts check', () => {
  test('exits 0 for good files and 1 naming the rule and position for a bad one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'obs-alerts-check-'));
    writeFileSync(join(dir, 'bad.yml'), 'alerts:\n  - name: Bad\n    condition: "rate(x[5m] > 1"\n');
    const err: string[] = [];
    expect(
      main(
        ['check', join(source, 'rules.yml')],
        () => {},
        (s) => err.push(s),
      ),
    ).toBe(0);
    expect(
      main(
        ['check', join(dir, 'bad.yml')],
        () => {},
        (s) => err.push(s),
      ),
    ).toBe(1);
    expect(err.join('')).toMatch(/bad\.yml:3: rule "Bad": .*line 1, column/);
  });
});
