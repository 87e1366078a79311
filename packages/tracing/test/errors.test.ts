import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ObsConfigError, ObsError } from '@obs/core';
import { describe, expect, test } from 'vitest';
import { traceApiCall, tracingErrorCodes, tracingPlugin, withSpan } from '../src/index.ts';

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

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('error codes', () => {
  test('docs/errors.md and the code list agree, both ways', () => {
    expect(documentedCodes('@obs/tracing').sort()).toEqual(Object.keys(tracingErrorCodes).sort());
  });

  test('the source uses exactly the listed codes', () => {
    const listed = Object.keys(tracingErrorCodes);
    const used = codesUsedInSource(join(root, 'src'));
    expect([...used].filter((c) => !listed.includes(c))).toEqual([]);
    expect(listed.filter((c) => !used.has(c))).toEqual([]);
  });

  test('every code is namespaced to tracing', () => {
    for (const code of Object.keys(tracingErrorCodes)) expect(code).toMatch(/^OBS_ERR_TRACING_[A-Z_]+$/);
  });
});

describe('misuse throws early, with a code', () => {
  test('bad plugin options throw ObsConfigError listing each one', () => {
    const err = thrown(() =>
      tracingPlugin({
        spanExporter: {} as never,
        serviceVersion: '',
        resourceAttributes: { ok: 'yes', bad: { nested: true } as never },
      }),
    );
    expect(err).toBeInstanceOf(ObsConfigError);
    expect((err as ObsConfigError).code).toBe('OBS_ERR_CONFIG_INVALID');
    expect((err as ObsConfigError).issues.map((i) => i.path).sort()).toEqual([
      'resourceAttributes.bad',
      'serviceVersion',
      'spanExporter',
    ]);
  });

  test('withSpan and traceApiCall reject a missing function or an empty name synchronously', () => {
    for (const run of [
      () => withSpan('', undefined, () => 1),
      () => withSpan('x', undefined, undefined as never),
      () => traceApiCall({}, '', async () => 1),
      () => traceApiCall({}, 'watched_movies', undefined as never),
    ]) {
      const err = thrown(run);
      expect(err).toBeInstanceOf(ObsError);
      expect((err as ObsError).code).toBe('OBS_ERR_TRACING_USAGE');
    }
  });
});
