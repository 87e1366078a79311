// Issue #15: differential fuzzing against the real engine. Random expressions over a synthetic data set, each
// evaluated by our engine and by Debian's promtool 2.42; any disagreement fails, printed as a one-line repro
// (seed, evaluation time, the shrunk expression, both answers). `pnpm fuzz -- --seeds 100` runs more seeds.
import { debianTool } from '@obs/testing';
import { describe, expect, test } from 'vitest';
import type { SampleSource } from '../src/engine.ts';
import { agree, fuzz, ours, reproLine } from './fuzz/differential.ts';
import { createRandom, dataset, expression, render, shrinkCandidates } from './fuzz/generate.ts';

const promtool = debianTool('promtool');
// A fixed seed list: 10 seeds × 1,000 expressions = 10,000 per run (about 8 s).
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const COUNT = 1000;

describe('differential fuzzing against promtool 2.42', () => {
  test.skipIf(promtool === undefined)(
    `${SEEDS.length * COUNT} random expressions give promtool's answers (seeds ${SEEDS.join(', ')})`,
    () => {
      const report = fuzz(promtool!, SEEDS, COUNT);
      console.log(
        `[fuzz] ${report.expressions} expressions, ${report.errors} rejected by both engines, ${report.disagreements.length} disagreements`,
      );
      expect(report.expressions).toBeGreaterThanOrEqual(2000);
      expect(report.disagreements.map(reproLine)).toEqual([]);
    },
    120_000,
  );
});

describe('the fuzzer itself', () => {
  test('is deterministic per seed, and its data set is valid series notation', () => {
    const a = Array.from(
      { length: 20 },
      (
        (r) => () =>
          render(expression(r))
      )(createRandom(7)),
    );
    const b = Array.from(
      { length: 20 },
      (
        (r) => () =>
          render(expression(r))
      )(createRandom(7)),
    );
    expect(a).toEqual(b);
    expect(dataset(3)).toEqual(dataset(3));
    expect(dataset(3).length).toBe(4 + 3 + 2 + 2);
  });
  test('shrink candidates are smaller and keep fixed positions', () => {
    const r = createRandom(11);
    for (let i = 0; i < 50; i++) {
      const e = expression(r);
      for (const c of shrinkCandidates(e)) expect(render(c).length).toBeLessThan(render(e).length);
    }
  });
  test('answers agree up to rounding, NaN equals NaN, errors agree with errors', () => {
    const s = (value: number) => ({ kind: 'samples' as const, samples: [{ labels: { a: '1' }, value }] });
    expect(agree(s(1), s(1 + 1e-12))).toBe(true);
    expect(agree(s(Number.NaN), s(Number.NaN))).toBe(true);
    expect(agree(s(1), s(1.001))).toBe(false);
    expect(agree({ kind: 'error', message: 'x' }, { kind: 'error', message: 'y' })).toBe(true);
    expect(agree({ kind: 'error', message: 'x' }, s(1))).toBe(false);
    expect(ours(createStoreOf(), '1 + on(a) 2', 0).kind).toBe('error');
  });
});

function createStoreOf(): SampleSource {
  return { select: () => [] };
}
