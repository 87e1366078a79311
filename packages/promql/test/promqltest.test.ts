import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promqlTestdata } from '@obs/testing';
import { describe, expect, test } from 'vitest';
import { main } from '../src/cli.ts';
import { PromqlError } from '../src/errors.ts';
import { parsePromQL } from '../src/parse.ts';
import { atVariants } from '../src/promqltest/at-variants.ts';
import { formatReport, totals } from '../src/promqltest/report.ts';
import { almostEqual, type EvalOutcome, runScript, runScriptFile, scriptFiles } from '../src/promqltest/run.ts';
import { parseScript } from '../src/promqltest/script.ts';

// Prometheus' own engine test scripts: $OBS_PROMQL_TESTDATA (a checkout's promql/promqltest/testdata), else
// ../shared/promql-testdata beside the repository; a machine without them skips that suite and says so.
const testdata = promqlTestdata() ?? '(no promql testdata)';
const haveTestdata = testdata !== '(no promql testdata)';

function outcomes(script: string): EvalOutcome[] {
  return [...runScript('inline.test', script).outcomes];
}
const statuses = (script: string): string[] => outcomes(script).map((o) => o.status);

function cli(args: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = main(
    args,
    (s) => {
      out += s;
    },
    (s) => {
      err += s;
    },
  );
  return { code, out, err };
}

function scriptFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'obs-promqltest-'));
  const file = join(dir, 'case.test');
  writeFileSync(file, text);
  return file;
}

describe("Prometheus' engine test scripts", () => {
  test.skipIf(!haveTestdata)(
    `every evaluation in ${testdata} passes, native histograms included, and none is skipped`,
    () => {
      const results = scriptFiles([testdata]).map(runScriptFile);
      expect(results.map((r) => r.file.split('/').pop())).toEqual(
        expect.arrayContaining([
          'aggregators.test',
          'at_modifier.test',
          'collision.test',
          'functions.test',
          'histograms.test',
          'limit.test',
          'literals.test',
          'name_label_dropping.test',
          'operators.test',
          'range_queries.test',
          'selectors.test',
          'staleness.test',
          'subquery.test',
          'trig_functions.test',
        ]),
      );
      const failures = results.flatMap((r) =>
        r.outcomes.filter((o) => o.status === 'failed').map((o) => `${r.file}:${o.line}: ${o.expr}`),
      );
      expect(failures).toEqual([]);
      const all = totals(results.flatMap((r) => r.outcomes));
      expect(all.skipped).toBe(0);
      // Prometheus d15adb9ad7's scripts: 1,281 evaluations, 335 of them with native histograms (issue #18).
      expect(all.passed).toBeGreaterThanOrEqual(1281);
    },
  );
});

describe('the script format', () => {
  test('load, eval instant and scalar, string and {} results', () => {
    expect(
      statuses(`
load 1m
  a{job="x"} 1+1x5
  b 0 _ stale 4

eval instant at 2m a
  a{job="x"} 3

eval instant at 2m sum(a)
  {} 3

eval instant at 1m 1 + 1
  2

eval instant at 0 "hi"
  expect string "hi"

eval instant at 2m b
`),
    ).toEqual(['passed', 'passed', 'passed', 'passed', 'passed']);
  });

  test('eval range compares every step, `_` being no point', () => {
    expect(
      statuses(`
load 1m
  b 0 _ stale 4

eval range from 0 to 3m step 1m b
  b 0 0 _ 4

eval range from 0 to 3m step 1m b
  b 0 0 0 4
`),
    ).toEqual(['passed', 'failed']);
  });

  test('floats compare with a small relative tolerance, and NaN equals NaN', () => {
    expect(almostEqual(1, 1 + 1e-9)).toBe(true);
    expect(almostEqual(1, 1.001)).toBe(false);
    expect(almostEqual(Number.NaN, Number.NaN)).toBe(true);
    expect(almostEqual(0, 1e-300)).toBe(false);
    expect(statuses('eval instant at 0 0 / 0\n  NaN\n\neval instant at 0 1/3\n  0.3333333333\n')).toEqual([
      'passed',
      'passed',
    ]);
  });

  test('expect fail, with msg: and regex:, and the deprecated eval_fail', () => {
    const script = `
load 1m
  dup{a="1"} 1
  dup{a="2"} 2
  one 1

eval instant at 0 one + on() dup
  expect fail

eval instant at 0 label_replace(dup, "a", "x", "a", ".*")
  expect fail msg:vector cannot contain metrics with the same labelset

eval instant at 0 label_replace(dup, "a", "x", "a", ".*")
  expect fail regex:same label(set)?

eval_fail instant at 0 one + on() dup

eval instant at 0 one
  expect fail

eval instant at 0 label_replace(dup, "a", "x", "a", ".*")
  expect fail msg:something else
`;
    expect(statuses(script)).toEqual(['passed', 'passed', 'passed', 'passed', 'failed', 'failed']);
  });

  test('warn, info, no_warn and no_info compare the annotations and their text', () => {
    const script = `
load 1m
  gauge 1+1x10

eval instant at 5m rate(gauge[5m])
  expect info msg: PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "gauge" (1:6)
  {} 0.016666666666666666

eval instant at 5m rate(gauge[5m])
  expect no_info
  {} 0.016666666666666666

eval instant at 5m quantile(2, gauge)
  expect warn regex: quantile value should be between 0 and 1, got 2
  {} +Inf

eval instant at 5m gauge
  expect no_warn
  gauge 6

eval_warn instant at 5m gauge
  gauge 6
`;
    expect(statuses(script)).toEqual(['passed', 'failed', 'passed', 'passed', 'failed']);
  });

  test('expect ordered checks the position of each series', () => {
    const script = `
load 1m
  x{i="1"} 2
  x{i="2"} 1

eval instant at 0 sort(x)
  expect ordered
  x{i="2"} 1
  x{i="1"} 2

eval_ordered instant at 0 sort(x)
  x{i="1"} 2
  x{i="2"} 1
`;
    expect(statuses(script)).toEqual(['passed', 'failed']);
  });

  test('native histograms are loaded and compared; only what is outside the engine is skipped', () => {
    const result = outcomes(`
load 1m
  h {{schema:0 sum:1 count:1}}x3
  f 1

eval instant at 1m h
  h {{schema:0 sum:1 count:1}}

eval instant at 1m count(h)
  {} 1

eval instant at 1m h
  h {{schema:0 sum:2 count:1}}

eval instant at 1m f[1m] smoothed
  f 1

clear

eval instant at 1m h
`);
    expect(result.map((o) => (o.status === 'skipped' ? o.category : o.status))).toEqual([
      'passed',
      'passed',
      'failed',
      'outside the engine',
      'passed',
    ]);
  });

  test('load_with_nhcb makes a native histogram of the classic buckets too', () => {
    const result = outcomes(`
load_with_nhcb 1m
  req_bucket{le="1"} 1+1x3
  req_bucket{le="+Inf"} 2+2x3

eval instant at 3m histogram_quantile(0.5, req_bucket)
  {} 1

eval instant at 3m histogram_quantile(0.5, req)
  {} 1

eval instant at 3m req
  req {{schema:-53 count:8 custom_values:[1] buckets:[4 4]}}
`);
    expect(result.map((o) => (o.status === 'skipped' ? o.category : o.status))).toEqual(['passed', 'passed', 'passed']);
  });

  test('a malformed script is an error naming file and line', () => {
    const bad = (text: string, line: number): void => {
      let thrown: unknown;
      try {
        parseScript('bad.test', text);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(PromqlError);
      expect(thrown).toMatchObject({ code: 'OBS_ERR_PROMQL_TEST_SCRIPT' });
      expect((thrown as Error).message).toContain(`bad.test:${line}:`);
    };
    bad('load 1m\n  a 1\n\nfrobnicate\n', 4);
    bad('load forever\n  a 1\n', 1);
    bad('eval instant at 0 a\n  expect maybe\n', 2);
    bad('eval instant at 0 a\n  a 1 2 3\n', 2);
    bad('eval instant at 0 a\n  expect warn\n  expect no_warn\n', 1);
  });
});

describe("the checks Prometheus' runner adds to an instant evaluation", () => {
  test('@ variants pin every selector outside a pinned subquery, and skip time-dependent functions', () => {
    const v = atVariants(parsePromQL('rate(a[5m]) + b + max_over_time(c[5m:] @ 10) - d offset 1m').expr, 60_000);
    expect(v?.times).toEqual([-600_000, 0, 12_000, 60_000, 600_000]);
    const text = JSON.stringify(v?.expr);
    expect(text.match(/"at":60000/g)).toHaveLength(3);
    expect(text.match(/"at":10000/g)).toHaveLength(1);
    expect(atVariants(parsePromQL('a').expr, 0)?.times).toEqual([-1000, 0, 1000]);
    expect(atVariants(parsePromQL('timestamp(a)').expr, 60_000)).toBeUndefined();
    expect(atVariants(parsePromQL('sum(a) * time()').expr, 60_000)).toBeUndefined();
  });
  test('the answer must hold at the middle step of a range query and at the pinned times', () => {
    expect(
      statuses(`
load 1m
  a 1 2 3 4 5

eval instant at 2m a
  a 3

eval instant at 2m a - a offset 1m
  {} 1

eval instant at 2m time()
  120
`),
    ).toEqual(['passed', 'passed', 'passed']);
  });
});

describe('obs-promql promqltest', () => {
  test('prints counts per file and in total, and exits 0 when nothing failed', () => {
    const a = scriptFile('load 1m\n  a 1\n\neval instant at 0 a\n  a 1\n');
    const b = scriptFile('eval instant at 0 {{\n');
    const good = cli(['promqltest', a]);
    expect(good.code).toBe(0);
    expect(good.out).toContain(`${a}: 1 run, 1 passed, 0 failed, 0 skipped`);
    const bad = cli(['promqltest', a, b]);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('total: 2 run, 1 passed, 1 failed, 0 skipped');
  });

  test('--verbose shows each failure with the query, the expected and the actual result', () => {
    const file = scriptFile('load 1m\n  a 1\n\neval instant at 0 a * 2\n  {} 3\n');
    const { code, out } = cli(['promqltest', '--verbose', file]);
    expect(code).toBe(1);
    expect(out).toContain(`FAILED ${file}:4: a * 2`);
    expect(out).toMatch(/expected:\n {4}\{\} 3\n {2}actual:\n {4}\{\} 2/);
  });

  test('bad input is one line per problem and exit code 2', () => {
    const malformed = scriptFile('load 1m\n  a 1\n\nfrobnicate\n');
    const { code, err } = cli(['promqltest', malformed, '/nonexistent/x.test']);
    expect(code).toBe(2);
    expect(err.trim().split('\n')).toEqual(['[@obs/promql] /nonexistent/x.test: no such file or folder']);
    const second = cli(['promqltest', malformed]);
    expect(second.code).toBe(2);
    expect(second.err).toBe(`[@obs/promql] ${malformed}:4: invalid command "frobnicate"\n`);
    expect(second.err).not.toContain('    at ');
    expect(cli(['promqltest']).code).toBe(2);
    const empty = mkdtempSync(join(tmpdir(), 'obs-promqltest-empty-'));
    expect(cli(['promqltest', empty])).toMatchObject({
      code: 2,
      err: `[@obs/promql] ${empty}: no .test files in it\n`,
    });
  });

  test('the report groups skips by category and reason', () => {
    const text = formatReport(
      [
        runScript(
          'x.test',
          'load 1m\n  f 1\n\neval instant at 0 f[1m] smoothed\n\neval instant at 0 f[2m] anchored\n  {} 1\n',
        ),
      ],
      false,
    );
    expect(text).toContain('x.test: 0 run, 0 passed, 0 failed, 2 skipped');
    expect(text).toContain('  skipped, outside the engine: 2');
  });
});
