import { describe, expect, test } from 'vitest';
import { anchoredRegex, createSampleStore, instantQuery, PromqlError, parse } from '../src/index.ts';

// Issue #19: a user's regex must never stall the event loop. JavaScript's backtracking engine takes seconds to
// minutes on these; RE2 (re2js) matches in time linear in the input.
const CATASTROPHIC: readonly (readonly [string, string])[] = [
  ['(a+)+$', `${'a'.repeat(40)}!`],
  ['(a|aa)+$', `${'a'.repeat(40)}!`],
  ['API E(.*.*)*Z', `API E${'rror '.repeat(200)}`],
  ['(.*a){12}', 'a'.repeat(40)],
];

describe('regular expressions run in linear time with RE2 semantics (issue #19)', () => {
  test.each(CATASTROPHIC)('a PromQL matcher =~"%s" answers at once', (pattern, value) => {
    const store = createSampleStore();
    store.append({ __name__: 'x', job: value }, 0, 1);
    const started = performance.now();
    const result = instantQuery(store, `x{job=~${JSON.stringify(pattern)}}`, 1000);
    // A bound that only a backtracking engine misses (it takes seconds); not a benchmark.
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(result.value.type).toBe('vector');
  });

  test('RE2 syntax: inline flags, \\z, no backreferences or lookaround', () => {
    expect(anchoredRegex('(?i)API').test('api')).toBe(true);
    expect(anchoredRegex('a\\z').test('a')).toBe(true);
    expect(anchoredRegex('a.b').test('a\nb')).toBe(true); // `.` matches a newline, as Prometheus's (?s)
    for (const bad of ['(a)\\1', 'a(?=b)', 'a(?!b)'])
      expect(() => parse(`x{a=~${JSON.stringify(bad)}}`)).toThrow(PromqlError);
  });
});
