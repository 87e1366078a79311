import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  createSampleStore,
  evaluate,
  labelsKey,
  parsePromDuration,
  parse as parsePromQL,
  parseSeriesDesc,
} from '@obs/promql';
import { createAlertEngine } from './alerts.ts';
import { alertsError } from './errors.ts';
import { yaml } from './internal/yaml.ts';
import { isRecordingRule, loadRuleGroups, type RuleGroup } from './rules.ts';
import { goFloat } from './template.ts';

/** The outcome of one promtool-format test file. */
export interface RuleTestResult {
  readonly file: string;
  readonly passed: number;
  /** One readable message per failed expectation. */
  readonly failures: readonly string[];
}

interface TestGroup {
  interval?: string;
  name?: string;
  external_labels?: Record<string, string>;
  external_url?: string;
  input_series?: { series: string; values: string }[];
  alert_rule_test?: {
    eval_time: string;
    alertname: string;
    exp_alerts?: { exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }[];
  }[];
  promql_expr_test?: { expr: string; eval_time: string; exp_samples?: { labels: string; value: number | string }[] }[];
}

function duration(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined) return fallback;
  const ms = parsePromDuration(String(text));
  if (ms === undefined)
    throw alertsError('OBS_ERR_ALERTS_RULES_FILE', `[@obs/alerts] bad duration for ${what}: ${text}`);
  return ms;
}

function floatOf(text: string): number {
  const lower = text.trim().toLowerCase();
  if (lower === 'inf' || lower === '+inf') return Number.POSITIVE_INFINITY;
  if (lower === '-inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

function close(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

const show = (labels: Record<string, string>): string =>
  `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(', ')}}`;

/**
 * Runs a rule unit-test file in promtool's `test rules` format (`rule_files`, `evaluation_interval`,
 * `tests` with `input_series`, `alert_rule_test` and `promql_expr_test`).
 * @throws ObsError `OBS_ERR_ALERTS_RULES_FILE` for a file that cannot be read; the rule codes for bad rules
 */
export function runRuleTests(file: string): RuleTestResult {
  let doc: { rule_files?: string[]; evaluation_interval?: string; group_eval_order?: string[]; tests?: TestGroup[] };
  try {
    doc = yaml().parse(readFileSync(file, 'utf8')) as typeof doc;
  } catch (err) {
    throw alertsError('OBS_ERR_ALERTS_RULES_FILE', `[@obs/alerts] cannot read ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let groups: RuleGroup[] = (doc.rule_files ?? []).flatMap((f) => loadRuleGroups(resolve(dirname(file), f)));
  const order = doc.group_eval_order ?? [];
  if (order.length > 0) {
    // As promtool: with group_eval_order, every group must be listed, and they run in that order.
    const rank = new Map(order.map((n, i) => [n, i]));
    for (const g of groups)
      if (!rank.has(g.name))
        throw alertsError(
          'OBS_ERR_ALERTS_RULES_FILE',
          `[@obs/alerts] ${file}: group "${g.name}" is not listed in group_eval_order`,
        );
    groups = [...groups].sort((a, b) => rank.get(a.name)! - rank.get(b.name)!);
  }
  const evalInterval = duration(doc.evaluation_interval, 60_000, 'evaluation_interval');
  let passed = 0;
  const failures: string[] = [];
  (doc.tests ?? []).forEach((group, gi) => {
    const name = group.name ?? `test ${gi}`;
    const interval = duration(group.interval, evalInterval, 'interval');
    const store = createSampleStore({ retentionMs: Number.MAX_SAFE_INTEGER });
    for (const s of group.input_series ?? []) {
      const { labels, values } = parseSeriesDesc(`${s.series} ${s.values}`);
      values.forEach((v, i) => {
        if (v === 'stale') store.markStale(labels, i * interval);
        else if (v !== undefined) store.append(labels, i * interval, v);
      });
    }
    // Alerts: evaluate the whole group at every step, and look at the state after the last step <= eval_time.
    const alertTests = [...(group.alert_rule_test ?? [])].map((t) => ({
      ...t,
      at: duration(t.eval_time, 0, 'eval_time'),
    }));
    alertTests.sort((a, b) => a.at - b.at);
    const exprTests = (group.promql_expr_test ?? []).map((t) => ({ ...t, at: duration(t.eval_time, 0, 'eval_time') }));
    const engine = createAlertEngine({
      groups,
      source: store,
      // As promtool: a subquery without a step uses the file's evaluation_interval.
      subqueryStepMs: evalInterval,
      externalLabels: group.external_labels ?? {},
      externalURL: group.external_url ?? '',
      onError: (e, rule) =>
        failures.push(`${file}: ${name}: rule ${isRecordingRule(rule) ? rule.record : rule.name}: ${e.message}`),
    });
    let next = 0;
    // As promtool: the rules run up to the last eval_time of either kind of test, so that expressions can read
    // recorded series and ALERTS.
    const maxAt = Math.max(-1, ...alertTests.map((t) => t.at), ...exprTests.map((t) => t.at));
    for (let ts = 0; ts <= maxAt; ts += evalInterval) {
      for (const g of groups) engine.evaluateGroup(g, ts);
      const firing = engine.alerts().filter((a) => a.state === 'firing');
      while (next < alertTests.length && alertTests[next]!.at < ts + evalInterval) {
        const t = alertTests[next++]!;
        const got = firing
          .filter((a) => a.rule === t.alertname)
          .map((a) => ({ labels: { ...a.labels }, annotations: { ...a.annotations } }));
        const exp = (t.exp_alerts ?? []).map((a) => ({
          labels: { ...a.exp_labels, alertname: t.alertname },
          annotations: { ...a.exp_annotations },
        }));
        const key = (x: { labels: Record<string, string>; annotations: Record<string, string> }): string =>
          `${labelsKey(x.labels)}|${labelsKey(x.annotations)}`;
        const same =
          got.length === exp.length &&
          got
            .map(key)
            .sort()
            .every((k, i) => k === exp.map(key).sort()[i]);
        if (same) passed++;
        else
          failures.push(
            `${file}: ${name}: alertname ${t.alertname}, time ${t.eval_time}\n` +
              `    exp: ${exp.map((x) => `labels ${show(x.labels)} annotations ${show(x.annotations)}`).join('; ') || '(none)'}\n` +
              `    got: ${got.map((x) => `labels ${show(x.labels)} annotations ${show(x.annotations)}`).join('; ') || '(none)'}`,
          );
      }
    }
    for (const t of exprTests) {
      const at = t.at;
      let got: { labels: Record<string, string>; value: number }[];
      try {
        const v = evaluate(parsePromQL(t.expr).expr, store, at, { subqueryStepMs: evalInterval });
        got =
          v.type === 'vector'
            ? v.samples.map((s) => ({ labels: { ...s.labels }, value: s.value }))
            : v.type === 'scalar'
              ? [{ labels: {}, value: v.value }]
              : [];
      } catch (err) {
        failures.push(
          `${file}: ${name}: expr ${JSON.stringify(t.expr)}, time ${t.eval_time}: ${(err as Error).message}`,
        );
        continue;
      }
      const exp = (t.exp_samples ?? []).map((s) => ({
        labels: parseSeriesDesc(s.labels).labels,
        value: typeof s.value === 'number' ? s.value : floatOf(s.value),
      }));
      const byKey = new Map(got.map((g) => [labelsKey(g.labels), g.value]));
      const same =
        exp.length === got.length &&
        exp.every(
          (e) => close(byKey.get(labelsKey(e.labels)) ?? Number.NaN, e.value) && byKey.has(labelsKey(e.labels)),
        );
      if (same) passed++;
      else
        failures.push(
          `${file}: ${name}: expr ${JSON.stringify(t.expr)}, time ${t.eval_time}\n` +
            `    exp: ${exp.map((e) => `${show(e.labels)} ${goFloat(e.value)}`).join('; ') || '(none)'}\n` +
            `    got: ${got.map((g) => `${show(g.labels)} ${goFloat(g.value)}`).join('; ') || '(none)'}`,
        );
    }
  });
  return { file, passed, failures };
}
