import { readFileSync } from 'node:fs';
import type { AlertRuleDescriptor, MetricDescriptor, ObsError } from '@obs/core';
import {
  type Expr,
  historyNeeded,
  metricNames,
  type ParsedExpr,
  PromqlError,
  parse,
  parsePromDuration,
} from '@obs/promql';
import { alertsError } from './errors.ts';
import { yaml } from './internal/yaml.ts';
import { checkTemplate } from './template.ts';

/** Alert severities, as the seed names them. */
export type AlertSeverity = 'info' | 'warning' | 'critical';

/** An alert rule written in code (Prometheus' fields, with the seed's `severity` and `threshold`). */
export interface AlertRuleInput {
  /** The alert's name (Prometheus `alert`, the seed's `name`). */
  readonly name: string;
  /** PromQL; an alert fires for every series the expression returns. */
  readonly expr: string;
  /** How long the expression must hold before firing: `"5m"` or ms. @default 0 */
  readonly for?: string | number | undefined;
  /** How long to keep firing once the expression stops returning the series. @default 0 */
  readonly keepFiringFor?: string | number | undefined;
  /** @default labels.severity, or "warning" */
  readonly severity?: AlertSeverity | undefined;
  /** Extra labels; values may use templates. @default {} */
  readonly labels?: Readonly<Record<string, string>> | undefined;
  /** Annotations with templates (`{{ $labels.endpoint }}`, `{{ $value | humanize }}`). @default {} */
  readonly annotations?: Readonly<Record<string, string>> | undefined;
  /** The threshold the expression compares against, for display. @default the number a top-level comparison uses */
  readonly threshold?: number | undefined;
}

/** A rule that loaded: checked, parsed, with its durations in ms. */
export interface AlertRule extends AlertRuleDescriptor {
  readonly keepFiringForMs: number;
  /** The expression's AST (internal shape; may change between minor versions). */
  readonly ast: Expr;
  /** How much history the expression reads, in ms. */
  readonly historyMs: number;
  /** Where it came from: a file path, or "code". */
  readonly source: string;
}

/**
 * A recording rule that loaded: its result is written back to the sample store under `record`.
 */
export interface RecordingRule {
  /** The new series' metric name. */
  readonly record: string;
  readonly expr: string;
  /** Labels set on every result (an empty value removes the label). */
  readonly labels: Readonly<Record<string, string>>;
  /** The expression's AST (internal shape; may change between minor versions). */
  readonly ast: Expr;
  /** How much history the expression reads, in ms. */
  readonly historyMs: number;
  /** Where it came from: a file path, or "code". */
  readonly source: string;
}

/** A rule group: its rules evaluate in order, each seeing what the ones before it recorded. */
export interface RuleGroup {
  readonly name: string;
  /** Its own evaluation interval, in ms; `undefined` uses the global one. */
  readonly intervalMs: number | undefined;
  /** At most this many alerts per alerting rule and series per recording rule; 0: no limit. */
  readonly limit: number;
  /** Evaluations query this far in the past (Prometheus' `query_offset`), in ms. */
  readonly queryOffsetMs: number;
  readonly rules: readonly (AlertRule | RecordingRule)[];
  /** Where it came from: a file path, or "code". */
  readonly source: string;
}

/** Whether a rule is a recording rule. */
export function isRecordingRule(rule: AlertRule | RecordingRule): rule is RecordingRule {
  return 'record' in rule;
}

const SEVERITIES: ReadonlySet<string> = new Set(['info', 'warning', 'critical']);
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function invalid(where: string, message: string, cause?: unknown): ObsError {
  return alertsError('OBS_ERR_ALERTS_RULE_INVALID', `[@obs/alerts] ${where}: ${message}`, { cause });
}

function durationMs(value: string | number | undefined, where: string, key: string): number {
  if (value === undefined || value === '') return 0;
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
    throw invalid(where, `${key} must be a non-negative number of ms`);
  }
  const ms = parsePromDuration(value);
  if (ms === undefined) throw invalid(where, `${key} ${JSON.stringify(value)} is not a duration like "5m"`);
  return ms;
}

function thresholdOf(e: Expr): number | undefined {
  let node = e;
  while (node.kind === 'paren') node = node.expr;
  if (node.kind !== 'binary' || !['>', '<', '>=', '<=', '==', '!='].includes(node.op)) return undefined;
  const side = node.rhs.kind === 'number' ? node.rhs : node.lhs.kind === 'number' ? node.lhs : undefined;
  return side?.value;
}

function parseExpr(expr: string, at: string): ParsedExpr {
  try {
    return parse(expr);
  } catch (err) {
    if (err instanceof PromqlError)
      throw alertsError(
        err.code === 'OBS_ERR_PROMQL_UNSUPPORTED' ? 'OBS_ERR_ALERTS_UNSUPPORTED' : 'OBS_ERR_ALERTS_PARSE',
        `${at}: ${err.message.replace(/^\[@obs\/promql\] /, '')}`,
        { cause: err },
      );
    throw err;
  }
}

// Prometheus' (legacy) metric name charset, which 2.42 and 3.x both accept for `record`.
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function checkLabels(labels: Record<string, unknown>, at: string): void {
  for (const [k, v] of Object.entries(labels)) {
    // As promtool: `__name__` cannot be set by a rule's labels (the rule names its series).
    if (!LABEL_NAME.test(k) || k === '__name__') throw invalid(at, `invalid label name: ${k}`);
    if (typeof v !== 'string') throw invalid(at, `label ${k} must be a string`);
  }
}

/**
 * Checks and parses one recording rule. `where` prefixes messages (a file and line).
 * @throws ObsError `OBS_ERR_ALERTS_RULE_INVALID` for a bad name or label; the parse codes for its expression
 */
export function compileRecordingRule(
  input: {
    readonly record: string;
    readonly expr: string;
    readonly labels?: Readonly<Record<string, string>> | undefined;
  },
  source = 'code',
  where: string = source,
): RecordingRule {
  const at = `${where}: recording rule ${JSON.stringify(input.record ?? '')}`;
  if (typeof input.record !== 'string' || !METRIC_NAME.test(input.record))
    throw invalid(at, `invalid recording rule name: ${String(input.record ?? '')}`);
  if (typeof input.expr !== 'string' || input.expr.trim() === '') throw invalid(at, "field 'expr' must be set in rule");
  const parsed = parseExpr(input.expr, at);
  if (parsed.type !== 'vector' && parsed.type !== 'scalar')
    throw invalid(at, `expr must be an instant vector or scalar, got ${parsed.type}`);
  const labels = { ...input.labels };
  checkLabels(labels, at);
  return Object.freeze({
    record: input.record,
    expr: input.expr,
    labels: Object.freeze(labels),
    ast: parsed.expr,
    historyMs: historyNeeded(parsed.expr),
    source,
  });
}

/**
 * Checks and parses one rule. `where` prefixes messages (a file and line).
 * @throws ObsError `OBS_ERR_ALERTS_RULE_INVALID` for a malformed rule; `OBS_ERR_ALERTS_PARSE` or
 * `OBS_ERR_ALERTS_UNSUPPORTED` for its expression, naming the rule and the position.
 */
export function compileRule(input: AlertRuleInput, source = 'code', where: string = source): AlertRule {
  const at = `${where}: rule ${JSON.stringify(input.name ?? '')}`;
  if (typeof input.name !== 'string' || input.name === '') throw invalid(where, 'a rule needs a name');
  if (typeof input.expr !== 'string' || input.expr.trim() === '') throw invalid(at, 'expr is empty');
  const parsed = parseExpr(input.expr, at);
  if (parsed.type !== 'vector' && parsed.type !== 'scalar')
    throw invalid(at, `expr must be an instant vector or scalar, got ${parsed.type}`);
  const labels = { ...input.labels };
  checkLabels(labels, at);
  if (input.severity !== undefined && !SEVERITIES.has(input.severity))
    throw invalid(at, `severity must be info, warning or critical, got ${JSON.stringify(input.severity)}`);
  // A Prometheus rule's severity label may be anything (`page`, a template): the descriptor says warning then.
  const label = labels['severity'];
  const severity = input.severity ?? (label !== undefined && SEVERITIES.has(label) ? label : 'warning');
  // The seed's severity becomes a label, as it would in a Prometheus rule; a rule without one gets none.
  if (input.severity !== undefined) labels['severity'] ??= input.severity;
  const annotations = { ...input.annotations };
  // Templates are tried once now, so that a broken one fails at load and not at 3 a.m.
  for (const text of [...Object.values(annotations), ...Object.values(labels)]) {
    try {
      checkTemplate(String(text));
    } catch (err) {
      throw invalid(at, (err as Error).message.replace(/^\[@obs\/alerts\] /, ''), err);
    }
  }
  return Object.freeze({
    name: input.name,
    expr: input.expr,
    threshold: input.threshold ?? thresholdOf(parsed.expr),
    forMs: durationMs(input.for, at, 'for'),
    keepFiringForMs: durationMs(input.keepFiringFor, at, 'keep_firing_for'),
    severity: severity as AlertSeverity,
    labels: Object.freeze(labels),
    annotations: Object.freeze(annotations),
    ast: parsed.expr,
    historyMs: historyNeeded(parsed.expr),
    source,
  });
}

const GROUP_KEYS: ReadonlySet<string> = new Set(['name', 'interval', 'limit', 'query_offset', 'rules']);
const RULE_KEYS: ReadonlySet<string> = new Set([
  'record',
  'alert',
  'expr',
  'for',
  'keep_firing_for',
  'labels',
  'annotations',
]);

/**
 * Parses a rule file's text into rule groups: Prometheus' format (`groups:` with `name`, `interval`, `limit`,
 * `query_offset` and `rules:` of recording rules, `record`, and alerting rules, `alert`), or the seed's
 * (`alerts:` with name, condition, threshold, duration, severity, labels), which is one group named after the file.
 * @throws ObsError `OBS_ERR_ALERTS_RULES_FILE` for YAML that is neither; `OBS_ERR_ALERTS_RULE_INVALID` and the
 * parse codes for a bad group or rule, naming the file, line and rule
 */
export function parseRuleGroups(text: string, file = '<rules>'): RuleGroup[] {
  const lines = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = lines.linePos(e.pos[0]);
    throw alertsError('OBS_ERR_ALERTS_RULES_FILE', `[@obs/alerts] ${file}:${pos.line}:${pos.col}: ${e.message}`);
  }
  const lineOf = (path: (string | number)[]): number | undefined => {
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    return node?.range === undefined ? undefined : lines.linePos(node.range[0]).line;
  };
  const where = (path: (string | number)[]): string => {
    const line = lineOf(path);
    return line === undefined ? file : `${file}:${line}`;
  };
  const root = doc.contents;
  const data = doc.toJS() as Record<string, unknown> | null;
  if (yaml().isMap(root) && Array.isArray(data?.['alerts'])) {
    const rules = (data['alerts'] as Record<string, unknown>[]).map((r, i) =>
      compileRule(
        {
          name: r['name'] as string,
          expr: r['condition'] as string,
          for: r['duration'] as string | undefined,
          severity: r['severity'] as AlertSeverity | undefined,
          labels: r['labels'] as Record<string, string> | undefined,
          annotations: r['annotations'] as Record<string, string> | undefined,
          threshold: r['threshold'] as number | undefined,
        },
        file,
        where(['alerts', i, 'condition']),
      ),
    );
    return [Object.freeze({ name: file, intervalMs: undefined, limit: 0, queryOffsetMs: 0, rules, source: file })];
  }
  if (yaml().isMap(root) && yaml().isSeq(doc.get('groups'))) {
    const groups = data?.['groups'] as Record<string, unknown>[];
    const names = new Set<string>();
    return groups.map((g, gi) => {
      const gat = where(['groups', gi]);
      if (g === null || typeof g !== 'object') throw invalid(gat, 'a group must be a mapping');
      for (const k of Object.keys(g))
        if (!GROUP_KEYS.has(k)) throw invalid(where(['groups', gi, k]), `field ${k} not found in a rule group`);
      const name = g['name'];
      if (typeof name !== 'string' || name === '') throw invalid(gat, 'Groupname must not be empty');
      if (names.has(name)) throw invalid(gat, `groupname: "${name}" is repeated in the same file`);
      names.add(name);
      const gname = `${gat}: group ${JSON.stringify(name)}`;
      const interval = g['interval'] === undefined ? undefined : durationMs(g['interval'] as string, gname, 'interval');
      if (interval === 0) throw invalid(gname, 'interval must be positive');
      const limit = g['limit'] ?? 0;
      if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0)
        throw invalid(gname, 'limit must be a non-negative integer');
      const queryOffsetMs = durationMs(g['query_offset'] as string | undefined, gname, 'query_offset');
      const list = (g['rules'] ?? []) as Record<string, unknown>[];
      if (!Array.isArray(list)) throw invalid(gname, 'rules must be a list');
      const rules = list.map((r, ri): AlertRule | RecordingRule => {
        const rat = where(['groups', gi, 'rules', ri]);
        if (r === null || typeof r !== 'object') throw invalid(rat, 'a rule must be a mapping');
        for (const k of Object.keys(r))
          if (!RULE_KEYS.has(k)) throw invalid(where(['groups', gi, 'rules', ri, k]), `field ${k} not found in a rule`);
        if (r['record'] !== undefined && r['alert'] !== undefined)
          throw invalid(rat, "only one of 'record' and 'alert' must be set");
        if (r['record'] === undefined && r['alert'] === undefined)
          throw invalid(rat, "one of 'record' or 'alert' must be set");
        const exprAt = where(['groups', gi, 'rules', ri, 'expr']);
        if (r['record'] !== undefined) {
          const named = `${rat}: recording rule ${JSON.stringify(String(r['record']))}`;
          for (const k of ['annotations', 'for', 'keep_firing_for'])
            if (r[k] !== undefined) throw invalid(named, `invalid field '${k}' in recording rule`);
          return compileRecordingRule(
            {
              record: r['record'] as string,
              expr: r['expr'] === undefined ? '' : String(r['expr']),
              labels: r['labels'] as Record<string, string> | undefined,
            },
            file,
            r['expr'] === undefined ? rat : exprAt,
          );
        }
        const named = `rule ${JSON.stringify(String(r['alert']))}`;
        for (const k of Object.keys((r['annotations'] ?? {}) as object))
          if (!LABEL_NAME.test(k)) throw invalid(`${rat}: ${named}`, `invalid annotation name: ${k}`);
        // Templates are checked where they are written, so that the error names their own line.
        for (const key of ['labels', 'annotations'])
          for (const [k, v] of Object.entries((r[key] ?? {}) as Record<string, unknown>)) {
            try {
              checkTemplate(String(v));
            } catch (err) {
              const message = (err as Error).message.replace(/^\[@obs\/alerts\] /, '');
              throw invalid(
                `${where(['groups', gi, 'rules', ri, key, k])}: ${named}`,
                `${key.slice(0, -1)} ${k}: ${message}`,
                err,
              );
            }
          }
        return compileRule(
          {
            name: r['alert'] as string,
            expr: r['expr'] === undefined ? '' : String(r['expr']),
            for: r['for'] as string | undefined,
            keepFiringFor: r['keep_firing_for'] as string | undefined,
            labels: r['labels'] as Record<string, string> | undefined,
            annotations: r['annotations'] as Record<string, string> | undefined,
          },
          file,
          r['expr'] === undefined ? rat : exprAt,
        );
      });
      return Object.freeze({
        name,
        intervalMs: interval,
        limit,
        queryOffsetMs,
        rules: Object.freeze(rules),
        source: file,
      });
    });
  }
  throw alertsError(
    'OBS_ERR_ALERTS_RULES_FILE',
    `[@obs/alerts] ${file}: expected "alerts:" (seed format) or "groups:" (Prometheus rule file)`,
  );
}

/**
 * The alerting rules of a rule file's text (see {@link parseRuleGroups}, which keeps the groups and recording rules).
 * @throws ObsError as {@link parseRuleGroups}
 */
export function parseRules(text: string, file = '<rules>'): AlertRule[] {
  return alertRulesOf(parseRuleGroups(text, file));
}

/** The alerting rules of some groups, in order. */
export function alertRulesOf(groups: readonly RuleGroup[]): AlertRule[] {
  return groups.flatMap((g) => g.rules.filter((r): r is AlertRule => !isRecordingRule(r)));
}

function readRulesFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw alertsError('OBS_ERR_ALERTS_RULES_FILE', `[@obs/alerts] cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Reads and parses a rule file into its groups (recording and alerting rules).
 * @throws ObsError `OBS_ERR_ALERTS_RULES_FILE` when it cannot be read; see {@link parseRuleGroups}.
 */
export function loadRuleGroups(path: string): RuleGroup[] {
  return parseRuleGroups(readRulesFile(path), path);
}

/**
 * Reads a rule file and returns its alerting rules (see {@link loadRuleGroups} for all of it).
 * @throws ObsError `OBS_ERR_ALERTS_RULES_FILE` when it cannot be read; see {@link parseRuleGroups}.
 */
export function loadRulesFile(path: string): AlertRule[] {
  return alertRulesOf(loadRuleGroups(path));
}

/** Where the metrics of the seed's rules are: `[monitoring.prometheus]`'s namespace and subsystem. */
export interface SeedRulesOptions {
  /** @default "trakt" (the seed's) */
  readonly namespace?: string;
  /** @default "" */
  readonly subsystem?: string;
}

/**
 * The seed's three rules, corrected (see rules/seed.yml for why), selecting the metrics under `namespace` and
 * `subsystem` as @obs/metrics names them (`myapp_api_requests_total`), so they watch what is really exposed.
 */
export function seedRules(options: SeedRulesOptions = {}): AlertRule[] {
  const path = new URL('../rules/seed.yml', import.meta.url).pathname;
  const prefix = [options.namespace ?? 'trakt', options.subsystem ?? ''].filter((p) => p !== '').join('_');
  if (prefix === 'trakt') return loadRulesFile(path);
  // The shipped file names the seed's metrics `trakt_<name>`; only its conditions and summaries mention them.
  const text = readFileSync(path, 'utf8').replace(/\btrakt_(?=[a-z])/g, prefix === '' ? '' : `${prefix}_`);
  return parseRules(text, path);
}

/** A rule's selector that names a metric the live metric set does not expose: the rule can never match it. */
export interface UnmatchedMetric {
  /** The alert's name, or the recording rule's `record`. */
  readonly rule: string;
  /** The metric the selector names. */
  readonly metric: string;
  /** Where the rule came from: a file path, or "code". */
  readonly source: string;
}

// Series no app exposes but a rule may rightly select: the rule engine's own, and what a Prometheus scrape adds.
const SYNTHETIC: ReadonlySet<string> = new Set([
  'ALERTS',
  'ALERTS_FOR_STATE',
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'scrape_samples_post_metric_relabeling',
  'scrape_series_added',
]);

/**
 * The series names a metric set exposes: each metric's name, plus `_bucket`, `_sum` and `_count` for a histogram
 * and `_sum` and `_count` for a summary.
 */
export function exposedMetricNames(descriptors: readonly MetricDescriptor[]): Set<string> {
  const names = new Set<string>();
  for (const d of descriptors) {
    names.add(d.name);
    if (d.type === 'histogram') names.add(`${d.name}_bucket`);
    if (d.type === 'histogram' || d.type === 'summary') {
      names.add(`${d.name}_sum`);
      names.add(`${d.name}_count`);
    }
  }
  return names;
}

/**
 * The metrics that rules select by name but `exposed` (see {@link exposedMetricNames}) does not hold, one entry per
 * rule and metric: such a selector matches nothing, so the rule silently never fires. `ALERTS`, `ALERTS_FOR_STATE`,
 * `up`, Prometheus' `scrape_*` series and the outputs of the recording rules given are not reported.
 */
export function unmatchedMetrics(
  rules: readonly (AlertRule | RecordingRule)[],
  exposed: ReadonlySet<string>,
): UnmatchedMetric[] {
  const recorded = new Set(rules.filter(isRecordingRule).map((r) => r.record));
  const out: UnmatchedMetric[] = [];
  for (const rule of rules) {
    for (const metric of metricNames(rule.ast))
      if (!exposed.has(metric) && !SYNTHETIC.has(metric) && !recorded.has(metric))
        out.push({ rule: isRecordingRule(rule) ? rule.record : rule.name, metric, source: rule.source });
  }
  return out;
}

/**
 * The series names in a Prometheus text exposition (what `/metrics` answers): every sample's name, and every
 * `# TYPE` family with its histogram or summary suffixes.
 */
export function metricNamesOfExposition(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^#\s*TYPE\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s+(\w+)/.exec(line);
    if (type !== null) {
      const [, name, kind] = type as unknown as [string, string, string];
      names.add(name);
      // OpenMetrics names a counter's family without `_total`.
      if (kind === 'counter') names.add(`${name}_total`);
      for (const suffix of kind === 'histogram'
        ? ['_bucket', '_sum', '_count']
        : kind === 'summary'
          ? ['_sum', '_count']
          : [])
        names.add(name + suffix);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?=[\s{])/.exec(line);
    if (sample !== null) names.add(sample[1]!);
  }
  return names;
}
