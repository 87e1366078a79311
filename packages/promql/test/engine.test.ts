import { describe, expect, test } from 'vitest';
import { evaluate, evaluateQuery, historyNeeded } from '../src/engine.ts';
import { PromqlError } from '../src/errors.ts';
import { parsePromQL } from '../src/parse.ts';
import { load } from './load.ts';

const m = (n: number): number => n * 60_000;

function query(store: ReturnType<typeof load>, q: string, t: number): Array<[Record<string, string>, number]> | number {
  const v = evaluate(parsePromQL(q).expr, store, t);
  if (v.type === 'scalar') return v.value;
  if (v.type === 'string') throw new Error('string');
  return v.samples
    .map((s): [Record<string, string>, number] => [{ ...s.labels }, s.value])
    .sort((a, b) => JSON.stringify(a[0]).localeCompare(JSON.stringify(b[0])));
}

describe('selectors', () => {
  const store = load(`
    load 1m
      a{job="api"} 1 _ _ _ _ _ _
      a{job="api-server"} 2 2 2 2 2 2 2
      b 1 stale 3
  `);
  test('regex matchers are fully anchored', () => {
    expect(query(store, 'a{job=~"api"}', 0)).toEqual([[{ __name__: 'a', job: 'api' }, 1]]);
    expect(query(store, 'a{job!~"api"}', 0)).toEqual([[{ __name__: 'a', job: 'api-server' }, 2]]);
    expect(query(store, 'a{job!="api"}', 0)).toEqual([[{ __name__: 'a', job: 'api-server' }, 2]]);
  });
  test('the lookback is 5m and left-open', () => {
    expect(query(store, 'a{job="api"}', m(5) - 1)).toEqual([[{ __name__: 'a', job: 'api' }, 1]]);
    expect(query(store, 'a{job="api"}', m(5))).toEqual([]);
  });
  test('a staleness marker ends a series until its next sample', () => {
    expect(query(store, 'b', m(1))).toEqual([]);
    expect(query(store, 'b', m(1) + 30_000)).toEqual([]);
    expect(query(store, 'b', m(2))).toEqual([[{ __name__: 'b' }, 3]]);
    expect(query(store, 'count_over_time(b[5m])', m(3))).toEqual([[{}, 2]]);
  });
  test('offset moves the evaluation time back', () => {
    expect(query(store, 'b offset 2m', m(4))).toEqual([[{ __name__: 'b' }, 3]]);
    expect(query(store, 'b offset 3m', m(4))).toEqual([]);
  });
});

describe('rate and friends', () => {
  const store = load(`
    load 1m
      c 0+60x10
      r 0 10 20 5 15
      g 5 3 8 8 1
  `);
  test('rate extrapolates as Prometheus does', () => {
    expect(query(store, 'rate(c[5m])', m(10))).toEqual([[{}, 1]]);
    expect(query(store, 'increase(c[5m])', m(10))).toEqual([[{}, 300]]);
  });
  test('windows are left-open: the sample at t - range is outside', () => {
    // At 5m the window (0, 5m] holds 60..300: 4 intervals, extrapolated by half an interval at the end only... none here.
    expect(query(store, 'increase(c[5m])', m(5))).toEqual([[{}, 300]]);
    expect(query(store, 'count_over_time(c[5m])', m(5))).toEqual([[{}, 5]]);
  });
  test('counter resets add the value before the reset; extrapolation stops at zero', () => {
    expect(query(store, 'increase(r[5m])', m(4))).toEqual([[{}, 35]]);
    expect(query(store, 'resets(r[5m])', m(4))).toEqual([[{}, 1]]);
    expect(query(store, 'changes(g[5m])', m(4))).toEqual([[{}, 3]]);
  });
  test('delta, irate and idelta', () => {
    // Extrapolated over the 60s gap to the window start, which is under 1.1 × the average interval.
    expect(query(store, 'delta(g[5m])', m(4))).toEqual([[{}, -5]]);
    expect(query(store, 'idelta(g[5m])', m(4))).toEqual([[{}, -7]]);
    expect(query(store, 'irate(r[5m])', m(3))).toEqual([[{}, 5 / 60]]);
    expect(query(store, 'irate(c[5m])', m(3))).toEqual([[{}, 1]]);
  });
  test('*_over_time', () => {
    expect(query(store, 'avg_over_time(g[5m])', m(4))).toEqual([[{}, 5]]);
    expect(query(store, 'min_over_time(g[5m])', m(4))).toEqual([[{}, 1]]);
    expect(query(store, 'max_over_time(g[5m])', m(4))).toEqual([[{}, 8]]);
    expect(query(store, 'sum_over_time(g[5m])', m(4))).toEqual([[{}, 25]]);
    expect(query(store, 'last_over_time(g[5m])', m(4))).toEqual([[{ __name__: 'g' }, 1]]);
    expect(query(store, 'present_over_time(g[5m])', m(4))).toEqual([[{}, 1]]);
  });
  test('absent and absent_over_time take labels from equality matchers', () => {
    expect(query(store, 'absent(nope{job="x", env=~"p.*"})', m(1))).toEqual([[{ job: 'x' }, 1]]);
    expect(query(store, 'absent(g)', m(1))).toEqual([]);
    expect(query(store, 'absent_over_time(nope{job="x"}[1m])', m(1))).toEqual([[{ job: 'x' }, 1]]);
    expect(query(store, 'absent_over_time(g[1m])', m(1))).toEqual([]);
  });
});

describe('operators', () => {
  const store = load(`
    load 1m
      req{job="api", code="200"} 10
      req{job="api", code="500"} 2
      req{job="web", code="200"} 5
      lim{job="api"} 100
      lim{job="web"} 50
      info{job="api", team="core"} 1
  `);
  test('precedence and associativity', () => {
    expect(query(store, '1 + 2 * 3 ^ 2 ^ 2', 0)).toBe(163);
    expect(query(store, '-2 ^ 2', 0)).toBe(-4);
    expect(query(store, '2 - 1 - 1', 0)).toBe(0);
    expect(query(store, '2 * 3 % 4', 0)).toBe(2);
    expect(query(store, '1 < bool 2', 0)).toBe(1);
  });
  test('comparison filters, and bool turns it into 0/1 without the name', () => {
    expect(query(store, 'req > 4', 0)).toEqual([
      [{ __name__: 'req', code: '200', job: 'api' }, 10],
      [{ __name__: 'req', code: '200', job: 'web' }, 5],
    ]);
    expect(query(store, 'req{code="500"} > bool 4', 0)).toEqual([[{ code: '500', job: 'api' }, 0]]);
    expect(query(store, '4 < req{code="500"}', 0)).toEqual([]);
    expect(query(store, '1 < req{code="500"}', 0)).toEqual([[{ __name__: 'req', code: '500', job: 'api' }, 2]]);
  });
  test('on, ignoring, group_left', () => {
    expect(query(store, 'req / on(job) group_left lim', 0)).toEqual([
      [{ code: '200', job: 'api' }, 0.1],
      [{ code: '500', job: 'api' }, 0.02],
      [{ code: '200', job: 'web' }, 0.1],
    ]);
    expect(query(store, 'sum by (job) (req) / ignoring(code) lim', 0)).toEqual([
      [{ job: 'api' }, 0.12],
      [{ job: 'web' }, 0.1],
    ]);
    expect(query(store, 'lim * on(job) group_left(team) info', 0)).toEqual([[{ job: 'api', team: 'core' }, 100]]);
    expect(query(store, 'info * on(job) group_right lim', 0)).toEqual([[{ job: 'api' }, 100]]);
  });
  test('a one-to-one match with duplicates fails as in Prometheus', () => {
    expect(() => query(store, 'req / on(job) lim', 0)).toThrow(
      expect.objectContaining({ code: 'OBS_ERR_PROMQL_EVAL' }) as unknown as Error,
    );
  });
  test('and, or, unless', () => {
    expect(query(store, 'lim and on(job) req{code="500"}', 0)).toEqual([[{ __name__: 'lim', job: 'api' }, 100]]);
    expect(query(store, 'lim unless on(job) req{code="500"}', 0)).toEqual([[{ __name__: 'lim', job: 'web' }, 50]]);
    expect(query(store, 'lim{job="api"} or lim', 0)).toEqual([
      [{ __name__: 'lim', job: 'api' }, 100],
      [{ __name__: 'lim', job: 'web' }, 50],
    ]);
  });
});

describe('aggregations and functions', () => {
  const store = load(`
    load 1m
      v{i="1", g="a"} 1
      v{i="2", g="a"} 4
      v{i="3", g="b"} 9
      v{i="4", g="b"} -2.5
      h_bucket{le="0.1"} 10
      h_bucket{le="0.5"} 30
      h_bucket{le="1"} 40
      h_bucket{le="+Inf"} 40
      t{src="api-7"} 1
  `);
  test('sum, avg, min, max, count with by and without', () => {
    expect(query(store, 'sum by (g) (v)', 0)).toEqual([
      [{ g: 'a' }, 5],
      [{ g: 'b' }, 6.5],
    ]);
    expect(query(store, 'avg without (i) (v)', 0)).toEqual([
      [{ g: 'a' }, 2.5],
      [{ g: 'b' }, 3.25],
    ]);
    expect(query(store, 'min(v)', 0)).toEqual([[{}, -2.5]]);
    expect(query(store, 'max(v) by (g)', 0)).toEqual([
      [{ g: 'a' }, 4],
      [{ g: 'b' }, 9],
    ]);
    expect(query(store, 'count(v)', 0)).toEqual([[{}, 4]]);
  });
  test('topk, bottomk and quantile', () => {
    expect(query(store, 'topk(1, v)', 0)).toEqual([[{ __name__: 'v', g: 'b', i: '3' }, 9]]);
    expect(query(store, 'bottomk by (g) (1, v)', 0)).toEqual([
      [{ __name__: 'v', g: 'a', i: '1' }, 1],
      [{ __name__: 'v', g: 'b', i: '4' }, -2.5],
    ]);
    expect(query(store, 'quantile(0.5, v)', 0)).toEqual([[{}, 2.5]]);
  });
  test('histogram_quantile interpolates within classic buckets', () => {
    expect((query(store, 'histogram_quantile(0.5, h_bucket)', 0) as [object, number][])[0]?.[1]).toBeCloseTo(0.3, 12);
    expect(query(store, 'histogram_quantile(1, h_bucket)', 0)).toEqual([[{}, 1]]);
  });
  test('math, clamp, time, vector, scalar, timestamp', () => {
    expect(query(store, 'abs(v{i="4"})', 0)).toEqual([[{ g: 'b', i: '4' }, 2.5]]);
    expect(query(store, 'round(v{i="4"})', 0)).toEqual([[{ g: 'b', i: '4' }, -2]]);
    expect(query(store, 'ceil(v{i="4"})', 0)).toEqual([[{ g: 'b', i: '4' }, -2]]);
    expect(query(store, 'floor(v{i="4"})', 0)).toEqual([[{ g: 'b', i: '4' }, -3]]);
    expect(query(store, 'clamp(v{g="b"}, 0, 5)', 0)).toEqual([
      [{ g: 'b', i: '3' }, 5],
      [{ g: 'b', i: '4' }, 0],
    ]);
    expect(query(store, 'clamp(v, 5, 0)', 0)).toEqual([]);
    expect(query(store, 'clamp_min(v{i="4"}, 0)', 0)).toEqual([[{ g: 'b', i: '4' }, 0]]);
    expect(query(store, 'clamp_max(v{i="3"}, 3)', 0)).toEqual([[{ g: 'b', i: '3' }, 3]]);
    expect(query(store, 'time()', m(2))).toBe(120);
    expect(query(store, 'vector(time())', m(2))).toEqual([[{}, 120]]);
    expect(query(store, 'scalar(v{i="1"})', 0)).toBe(1);
    expect(query(store, 'scalar(v)', 0)).toBeNaN();
    expect(query(store, 'timestamp(v{i="1"})', m(2))).toEqual([[{ g: 'a', i: '1' }, 0]]);
  });
  test('label_replace expands groups with Go semantics', () => {
    expect(query(store, 'label_replace(t, "n", "$1", "src", "api-(.*)")', 0)).toEqual([
      [{ __name__: 't', n: '7', src: 'api-7' }, 1],
    ]);
    expect(query(store, 'label_replace(t, "n", "$1x", "src", "api-(.*)")', 0)).toEqual([
      [{ __name__: 't', src: 'api-7' }, 1],
    ]);
    const braced = `label_replace(t, "n", "$${'{'}1}x", "src", "(.*)")`;
    expect(query(store, braced, 0)).toEqual([[{ __name__: 't', n: 'api-7x', src: 'api-7' }, 1]]);
  });
});

describe('parser', () => {
  const rejects = (q: string, code: string, line: number, column: number): void => {
    let thrown: unknown;
    try {
      parsePromQL(q);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(PromqlError);
    expect(thrown).toMatchObject({ code });
    expect((thrown as Error).message).toContain(`line ${line}, column ${column}`);
  };
  test('rejects what the engine does not support, naming the construct and its position', () => {
    rejects('info(x) > 0', 'OBS_ERR_PROMQL_UNSUPPORTED', 1, 1);
    rejects('sum(rate(x[5m] smoothed))', 'OBS_ERR_PROMQL_UNSUPPORTED', 1, 10);
    rejects('x[5m] anchored', 'OBS_ERR_PROMQL_UNSUPPORTED', 1, 1);
    expect(() => parsePromQL('info(x)')).toThrow(/info/);
  });
  test('subqueries, @ and the functions of issue 9 parse', () => {
    for (const q of [
      'predict_linear(x[5m], 60) > 0',
      'max_over_time(rate(x[5m])[30m:1m] offset 1m @ end())',
      'x @ 100 + y @ start()',
      'stddev(x) + stdvar(x) + group(x)',
      'count_values("v", x)',
      'limitk(2, x) or limit_ratio(0.5, x)',
      'label_join(x, "d", ",", "a", "b")',
      'sort_by_label(x, "a", "b")',
      'SUM(x)',
      'x atan2 y',
      '2. + 1./6.',
      'min_of(1, 2)',
    ])
      expect(() => parsePromQL(q), q).not.toThrow();
  });
  test('@ and offset may each be set once', () => {
    rejects('x @ 1 @ 2', 'OBS_ERR_PROMQL_PARSE', 1, 1);
    rejects('x offset 1m offset 2m', 'OBS_ERR_PROMQL_PARSE', 1, 1);
  });
  test('rejects syntax and type errors with their position', () => {
    rejects('rate(x[5m]\n  > 1', 'OBS_ERR_PROMQL_PARSE', 2, 6);
    rejects('rate(x)', 'OBS_ERR_PROMQL_PARSE', 1, 6);
    rejects('1 > 2', 'OBS_ERR_PROMQL_PARSE', 1, 3);
    rejects('{job=~".*"}', 'OBS_ERR_PROMQL_PARSE', 1, 1);
    rejects('x and 1', 'OBS_ERR_PROMQL_PARSE', 1, 3);
    rejects('x + 1 bool', 'OBS_ERR_PROMQL_PARSE', 1, 7);
  });
});

describe('regular expressions and label names as RE2 and Go see them', () => {
  const store = load(`
    load 1m
      x{group="production"} 1
      x{group="canary"} 2
  `);
  test("RE2's inline flags work on Node 20", () => {
    expect(query(store, 'x{group=~"(?i:PRO).*"}', 0)).toEqual([[{ __name__: 'x', group: 'production' }, 1]]);
    expect(query(store, 'x{group=~".*((?i)ANAR)y"}', 0)).toEqual([[{ __name__: 'x', group: 'canary' }, 2]]);
    expect(query(store, 'x{group=~"(?i)[C]ANARY"}', 0)).toEqual([[{ __name__: 'x', group: 'canary' }, 2]]);
    expect(query(store, 'x{group=~"PRO.*"}', 0)).toEqual([]);
  });
  test('a label name that is not valid UTF-8 is refused, and printed as Go prints it', () => {
    expect(() => query(store, 'count_values("a\\xc5z", x)', 0)).toThrow('invalid label name "a\\xc5z"');
    expect(query(store, 'count_values("\\xc3\\xa9", x)', 0)).toEqual([
      [{ é: '1' }, 1],
      [{ é: '2' }, 1],
    ]);
  });
});

describe('offset binds to the selector before it', () => {
  const store = load(`
    load 1m
      a 1 2 3 4
      b 10 20 30 40
  `);
  test('a + b offset 1m offsets only b', () => {
    expect(query(store, 'a + b offset 1m', m(3))).toEqual([[{}, 34]]);
    expect(query(store, 'a unless b offset 10m', m(3))).toEqual([[{ __name__: 'a' }, 4]]);
    expect(query(store, '-b offset 1m', m(3))).toEqual([[{}, -30]]);
  });
});

describe('parentheses around a range selector', () => {
  const store = load(`
    load 1m
      c 0+60x10
  `);
  test('are accepted as in Prometheus', () => {
    expect(query(store, 'rate((c[5m]))', m(10))).toEqual([[{}, 1]]);
    expect(query(store, 'absent_over_time((nope{a="b"}[5m]))', m(10))).toEqual([[{ a: 'b' }, 1]]);
  });
});

describe('subqueries, @ and range queries', () => {
  const store = load(`
    load 1m
      c 0+10x20
      g{a="1"} 5 3 8 8 1 4
  `);
  test('a subquery evaluates its expression at every step inside its window', () => {
    // rate(c[2m]) is 1/6 at every step; max_over_time over 5 steps of 1m keeps it.
    expect(query(store, 'max_over_time(rate(c[2m])[5m:1m])', m(10))).toEqual([[{}, 1 / 6]]);
    expect(query(store, 'count_over_time(c[5m:1m])', m(10))).toEqual([[{}, 5]]);
    expect(query(store, 'count_over_time(c[5m:])', m(10))).toEqual([[{}, 5]]);
    expect(query(store, 'min_over_time(g[10m:2m])', m(5))).toEqual([[{ a: '1' }, 1]]);
  });
  test('@ pins a selector to a time, or to the query start or end', () => {
    expect(query(store, 'c @ 120', m(10))).toEqual([[{ __name__: 'c' }, 20]]);
    expect(query(store, 'c @ 120 offset 1m', m(10))).toEqual([[{ __name__: 'c' }, 10]]);
    const r = evaluateQuery(parsePromQL('c @ start()').expr, store, { startMs: m(1), endMs: m(3), stepMs: m(1) });
    expect(r.value).toEqual({
      type: 'matrix',
      series: [{ labels: { __name__: 'c' }, t: [m(1), m(2), m(3)], v: [10, 10, 10] }],
    });
  });
  test('a range query evaluates at every step; names removed at the end may merge series', () => {
    const r = evaluateQuery(parsePromQL('-g or vector(0)').expr, store, { startMs: m(4), endMs: m(6), stepMs: m(1) });
    expect(r.value).toEqual({
      type: 'matrix',
      series: [
        { labels: {}, t: [m(4), m(5), m(6)], v: [0, 0, 0] },
        { labels: { a: '1' }, t: [m(4), m(5), m(6)], v: [-1, -4, -4] },
      ],
    });
  });
  test('annotations: a rate over a gauge name is an info note, with its position', () => {
    const r = evaluateQuery(parsePromQL('rate(g[5m])').expr, store, { startMs: m(5) });
    expect(r.annotations).toEqual([
      { level: 'info', message: expect.stringContaining('metric might not be a counter') as unknown as string, at: 5 },
    ]);
  });
  test('historyNeeded counts a subquery window on top of what its expression reads', () => {
    expect(historyNeeded(parsePromQL('max_over_time(rate(c[2m])[30m:1m] offset 5m)').expr)).toBe(37 * 60_000);
  });
});
