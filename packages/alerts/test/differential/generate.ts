// Regenerates a differential test file from its spec: expectations computed by this engine, to be
// checked against the real promtool by test/differential.test.ts. Usage (in packages/alerts):
//   npx tsx --conditions=@obs/source src/cli.ts export -o test/differential/seed-rules.yml   # only for seed-spec.yml, delete it after
//   npx tsx --conditions=@obs/source test/differential/generate.ts spec.yml generated.test.yml
import { readFileSync, writeFileSync } from 'node:fs';
import { createSampleStore, evaluate, parsePromDuration, parse as parsePromQL, parseSeriesDesc } from '@obs/promql';
import { parse, stringify } from 'yaml';
import { createAlertEngine } from '../../src/alerts.ts';
import { loadRulesFile } from '../../src/rules.ts';

const dir = `${import.meta.dirname}/`;
const spec = parse(readFileSync(dir + process.argv[2], 'utf8'));
const rules = spec.rule_files.flatMap((f: string) => loadRulesFile(dir + f));
const ev = parsePromDuration(spec.evaluation_interval)!;
const fmtLabels = (l: Record<string, string>) => {
  const name = l.__name__ ?? '';
  const rest = Object.keys(l)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}=${JSON.stringify(l[k])}`);
  return `${name}{${rest.join(', ')}}`;
};
for (const g of spec.tests) {
  const interval = parsePromDuration(g.interval)!;
  const store = createSampleStore({ retentionMs: 1e12 });
  for (const s of g.input_series) {
    const { labels, values } = parseSeriesDesc(`${s.series} ${s.values}`);
    values.forEach((v, i) => {
      if (v === 'stale') store.markStale(labels, i * interval);
      else if (v !== undefined) store.append(labels, i * interval, v);
    });
  }
  const times: string[] = g.alert_rule_test ?? [];
  const tests: unknown[] = [];
  const engine = createAlertEngine({
    rules,
    source: store,
    onError: (e) => {
      throw e;
    },
  });
  const max = Math.max(...times.map((t) => parsePromDuration(t)!));
  const snapshots = new Map<number, ReturnType<typeof engine.evaluate>>();
  for (let ts = 0; ts <= max; ts += ev) snapshots.set(ts, engine.evaluate(ts));
  for (const t of times) {
    const at = parsePromDuration(t)!;
    const step = Math.floor(at / ev) * ev;
    for (const r of rules) {
      const firing = snapshots.get(step)!.filter((a) => a.rule === r.name && a.state === 'firing');
      tests.push({
        eval_time: t,
        alertname: r.name,
        exp_alerts: firing.map((a) => {
          const { alertname: _, ...labels } = a.labels;
          return {
            exp_labels: labels,
            ...(Object.keys(a.annotations).length ? { exp_annotations: a.annotations } : {}),
          };
        }),
      });
    }
  }
  g.alert_rule_test = tests;
  g.promql_expr_test = (g.promql_expr_test ?? []).map(([t, expr]: [string, string]) => {
    const v = evaluate(parsePromQL(expr).expr, store, parsePromDuration(t)!);
    const samples =
      v.type === 'vector'
        ? v.samples.map((s) => ({ labels: fmtLabels(s.labels as Record<string, string>), value: s.value }))
        : v.type === 'scalar'
          ? [{ labels: '{}', value: v.value }]
          : [];
    return { expr, eval_time: t, exp_samples: samples };
  });
}
writeFileSync(
  dir + process.argv[3],
  `# Generated from ${process.argv[2]} by obs-alerts, and checked against the real promtool (test/differential.test.ts).\n` +
    stringify(spec, { lineWidth: 0 }),
);
