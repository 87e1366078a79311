import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { coreErrorCodes, ObsConfigError, ObsError } from '../src/index.ts';

const root = join(import.meta.dirname, '..');

function documentedCodes(pkg: string): string[] {
  const doc = readFileSync(join(root, '../../docs/errors.md'), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith(`${pkg}\n`)) ?? '';
  return [...section.matchAll(/^\|\s*`(OBS_ERR_[A-Z_]+)`\s*\|/gm)].map((m) => m[1]!);
}

function codesUsedInSource(dir: string): Set<string> {
  const used = new Set<string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), 'utf8');
    for (const m of text.matchAll(/'(OBS_ERR_[A-Z_]+)'/g)) used.add(m[1]!);
  }
  return used;
}

describe('error codes', () => {
  test('docs/errors.md and the code list agree, both ways', () => {
    expect(documentedCodes('@obs/core').sort()).toEqual(Object.keys(coreErrorCodes).sort());
  });

  test('the source uses exactly the listed codes', () => {
    const listed = Object.keys(coreErrorCodes);
    const used = codesUsedInSource(join(root, 'src'));
    expect([...used].filter((c) => !listed.includes(c))).toEqual([]);
    expect(listed.filter((c) => !used.has(c))).toEqual([]);
  });

  test('ObsError carries its code and cause; ObsConfigError lists every issue', () => {
    const cause = new Error('low level');
    const error = new ObsError('OBS_ERR_PLUGIN_START', '[@obs/core] x', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ObsError');
    expect(error.cause).toBe(cause);
    const config = new ObsConfigError('@obs/health', [
      { path: 'port', message: 'must be an integer' },
      { path: 'checks.db', message: 'must be a function', file: 'a.toml', line: 3, column: 1 },
    ]);
    expect(config).toBeInstanceOf(ObsError);
    expect(config.code).toBe('OBS_ERR_CONFIG_INVALID');
    expect(config.issues).toHaveLength(2);
    expect(config.message).toBe(
      '[@obs/health] invalid configuration (2 problems):\n  - port: must be an integer\n  - a.toml:3:1: checks.db: must be a function',
    );
  });
});
