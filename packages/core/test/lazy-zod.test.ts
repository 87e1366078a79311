// #22: `z` records the schemas built before zod is loaded and replays them on the real zod.
import { describe, expect, test } from 'vitest';
import { z as zod } from 'zod';
import { z } from '../src/index.ts';
import { loadZod } from '../src/internal/lazy-zod.ts';

describe('the z that core exports', () => {
  test('is not loaded by importing @obs/core', async () => {
    const { execFileSync } = await import('node:child_process');
    const code = `import('@obs/core').then(() => { const m = require('node:module'); process.stdout.write(String(Object.keys(require.cache).some((k) => k.includes('/zod/')))); })`;
    const out = execFileSync(process.execPath, ['--conditions=@obs/source', '--import', 'tsx', '-e', code], {
      cwd: new URL('..', import.meta.url),
      encoding: 'utf8',
    });
    expect(out).toBe('false');
  });

  test('a schema read before zod is loaded (safeParse at import) loads it and answers', () => {
    const value = z.string().min(1);
    expect(value.safeParse('').success).toBe(false);
    expect(value.safeParse('x').success).toBe(true);
  });
  test('schemas built before and after loading validate as zod validates them', () => {
    const labels = z.array(z.string().refine((s) => s.length < 4, { message: 'too long' }));
    const section = z.strictObject({
      enabled: z.boolean().default(true),
      port: z.number().int().min(0).max(65_535).default(8081),
      mode: z.enum(['a', 'b']).default('a'),
      labels: labels.default([]),
      nested: z.strictObject({ x: z.string().optional() }).prefault({}),
      either: z.union([z.literal('x'), z.number()]).optional(),
      pairs: z.record(z.string(), z.string()).default({}),
    });
    const same = zod.strictObject({
      enabled: zod.boolean().default(true),
      port: zod.number().int().min(0).max(65_535).default(8081),
      mode: zod.enum(['a', 'b']).default('a'),
      labels: zod.array(zod.string().refine((s) => s.length < 4, { message: 'too long' })).default([]),
      nested: zod.strictObject({ x: zod.string().optional() }).prefault({}),
      either: zod.union([zod.literal('x'), zod.number()]).optional(),
      pairs: zod.record(zod.string(), zod.string()).default({}),
    });
    for (const input of [
      {},
      { port: 70_000, mode: 'c', labels: ['abcd'], extra: 1 },
      { either: 'x', pairs: { a: 'b' } },
    ]) {
      const ours = section.safeParse(input);
      const theirs = same.safeParse(input);
      expect(ours.success).toBe(theirs.success);
      if (ours.success && theirs.success) expect(ours.data).toEqual(theirs.data);
      else expect(ours.error?.issues).toEqual(theirs.error?.issues);
    }
    expect(Object.keys(section.shape)).toEqual(Object.keys(same.shape));
    expect(section._zod.def.type).toBe('object');
    loadZod();
    const after = z.string().min(2);
    expect(after.safeParse('a').success).toBe(false);
    expect(z.object({ s: section }).safeParse({ s: {} }).success).toBe(true);
  });
});
