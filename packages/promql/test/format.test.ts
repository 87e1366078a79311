import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debianTool, freePort, promqlTestdata, type RunningTool, startTool } from '@obs/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Expr } from '../src/ast.ts';
import { formatExpr, goFloat, goQuote, prettyExpr } from '../src/format.ts';
import { parsePromQL } from '../src/parse.ts';

const oneLine = (q: string): string => formatExpr(parsePromQL(q).expr);

// Cases of Prometheus's promql/parser/printer_test.go, minus the syntax outside our parser (duration
// arithmetic, step(), anchored/smoothed, fill modifiers). [input, expected] or [input] when unchanged.
const PRINTER: readonly (readonly [string, string?])[] = [
  ['sum by() (task:errors:rate10s{job="s"})', 'sum(task:errors:rate10s{job="s"})'],
  ['sum by(code) (task:errors:rate10s{job="s"})', 'sum by (code) (task:errors:rate10s{job="s"})'],
  ['sum without() (task:errors:rate10s{job="s"})', 'sum without () (task:errors:rate10s{job="s"})'],
  ['sum without(instance) (task:errors:rate10s{job="s"})', 'sum without (instance) (task:errors:rate10s{job="s"})'],
  ['sum by("foo.bar") (task:errors:rate10s{job="s"})', 'sum by ("foo.bar") (task:errors:rate10s{job="s"})'],
  ['sum without("foo.bar") (task:errors:rate10s{job="s"})', 'sum without ("foo.bar") (task:errors:rate10s{job="s"})'],
  ['topk(5, task:errors:rate10s{job="s"})'],
  ['count_values("value", task:errors:rate10s{job="s"})'],
  ['a - on() c', 'a - on () c'],
  ['a - on(b) c', 'a - on (b) c'],
  ['a - on(b) group_left(x) c', 'a - on (b) group_left (x) c'],
  ['a - on(b) group_left(x, y) c', 'a - on (b) group_left (x, y) c'],
  ['a - on(b) group_left c', 'a - on (b) group_left () c'],
  ['a - on(b) group_left() (c)', 'a - on (b) group_left () (c)'],
  ['a - ignoring(b) c', 'a - ignoring (b) c'],
  ['a - ignoring() c', 'a - c'],
  ['a - ignoring() group_left(__metric__) c', 'a - ignoring () group_left (__metric__) c'],
  ['a - ignoring() group_left c', 'a - ignoring () group_left () c'],
  ['up > bool 0'],
  ['a offset 1m'],
  ['a offset -7m'],
  ['a{c="d"}[5m] offset 1m'],
  ['a[5m] offset 1m'],
  ['a[12m] offset -3m'],
  ['a[1h:5m] offset 1m'],
  ['{__name__="a"}'],
  ['a{b!="c"}[1m]'],
  ['a{b=~"c"}[1m]'],
  ['a{b!~"c"}[1m]'],
  ['a @ 10', 'a @ 10.000'],
  ['a[1m] @ 10', 'a[1m] @ 10.000'],
  ['a @ start()'],
  ['a @ end()'],
  ['a[1m] @ start()'],
  ['a[1m] @ end()'],
  ['{__name__="",a="x"}'],
  ['{"a.b"="c"}'],
  ['{"0"="1"}'],
  ['{"_0"="1"}', '{_0="1"}'],
  ['{""="0"}'],
  ['{``="0"}', '{""="0"}'],
  ['1048576'],
  ['predict_linear(foo[1h], 3000)'],
  ['sum by("üüü") (foo)', 'sum by ("üüü") (foo)'],
  ['sum without("äää") (foo)', 'sum without ("äää") (foo)'],
  ['count by("ööö", job) (foo)', 'count by ("ööö", job) (foo)'],
  ['foo / on("äää") group_left("ööö") bar', 'foo / on ("äää") group_left ("ööö") bar'],
  ['foo / on(legacy, "üüü") bar', 'foo / on (legacy, "üüü") bar'],
  // Matchers are sorted, as in its BenchmarkExprString.
  [
    'sum by (pod) (kube_pod_status{namespace="ns",cluster="c"} offset 10m >= 1 and ignoring (reason) min_over_time(kube_reason{namespace="ns",cluster="c",reason="OOMKilled"}[10m]) == 1)',
    'sum by (pod) (kube_pod_status{cluster="c",namespace="ns"} offset 10m >= 1 and ignoring (reason) min_over_time(kube_reason{cluster="c",namespace="ns",reason="OOMKilled"}[10m]) == 1)',
  ],
  ['label_replace(testmetric, "dst", "destination-value-$1", "src", "source-value-(.*)")'],
  // Ours: what the rest of the printer does.
  ['rate(foo[5m:])', 'rate(foo[5m:])'],
  [
    'max_over_time(rate(x[1m])[90s:15s] @ 1609746000 offset -1d)',
    'max_over_time(rate(x[1m])[1m30s:15s] @ 1609746000.000 offset -1d)',
  ],
  ['x @ -1.5', 'x @ -1.500'],
  ['foo offset 90d'],
  ['foo offset 91d', 'foo offset 13w'],
  ['foo[1y]'],
  ['foo[1500ms]', 'foo[1s500ms]'],
  ['-Inf', '-Inf'],
  ['+Inf', '+Inf'],
  ['NaN'],
  ['- - - 1', '-1'],
  ['-(1)'],
  ['-foo'],
  ['+foo'],
  ['-2^2', '-2 ^ 2'],
  ['2^-(3)', '2 ^ -(3)'],
  ['1e21', '1000000000000000000000'],
  ['12.34e-6', '0.00001234'],
  ['0x1F', '31'],
  ['1_000', '1000'],
  ['-0', '-0'],
  ['5m', '300'],
  ['"a\\x01\\u00a0\\tb\\"\'"', '"a\\x01\\u00a0\\tb\\"\'"'],
  ["'single'", '"single"'],
  ['`raw\\n`', '"raw\\\\n"'],
  ['SUM(foo) BY (a)', 'sum by (a) (foo)'],
  ['sum(foo) without (a, b)', 'sum without (a, b) (foo)'],
  ['a AND b OR c UNLESS d', 'a and b or c unless d'],
  ['a atan2 b'],
  ['a > bool on (x) group_right (y) b'],
  ['quantile(0.9, foo)'],
  ['limitk(2, foo)'],
  ['time()'],
  ['foo{a="1",a="2"}'],
  ['{"foo.bar", a="x"}', '{"foo.bar",a="x"}'],
  ['{"foo"}', 'foo'],
  ['foo{b=~"x|y", a!~"\\\\d+"}', 'foo{a!~"\\\\d+",b=~"x|y"}'],
];

// Cases of Prometheus's promql/parser/prettier_test.go, with its line limit of 10.
const PRETTIER: readonly (readonly [string, string])[] = [
  ['sum(foo)', 'sum(foo)'],
  ['sum by() (task:errors:rate10s{job="s"})', 'sum(\n  task:errors:rate10s{job="s"}\n)'],
  [
    'sum without(job,foo) (task:errors:rate10s{job="s"})',
    'sum without (job, foo) (\n  task:errors:rate10s{job="s"}\n)',
  ],
  ['sum(task:errors:rate10s{job="s"}) without(job,foo)', 'sum without (job, foo) (\n  task:errors:rate10s{job="s"}\n)'],
  ['topk(10, ask:errors:rate10s{job="s"})', 'topk(\n  10,\n  ask:errors:rate10s{job="s"}\n)'],
  [
    'sum by(job,foo) (sum by(job,foo) (sum by(job,foo) (task:errors:rate10s{job="s"})))',
    'sum by (job, foo) (\n  sum by (job, foo) (\n    sum by (job, foo) (\n      task:errors:rate10s{job="s"}\n    )\n  )\n)',
  ],
  [
    'sum by(job,foo) # Comment 1.\n(sum by(job,foo) ( # Comment 2.\ntask:errors:rate10s{job="s"}))',
    'sum by (job, foo) (\n  sum by (job, foo) (\n    task:errors:rate10s{job="s"}\n  )\n)',
  ],
  ['a+b', 'a + b'],
  ['a == bool 1', '  a\n== bool\n  1'],
  ['a + ignoring(job) b', '  a\n+ ignoring (job)\n  b'],
  ['foo_1 + foo_2', '  foo_1\n+\n  foo_2'],
  ['foo_1 + foo_2 + foo_3', '    foo_1\n  +\n    foo_2\n+\n  foo_3'],
  ['foo + baar + foo_3', '  foo + baar\n+\n  foo_3'],
  [
    'foo_1 + ignoring(foo) foo_2 + ignoring(job) group_left foo_3 + on(instance) group_right foo_4',
    '      foo_1\n    + ignoring (foo)\n      foo_2\n  + ignoring (job) group_left ()\n    foo_3\n+ on (instance) group_right ()\n  foo_4',
  ],
  ['rate(foo[1m])', 'rate(\n  foo[1m]\n)'],
  [
    'rate(long_vector_selector[10m:1m] @ start() offset 1m)',
    'rate(\n  long_vector_selector[10m:1m] @ start() offset 1m\n)',
  ],
  ['histogram_quantile(0.9, rate(foo[1m]))', 'histogram_quantile(\n  0.9,\n  rate(\n    foo[1m]\n  )\n)'],
  [
    'max_over_time(rate(demo_api_request_duration_seconds_count[1m])[1m:] @ start() offset 1m)',
    'max_over_time(\n  rate(\n    demo_api_request_duration_seconds_count[1m]\n  )[1m:] @ start() offset 1m\n)',
  ],
  [
    'label_replace(up{job="api-server",service="a:c"}, "foo", "$1", "service", "(.*):.*")',
    'label_replace(\n  up{job="api-server",service="a:c"},\n  "foo",\n  "$1",\n  "service",\n  "(.*):.*"\n)',
  ],
  ['(foo)', '(foo)'],
  ['(_foo_long_)', '(\n  _foo_long_\n)'],
  ['((foo_long))', '(\n  (foo_long)\n)'],
  ['(((foo_long)))', '(\n  (\n    (foo_long)\n  )\n)'],
  ['a @ 1', 'a @ 1.000'],
  ['vector_selector @ start()', 'vector_selector @ start()'],
  ['(1 + 2)', '(1 + 2)'],
  ['(foo + bar)', '(\n  foo + bar\n)'],
  [
    '((foo_long + bar_long) + bar_2_long)',
    '(\n    (\n        foo_long\n      +\n        bar_long\n    )\n  +\n    bar_2_long\n)',
  ],
  [
    '(node_filesystem_avail_bytes{job="node",fstype!=""} / node_filesystem_size_bytes{job="node",fstype!=""} * 100 < 40 and predict_linear(node_filesystem_avail_bytes{job="node",fstype!=""}[6h], 24*60*60) < 0 and node_filesystem_readonly{job="node",fstype!=""} == 0)',
    `(
            node_filesystem_avail_bytes{fstype!="",job="node"}
          /
            node_filesystem_size_bytes{fstype!="",job="node"}
        *
          100
      <
        40
    and
        predict_linear(
          node_filesystem_avail_bytes{fstype!="",job="node"}[6h],
            24 * 60
          *
            60
        )
      <
        0
  and
      node_filesystem_readonly{fstype!="",job="node"}
    ==
      0
)`,
  ],
  [
    '(node_timex_offset_seconds > 0.05 and deriv(node_timex_offset_seconds[5m]) >= 0) or (node_timex_offset_seconds < -0.05 and deriv(node_timex_offset_seconds[5m]) <= 0)',
    `  (
        node_timex_offset_seconds
      >
        0.05
    and
        deriv(
          node_timex_offset_seconds[5m]
        )
      >=
        0
  )
or
  (
        node_timex_offset_seconds
      <
        -0.05
    and
        deriv(
          node_timex_offset_seconds[5m]
        )
      <=
        0
  )`,
  ],
  [
    'min by (job, integration) (rate(alertmanager_notifications_failed_total{job="alertmanager", integration=~".*"}[5m]) / rate(alertmanager_notifications_total{job="alertmanager", integration="~.*"}[5m])) > 0.01',
    `  min by (job, integration) (
      rate(
        alertmanager_notifications_failed_total{integration=~".*",job="alertmanager"}[5m]
      )
    /
      rate(
        alertmanager_notifications_total{integration="~.*",job="alertmanager"}[5m]
      )
  )
>
  0.01`,
  ],
  ['-1', '-1'],
  ['-vector_selector', '-vector_selector'],
  ['(-vector_selector)', '(\n  -vector_selector\n)'],
  [
    '-histogram_quantile(0.99, sum by (le) (rate(foo[1m])))',
    '-histogram_quantile(\n  0.99,\n  sum by (le) (\n    rate(\n      foo[1m]\n    )\n  )\n)',
  ],
  [
    '(-histogram_quantile(0.9, -rate(foo[1m] @ start())))',
    '(\n  -histogram_quantile(\n    0.9,\n    -rate(\n      foo[1m] @ start()\n    )\n  )\n)',
  ],
];

describe('formatExpr: the one-line form of Prometheus expr.String()', () => {
  test.each(PRINTER.map(([input, output]) => [input, output ?? input] as const))('%s', (input, expected) => {
    expect(oneLine(input)).toBe(expected);
  });

  test('numbers as Go writes them (strconv.FormatFloat, f, -1)', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [1.5, '1.5'],
      [-0.05, '-0.05'],
      [1e300, `1${'0'.repeat(300)}`],
      [1.5e-7, '0.00000015'],
      [5e-324, `0.${'0'.repeat(323)}5`],
      [123456789012345680000, '123456789012345680000'],
      [Number.POSITIVE_INFINITY, '+Inf'],
      [Number.NaN, 'NaN'],
    ];
    for (const [v, text] of cases) expect(goFloat(v)).toBe(text);
  });

  test('strings as Go quotes them (strconv.Quote)', () => {
    expect(goQuote('a"b\\c\n\x00\x7f')).toBe('"a\\"b\\\\c\\n\\x00\\x7f"');
    expect(goQuote('ü😀\u200b\u{e0001}')).toBe('"ü😀\\u200b\\U000e0001"');
  });

  test('the default line limit is 100 columns: a node of 100 stays on its line, one of 101 is split', () => {
    const rate = (instance: string) =>
      `rate(http_requests_total{code=~"5..",handler="/api/v1/query_range",instance="${instance}",job="api"}[5m])`;
    expect(rate('abcdef').length).toBe(100);
    const pretty = (q: string) => formatExpr(parsePromQL(q).expr, { pretty: true });
    expect(pretty(`sum by (job) (${rate('abcdef')})`)).toBe(`sum by (job) (\n  ${rate('abcdef')}\n)`);
    expect(pretty(`sum by (job) (${rate('abcdefg')})`)).toBe(
      `sum by (job) (\n  rate(\n    ${rate('abcdefg').slice(5, -1)}\n  )\n)`,
    );
    expect(pretty('sum by (job) (rate(http_requests_total{job="api"}[5m]))')).toBe(
      'sum by (job) (rate(http_requests_total{job="api"}[5m]))',
    );
  });
});

describe('formatExpr with pretty: Prometheus Prettify (format_query)', () => {
  test.each(PRETTIER)('%s', (input, expected) => {
    expect(prettyExpr(parsePromQL(input).expr, 10)).toBe(expected);
  });
});

// What our parser keeps and Prometheus's does not: the order in which matchers were written (the printer
// sorts them) and signs in front of number literals (its parser folds them into the number).
function normalized(e: Expr): unknown {
  const fold = (x: Expr): number | undefined =>
    x.kind === 'number'
      ? x.value
      : x.kind === 'unary'
        ? ((v) => (v === undefined ? v : x.op === '-' ? -v : v))(fold(x.expr))
        : undefined;
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return Number.isNaN(v) ? 'NaN' : v;
    const node = v as Record<string, unknown>;
    if (node['kind'] === 'unary') {
      const n = fold(node as unknown as Expr);
      if (n !== undefined) return { kind: 'number', value: Number.isNaN(n) ? 'NaN' : n };
    }
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(node)) {
      if (k === 'from' || k === 'to' || k === 'regex' || val === undefined) continue;
      out[k] = walk(val);
    }
    if (node['kind'] === 'vector')
      out['matchers'] = (out['matchers'] as { name: string; op: string; value: string }[])
        .map((m) => JSON.stringify([m.name, m.op, m.value]))
        .sort();
    return out;
  };
  return walk(e);
}

const TESTDATA = promqlTestdata();
const EVAL = /^eval(?:_\w+)?\s+(?:instant\s+(?:at\s+\S+\s+)?|range\s+from\s+\S+\s+to\s+\S+\s+step\s+\S+\s+)(.+)$/;

function testdataExprs(): string[] {
  const out = new Set<string>();
  for (const file of readdirSync(TESTDATA!)
    .filter((f) => f.endsWith('.test'))
    .sort())
    for (const line of readFileSync(join(TESTDATA!, file), 'utf8').split('\n')) {
      const m = EVAL.exec(line);
      if (m !== null) out.add(m[1]!.trim());
    }
  return [...out];
}

const haveTestdata = TESTDATA !== undefined;

// Every expression our parser takes, as the AST of a parse, for the round-trip and differential tests.
const parsed: { text: string; expr: Expr }[] = [];
let rejected = 0;
if (haveTestdata)
  for (const text of testdataExprs()) {
    try {
      parsed.push({ text, expr: parsePromQL(text).expr });
    } catch {
      rejected++;
    }
  }

describe.skipIf(!haveTestdata)('round trip over the eval expressions of Prometheus PromQL test scripts', () => {
  test('parse, format and parse again gives the same AST, in both forms; formatting is idempotent', () => {
    console.log(`round trip: ${parsed.length} expressions (${rejected} that our parser rejects left out)`);
    expect(parsed.length).toBeGreaterThan(500);
    for (const { text, expr } of parsed) {
      for (const pretty of [false, true]) {
        const out = formatExpr(expr, { pretty });
        const again = parsePromQL(out).expr;
        expect(normalized(again), `${text}\n=> ${out}`).toEqual(normalized(expr));
        expect(formatExpr(again, { pretty }), text).toBe(out);
      }
      // A narrow limit splits nearly every node, which the short testdata expressions rarely need.
      const narrow = prettyExpr(expr, 10);
      expect(normalized(parsePromQL(narrow).expr), `${text}\n=> ${narrow}`).toEqual(normalized(expr));
    }
  });
});

const prometheus = debianTool('prometheus');

// Prometheus 3.3 (#16083) prints numbers without exponents; 2.42 printed them with Go's %v (`1e+06`). The
// only version difference in its output over these expressions, so its numbers are rewritten the 3.x way.
const GO_EXPONENT = /(?<![\w.])\d+(?:\.\d+)?e[+-]\d+\b/g;

describe.skipIf(prometheus === undefined || !haveTestdata)(
  "differential: formatExpr(…, { pretty: true }) against the Debian prometheus's /api/v1/format_query",
  () => {
    let server: RunningTool | undefined;
    let url = '';
    let dir = '';
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'obs-promql-format-'));
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      writeFileSync(join(dir, 'prometheus.yml'), 'global: {}\n');
      server = await startTool(
        prometheus!,
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        async () => (await fetch(`${url}/-/ready`)).ok,
        30_000,
      );
    }, 40_000);
    afterAll(async () => {
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('the same text on the testdata expressions, and on long ones made of two of them', async () => {
      const probe = await fetch(`${url}/api/v1/format_query?query=1`);
      if (probe.status === 404) {
        console.warn('skipping: this prometheus has no /api/v1/format_query (added in 2.38)');
        return;
      }
      // Most testdata expressions fit in 100 columns; pairs of them exercise the line splitting.
      const inputs = parsed.map((p) => p.text);
      for (let i = 0; i + 1 < parsed.length; i += 7) {
        inputs.push(`${parsed[i]!.text} + on (job) ${parsed[i + 1]!.text}`);
        inputs.push(`sum without (instance) (label_replace(${parsed[i]!.text}, "dst", "$1", "src", "(.*)"))`);
      }
      let compared = 0;
      let theirRejects = 0;
      let ourRejects = 0;
      let renumbered = 0;
      let relaid = 0;
      let split = 0;
      const differences: string[] = [];
      for (const text of inputs) {
        let expr: Expr;
        try {
          expr = parsePromQL(text).expr;
        } catch {
          ourRejects++;
          continue;
        }
        const res = await fetch(`${url}/api/v1/format_query`, {
          method: 'POST',
          body: new URLSearchParams({ query: text }),
        });
        const body = (await res.json()) as { status: string; data?: string };
        // Newer syntax than 2.42's (functions, quoted names, number durations), or a type error it finds.
        if (body.status !== 'success' || body.data === undefined) {
          theirRejects++;
          continue;
        }
        const theirs = body.data.replace(GO_EXPONENT, (n) => goFloat(Number(n)));
        if (theirs !== body.data) renumbered++;
        compared++;
        const ours = formatExpr(expr, { pretty: true });
        if (ours.includes('\n')) split++;
        if (ours === theirs) continue;
        // 2.42's longer number text can push a node past 100 columns: the same tokens, split elsewhere.
        if (theirs !== body.data && ours.replace(/\s+/g, '') === theirs.replace(/\s+/g, '')) relaid++;
        else differences.push(`${text}\n  ours:   ${ours}\n  theirs: ${theirs}`);
      }
      console.log(
        `format_query differential: ${compared} compared, ${compared - differences.length - relaid} equal, ${split} of them on several lines ` +
          `(${renumbered} with 2.42's exponent numbers rewritten, ${relaid} of them split elsewhere for it); ${theirRejects} rejected by prometheus 2.42, ` +
          `${ourRejects} by our parser`,
      );
      expect(compared).toBeGreaterThan(300);
      expect(differences).toEqual([]);
    }, 120_000);
  },
);
