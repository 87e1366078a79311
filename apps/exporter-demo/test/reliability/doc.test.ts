// docs/reliability.md stays current: it cites every test of this suite, and every test it cites (of this suite or
// of a package) exists under that name in that file.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { render, splice } from './report.mjs';

const root = join(import.meta.dirname, '../../../..');
const doc = readFileSync(join(root, 'docs/reliability.md'), 'utf8');
const suiteDir = 'apps/exporter-demo/test/reliability';

// `file` › `test name`, as the doc's "proven by" cells write them.
const citations = [...doc.matchAll(/`([\w./-]+\.test\.ts)` › `([^`]+)`/g)].map((m) => ({ file: m[1]!, name: m[2]! }));

// A source file's text with its string escapes undone, so that a test name can be looked up as the doc writes it.
const sourceText = (file: string): string => readFileSync(join(root, file), 'utf8').replace(/\\(['"`\\])/g, '$1');

// The names of the tests of a file of this suite: test(...), test.fails(...), test.each(...)(...).
function testNames(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const names: string[] = [];
  for (const m of text.matchAll(/\btest(?:\.(?:fails|skip|only|concurrent))?\(\s*'((?:\\.|[^'\\])*)'/g))
    names.push(m[1]!);
  for (const m of text.matchAll(/\)\s*\(\s*'((?:\\.|[^'\\])*)',\s*async/g)) names.push(m[1]!);
  return names.map((n) => n.replace(/\\(.)/g, '$1'));
}

describe('docs/reliability.md', () => {
  test('cites every test of the reliability suite', () => {
    const files = readdirSync(join(root, suiteDir)).filter((f) => f.endsWith('.test.ts'));
    expect(files.length).toBeGreaterThanOrEqual(4);
    const missing: string[] = [];
    for (const f of files) {
      const file = `${suiteDir}/${f}`;
      const names = testNames(file);
      expect(names.length, file).toBeGreaterThan(0);
      for (const name of names)
        if (!citations.some((c) => c.file === file && c.name === name)) missing.push(`${file} › ${name}`);
    }
    expect(missing).toEqual([]);
  });

  test('every test it cites exists: the file, and the test name in it', () => {
    expect(citations.length).toBeGreaterThan(20);
    const broken = citations.filter((c) => !existsSync(join(root, c.file)) || !sourceText(c.file).includes(c.name));
    expect(broken).toEqual([]);
  });

  test('has a figures section that reliability:report can regenerate', () => {
    expect(() => splice(doc, render())).not.toThrow();
  });
});
