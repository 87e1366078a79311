// Issue #15: answers equal to Prometheus's. One regression test per class the differential fuzzer found,
// each named after the Prometheus behaviour it pins (promtool 2.42's answer is the expected one).
import { describe, expect, test } from 'vitest';
import { type EvaluateOptions, evaluate } from '../src/engine.ts';
import { PromqlError } from '../src/errors.ts';
import { formatExpr } from '../src/format.ts';
import { parsePromQL } from '../src/parse.ts';
import { parseSeriesDesc } from '../src/series-notation.ts';
import { load } from './load.ts';

const m = (n: number): number => n * 60_000;

function query(
  store: ReturnType<typeof load>,
  q: string,
  t: number,
  options?: EvaluateOptions,
): Array<[Record<string, string>, number]> | number {
  const v = evaluate(parsePromQL(q).expr, store, t, options);
  if (v.type === 'scalar') return v.value;
  if (v.type === 'string') throw new Error('string');
  return v.samples
    .map((s): [Record<string, string>, number] => [{ ...s.labels }, s.value])
    .sort((a, b) => JSON.stringify(a[0]).localeCompare(JSON.stringify(b[0])));
}

const store = load(`
  load 1m
    x{a="1"} 0+1x10
    a_sum{job="j"} 0+2x10
    a_count{job="j"} 0+1x10
`);

describe('issue 15: offset binds tighter than any binary operator', () => {
  test('3 - x offset 3m * 2 is 3 - ((x offset 3m) * 2)', () => {
    expect(query(store, '3 - x offset 3m * 2', m(5))).toEqual([[{ a: '1' }, 3 - 2 * 2]]);
    expect(formatExpr(parsePromQL('3 - x offset 3m * 2').expr)).toBe('3 - x offset 3m * 2');
    const e = parsePromQL('3 - x offset 3m * 2').expr;
    expect(e.kind === 'binary' && e.op).toBe('-');
  });
  test('-x offset 3m ^ 2 is -((x offset 3m) ^ 2); -2 ^ 2 is -(2 ^ 2)', () => {
    expect(query(store, '-x offset 3m ^ 2', m(5))).toEqual([[{ a: '1' }, -4]]);
    expect(query(store, '-2 ^ 2', 0)).toBe(-4);
    expect(query(store, '2 ^ -x offset 1m ^ 2', m(3))).toEqual([[{ a: '1' }, 2 ** -4]]);
  });
  test('@ and subqueries bind to the operand just before them too', () => {
    expect(query(store, 'x * x @ 120 + 1', m(5))).toEqual([[{ a: '1' }, 5 * 2 + 1]]);
    expect(() => parsePromQL('x + x[5m:] offset 1m')).toThrow(PromqlError);
    expect(query(store, 'max_over_time(x offset 1m[3m:1m])', m(5))).toEqual([[{ a: '1' }, 4]]);
  });
});

describe('issue 15: absent() labels as Prometheus builds them', () => {
  test('absent(x{status!="500", status="nope"}) is {status="nope"} 1', () => {
    expect(query(store, 'absent(x{status!="500", status="nope"})', m(5))).toEqual([[{ status: 'nope' }, 1]]);
  });
  test('a matcher label="" adds no empty label; a second equality matcher of a name removes it', () => {
    expect(query(store, 'absent(x{a="", b="2"})', m(5))).toEqual([[{ b: '2' }, 1]]);
    expect(query(store, 'absent(x{b="1", b="2", c="3"})', m(5))).toEqual([[{ c: '3' }, 1]]);
    expect(query(store, 'absent_over_time(nope{a="", b="2"}[5m])', m(5))).toEqual([[{ b: '2' }, 1]]);
  });
});

describe('issue 15: timestamp() gives the sample time only for a plain selector', () => {
  const gappy = load(`
    load 1m
      g{a="1"} 1 _ _
  `);
  test('timestamp(x) is the sample time; through or, and, sort, label_replace, topk it is the evaluation time', () => {
    expect(query(gappy, 'timestamp(g)', m(2))).toEqual([[{ a: '1' }, 0]]);
    expect(query(gappy, 'timestamp((g))', m(2))).toEqual([[{ a: '1' }, 0]]);
    for (const q of [
      'g or g',
      'g and g',
      'g unless nope',
      'sort(g)',
      'label_replace(g, "b", "c", "", "")',
      'topk(1, g)',
    ])
      expect(query(gappy, `timestamp(${q})`, m(2)), q).toEqual([[expect.any(Object), 120]]);
  });
});

describe('issue 15: count_values writes values as strconv.FormatFloat(v, f, -1, 64)', () => {
  test('the value label is set before grouping: without (label) removes it again', () => {
    const two = load(`
      load 1m
        y{i="0",k="a"} 1
        y{i="1",k="b"} 2
    `);
    expect(query(two, 'count_values without (i, k) ("k", y)', 0)).toEqual([[{}, 2]]);
    expect(query(two, 'count_values by (i) ("k", y)', 0)).toEqual([
      [{ i: '0', k: '1' }, 1],
      [{ i: '1', k: '2' }, 1],
    ]);
  });
  test('1e21 is "1000000000000000000000", -0 is "-0", 1e-7 is "0.0000001"', () => {
    expect(query(store, 'count_values("v", vector(1e21))', 0)).toEqual([[{ v: '1000000000000000000000' }, 1]]);
    expect(query(store, 'count_values("v", vector(-0))', 0)).toEqual([[{ v: '-0' }, 1]]);
    expect(query(store, 'count_values("v", vector(1e-7))', 0)).toEqual([[{ v: '0.0000001' }, 1]]);
    expect(query(store, 'count_values("v", vector(0.5))', 0)).toEqual([[{ v: '0.5' }, 1]]);
  });
});

describe('issue 15: an empty on() or ignoring() with a scalar operand is accepted and ignored', () => {
  test('1 + on() 2 and x ^ ignoring() 0.25; a non-empty list is still an error', () => {
    expect(query(store, '1 + on() 2', 0)).toBe(3);
    expect(query(store, 'x ^ ignoring() 0.5', m(4))).toEqual([[{ a: '1' }, 2]]);
    expect(formatExpr(parsePromQL('1 + on() 2').expr)).toBe('1 + 2');
    expect(() => parsePromQL('1 + on(a) 2')).toThrow(/vector matching only allowed between instant vectors/);
  });
});

describe('issue 15: name removal is immediate, as in a Prometheus server; delayed removal is an option', () => {
  const q = 'sum(rate({__name__=~"a_(sum|count)"}[4m]))';
  test('two series left with the same labels fail the query', () => {
    let thrown: unknown;
    try {
      query(store, q, m(4));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(PromqlError);
    expect(thrown).toMatchObject({ code: 'OBS_ERR_PROMQL_EVAL' });
    expect((thrown as Error).message).toContain('vector cannot contain metrics with the same labelset');
  });
  test('with delayedNameRemoval the same query is a number, and label_replace can read the name', () => {
    expect(query(store, q, m(4), { delayedNameRemoval: true })).toEqual([[{}, expect.closeTo(3 / 60, 12)]]);
    const relabel = 'label_replace(rate(a_sum[4m]), "n", "$1", "__name__", "(.*)")';
    expect(query(store, relabel, m(4), { delayedNameRemoval: true })).toEqual([
      [{ job: 'j', n: 'a_sum' }, expect.closeTo(2 / 60, 12)],
    ]);
    expect(query(store, relabel, m(4))).toEqual([[{ job: 'j' }, expect.closeTo(2 / 60, 12)]]);
  });
});

describe("issue 15: series notation expands a+bxn by repeated addition, as promtool's does", () => {
  test('0+0.1x8 is 0.7 at step 7 (not 0.7000000000000001) and never decreases', () => {
    const { values } = parseSeriesDesc('x 0+0.1x8');
    let v = 0;
    const expected = [0];
    for (let i = 1; i <= 8; i++) {
      v += 0.1;
      expected.push(v);
    }
    expect(values).toEqual(expected);
    expect(values[7]).toBe(0.7);
    const points = values as number[];
    expect(points.every((p, i) => i === 0 || p > points[i - 1]!)).toBe(true);
  });
});

describe('issue 15: subqueryStepMs is the step of a subquery that names none', () => {
  test('x[4m:] evaluates at multiples of subqueryStepMs', () => {
    expect(query(store, 'count_over_time(x[4m:])', m(4))).toEqual([[{ a: '1' }, 4]]);
    expect(query(store, 'count_over_time(x[4m:])', m(4), { subqueryStepMs: 120_000 })).toEqual([[{ a: '1' }, 2]]);
  });
});
