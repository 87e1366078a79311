import { readFileSync } from 'node:fs';
import type { AlertRuleDescriptor } from '@obs/core';
import { ObsError } from '@obs/core';
import { type Expr, historyNeeded, type ParsedExpr, PromqlError, parse, parsePromDuration } from '@obs/promql';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import { expandTemplate } from './template.ts';

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

const SEVERITIES: ReadonlySet<string> = new Set(['info', 'warning', 'critical']);
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function invalid(where: string, message: string, cause?: unknown): ObsError {
  return new ObsError('OBS_ERR_ALERTS_RULE_INVALID', `[@obs/alerts] ${where}: ${message}`, { cause });
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

/**
 * Checks and parses one rule. `where` prefixes messages (a file and line).
 * @throws ObsError `OBS_ERR_ALERTS_RULE_INVALID` for a malformed rule; `OBS_ERR_ALERTS_PARSE` or
 * `OBS_ERR_ALERTS_UNSUPPORTED` for its expression, naming the rule and the position.
 */
export function compileRule(input: AlertRuleInput, source = 'code', where: string = source): AlertRule {
  const at = `${where}: rule ${JSON.stringify(input.name ?? '')}`;
  if (typeof input.name !== 'string' || input.name === '') throw invalid(where, 'a rule needs a name');
  if (typeof input.expr !== 'string' || input.expr.trim() === '') throw invalid(at, 'expr is empty');
  let parsed: ParsedExpr;
  try {
    parsed = parse(input.expr);
  } catch (err) {
    if (err instanceof PromqlError)
      throw new ObsError(
        err.code === 'OBS_ERR_PROMQL_UNSUPPORTED' ? 'OBS_ERR_ALERTS_UNSUPPORTED' : 'OBS_ERR_ALERTS_PARSE',
        `${at}: ${err.message.replace(/^\[@obs\/promql\] /, '')}`,
        { cause: err },
      );
    throw err;
  }
  if (parsed.type !== 'vector' && parsed.type !== 'scalar')
    throw invalid(at, `expr must be an instant vector or scalar, got ${parsed.type}`);
  const labels = { ...input.labels };
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_NAME.test(k)) throw invalid(at, `invalid label name ${JSON.stringify(k)}`);
    if (typeof v !== 'string') throw invalid(at, `label ${k} must be a string`);
  }
  const severity = input.severity ?? labels['severity'] ?? 'warning';
  if (!SEVERITIES.has(severity))
    throw invalid(at, `severity must be info, warning or critical, got ${JSON.stringify(severity)}`);
  // The seed's severity becomes a label, as it would in a Prometheus rule; a rule without one gets none.
  if (input.severity !== undefined) labels['severity'] ??= input.severity;
  const annotations = { ...input.annotations };
  // Templates are tried once now, so that a broken one fails at load and not at 3 a.m.
  for (const text of [...Object.values(annotations), ...Object.values(labels)]) {
    try {
      expandTemplate(String(text), { labels: { a: 'b' }, value: 1 });
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

/**
 * Parses a rule file's text: the seed's format (`alerts:` with name, condition, threshold, duration,
 * severity, labels) or Prometheus' (`groups:` of `rules:` with alert, expr, for, keep_firing_for,
 * labels, annotations).
 * @throws ObsError `OBS_ERR_ALERTS_RULES_FILE` for YAML that is neither; the codes of {@link compileRule} for a bad rule.
 */
export function parseRules(text: string, file = '<rules>'): AlertRule[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = lines.linePos(e.pos[0]);
    throw new ObsError('OBS_ERR_ALERTS_RULES_FILE', `[@obs/alerts] ${file}:${pos.line}:${pos.col}: ${e.message}`);
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
  const rules: AlertRule[] = [];
  if (isMap(root) && Array.isArray(data?.['alerts'])) {
    (data['alerts'] as Record<string, unknown>[]).forEach((r, i) => {
      const input: AlertRuleInput = {
        name: r['name'] as string,
        expr: r['condition'] as string,
        for: r['duration'] as string | undefined,
        severity: r['severity'] as AlertSeverity | undefined,
        labels: r['labels'] as Record<string, string> | undefined,
        annotations: r['annotations'] as Record<string, string> | undefined,
        threshold: r['threshold'] as number | undefined,
      };
      rules.push(compileRule(input, file, where(['alerts', i, 'condition'])));
    });
    return rules;
  }
  if (isMap(root) && isSeq(doc.get('groups'))) {
    const groups = data?.['groups'] as Record<string, unknown>[];
    groups.forEach((g, gi) => {
      const list = (g['rules'] ?? []) as Record<string, unknown>[];
      list.forEach((r, ri) => {
        if (r['record'] !== undefined)
          throw new ObsError(
            'OBS_ERR_ALERTS_UNSUPPORTED',
            `[@obs/alerts] ${where(['groups', gi, 'rules', ri])}: recording rules are not supported yet`,
          );
        const input: AlertRuleInput = {
          name: r['alert'] as string,
          expr: String(r['expr'] ?? ''),
          for: r['for'] as string | undefined,
          keepFiringFor: r['keep_firing_for'] as string | undefined,
          labels: r['labels'] as Record<string, string> | undefined,
          annotations: r['annotations'] as Record<string, string> | undefined,
        };
        rules.push(compileRule(input, file, where(['groups', gi, 'rules', ri, 'expr'])));
      });
    });
    return rules;
  }
  throw new ObsError(
    'OBS_ERR_ALERTS_RULES_FILE',
    `[@obs/alerts] ${file}: expected "alerts:" (seed format) or "groups:" (Prometheus rule file)`,
  );
}

/**
 * Reads and parses a rule file.
 * @throws ObsError `OBS_ERR_ALERTS_RULES_FILE` when it cannot be read; see {@link parseRules}.
 */
export function loadRulesFile(path: string): AlertRule[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ObsError('OBS_ERR_ALERTS_RULES_FILE', `[@obs/alerts] cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseRules(text, path);
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
