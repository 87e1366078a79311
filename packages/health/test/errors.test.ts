import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ObsError } from '@obs/core';
import { describe, expect, test } from 'vitest';
import { createHealthChecker, healthErrorCodes } from '../src/index.ts';

const root = join(import.meta.dirname, '..');

function documentedCodes(pkg: string): string[] {
  const doc = readFileSync(join(root, '../../docs/errors.md'), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith(`${pkg}\n`)) ?? '';
  return [...section.matchAll(/^\|\s*`(OBS_ERR_[A-Z_]+)`\s*\|/gm)].map((m) => m[1]!);
}

function codesUsedInSource(dir: string): Set<string> {
  const used = new Set<string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name === 'errors.ts') continue;
    const text = readFileSync(join(entry.parentPath, entry.name), 'utf8');
    for (const m of text.matchAll(/'(OBS_ERR_[A-Z_]+)'/g)) used.add(m[1]!);
  }
  return used;
}

describe('error codes', () => {
  test('docs/errors.md and the code list agree, both ways', () => {
    expect(documentedCodes('@obs/health').sort()).toEqual(Object.keys(healthErrorCodes).sort());
  });

  test('the source uses exactly the listed codes, all of them OBS_ERR_HEALTH_*', () => {
    const listed = Object.keys(healthErrorCodes);
    const used = codesUsedInSource(join(root, 'src'));
    expect([...used].filter((c) => !listed.includes(c))).toEqual([]);
    expect(listed.filter((c) => !used.has(c))).toEqual([]);
    expect(listed.every((c) => c.startsWith('OBS_ERR_HEALTH_'))).toBe(true);
  });

  test('thrown errors are ObsErrors with a code and an [@obs/health] message', () => {
    try {
      createHealthChecker().register({ name: '', check: () => ({ status: 'healthy' }) });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ObsError);
      expect((err as ObsError).code).toBe('OBS_ERR_HEALTH_CHECK_INVALID');
      expect((err as ObsError).message.startsWith('[@obs/health]')).toBe(true);
    }
  });
});
