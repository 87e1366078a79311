import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const docsPath = join(import.meta.dirname, '../../../docs/errors.md');

function documented(pkg: string): string[] {
  const section = readFileSync(docsPath, 'utf8')
    .split(/^## /m)
    .find((s) => s.startsWith(`${pkg}\n`));
  return [...(section ?? '').matchAll(/^\|\s*`(OBS_ERR_[A-Z_]+)`\s*\|/gm)].map((m) => m[1]!);
}

const TYPE_ALIAS = /^(?:export )?type \w+ =[^;]*;/gm;

function usedIn(dir: string): Set<string> {
  const used = new Set<string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    // A type alias (the package's closed union of codes, its retired ones) declares codes; it does not use them.
    const text = readFileSync(join(entry.parentPath, entry.name), 'utf8').replace(TYPE_ALIAS, '');
    for (const m of text.matchAll(/'(OBS_ERR_[A-Z_]+)'/g)) used.add(m[1]!);
  }
  return used;
}

/**
 * Registers the error-code convention tests of a package: its section of docs/errors.md lists exactly
 * its codes, and its source uses exactly its codes (plus codes it borrows from other packages), except
 * retired ones, which stay listed (a code is never reused) and must no longer be used.
 */
export function testErrorCodes(
  pkg: string,
  codes: Readonly<Record<string, string>>,
  srcDir: string,
  options: {
    readonly borrowed?: readonly string[];
    readonly prefix?: string;
    readonly retired?: readonly string[];
  } = {},
): void {
  const borrowed = options.borrowed ?? [];
  const prefix = options.prefix;
  if (prefix !== undefined) {
    test(`every code of ${pkg} starts with ${prefix}`, () => {
      expect(Object.keys(codes).filter((c) => !c.startsWith(prefix))).toEqual([]);
    });
  }
  test(`docs/errors.md lists exactly the codes of ${pkg}`, () => {
    expect(documented(pkg).sort()).toEqual(Object.keys(codes).sort());
  });
  test(`the source of ${pkg} uses exactly its codes`, () => {
    const listed = Object.keys(codes);
    const used = usedIn(srcDir);
    expect([...used].filter((c) => !listed.includes(c) && !borrowed.includes(c))).toEqual([]);
    const retired = options.retired ?? [];
    expect(listed.filter((c) => !used.has(c) && !retired.includes(c))).toEqual([]);
    expect(retired.filter((c) => used.has(c))).toEqual([]);
  });
}
