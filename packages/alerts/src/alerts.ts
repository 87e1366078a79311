import type { ActiveAlertStatus, AlertState, EventBus, RuleGroupStatus, RuleStatus } from '@obs/core';
import { ObsError } from '@obs/core';
import {
  createSampleStore,
  evaluate,
  type FloatHistogram,
  formatExpr,
  type Labels,
  labelsKey,
  type PromValue,
  parse,
  type SampleSource,
  type SampleStore,
  type VectorSample,
} from '@obs/promql';
import { alertsError } from './errors.ts';
import {
  type AlertRule,
  type AlertRuleInput,
  alertRulesOf,
  compileRule,
  isRecordingRule,
  type RecordingRule,
  type RuleGroup,
} from './rules.ts';
import { expandTemplate, type TemplateData } from './template.ts';

/** One active (pending or firing) alert, or one that just resolved. */
export interface Alert {
  readonly rule: string;
  readonly state: AlertState;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly value: number;
  /** When it became pending, in ms. */
  readonly activeAt: number;
  readonly firedAt: number | undefined;
  readonly resolvedAt: number | undefined;
}

/** Options of {@link createAlertEngine}. */
export interface AlertEngineOptions {
  /** Alerting rules already compiled, or written in code: one group. @default [] */
  readonly rules?: readonly (AlertRule | AlertRuleInput)[];
  /** Rule groups (recording and alerting rules), as {@link loadRuleGroups} reads them; evaluated after `rules`. @default [] */
  readonly groups?: readonly RuleGroup[];
  /** Where samples come from; recorded series and `ALERTS` are written back when it is a `SampleStore`. @default a new sample store sized for the rules */
  readonly source?: SampleSource;
  /** Called on every state change (the plugin emits `alert:changed`). @default none */
  readonly onChange?: (alert: Alert) => void;
  /** Called when a rule fails to evaluate; its alerts keep their state. @default none */
  readonly onError?: (error: ObsError, rule: AlertRule | RecordingRule) => void;
  /** Lookback of instant selectors. @default 300000 */
  readonly lookbackMs?: number;
  /** The step of a subquery that names none (`x[10m:]`): Prometheus uses the global evaluation interval. @default 60000 */
  readonly subqueryStepMs?: number;
  /** `$externalLabels` in templates (never added to stored series, as Prometheus). @default {} */
  readonly externalLabels?: Readonly<Record<string, string>>;
  /** `$externalURL` in templates. @default "" */
  readonly externalURL?: string;
  /**
   * Restoring `for` state after a restart ({@link AlertEngine.restoreForState}): an alert whose `for` is shorter
   * than this is not restored, and one restored gets at least this long before it fires (Prometheus'
   * `--rules.alert.for-grace-period`). @default 600000
   */
  readonly forGracePeriodMs?: number;
  /** State older than this is not restored (Prometheus' `--rules.alert.for-outage-tolerance`). @default 3600000 */
  readonly forOutageToleranceMs?: number;
  /**
   * Evaluates each rule's expression elsewhere instead of in the embedded engine (remote mode, see
   * `createPrometheusQuery`); then use `evaluateAsync`. @default none: the local engine
   */
  readonly query?: ((expr: string, at: number) => Promise<PromValue>) | undefined;
}

/** The `for` state of one pending or firing alert, as Prometheus keeps it in `ALERTS_FOR_STATE`. */
export interface ForState {
  readonly labels: Readonly<Record<string, string>>;
  readonly state: 'pending' | 'firing';
  /** When it became pending, in ms. */
  readonly activeAt: number;
  /** The last evaluation that saw it, in ms (the last `ALERTS_FOR_STATE` sample). */
  readonly lastEvalAt: number;
}

/** The embedded rule evaluator. */
export interface AlertEngine {
  /** The alerting rules of every group. */
  readonly rules: readonly AlertRule[];
  /** The groups, each evaluated in order (`rules` given in code are the first group, `default`). */
  readonly groups: readonly RuleGroup[];
  /** The store the rules read, when the engine made it (no `source` given). */
  readonly store: SampleStore | undefined;
  /**
   * Evaluates every group at `at` (ms) and returns the alerts that are pending or firing.
   * @throws ObsError `OBS_ERR_ALERTS_EVAL` on an engine made with `query` (use evaluateAsync)
   */
  evaluate(at: number): Alert[];
  /** Evaluates one group (of `groups`) at `at`, its rules in order. @throws as `evaluate` */
  evaluateGroup(group: RuleGroup, at: number): void;
  /** Like `evaluate`, also for an engine whose rules are queried remotely. */
  evaluateAsync(at: number): Promise<Alert[]>;
  /** Like `evaluateGroup`, also for an engine whose rules are queried remotely. */
  evaluateGroupAsync(group: RuleGroup, at: number): Promise<void>;
  /** The pending and firing alerts after the last evaluation. */
  alerts(): Alert[];
  /**
   * Every group and rule with its last evaluation (health, error, duration, time) and active alerts, as
   * Prometheus's `/api/v1/rules` reports them; `defaultIntervalMs` is the interval of groups without their own.
   */
  status(defaultIntervalMs: number): RuleGroupStatus[];
  /** The `for` state of every pending and firing alert, to keep across a restart. */
  forState(): ForState[];
  /**
   * Takes back `for` state saved before a restart, as Prometheus restores it from `ALERTS_FOR_STATE`: at a rule's
   * next evaluation, each alert it returns again keeps its active-since time (shifted by the downtime while it
   * was pending, and never firing sooner than the grace period from now); state older than the outage tolerance,
   * or of a rule whose `for` is shorter than the grace period, is ignored.
   */
  restoreForState(state: readonly ForState[]): void;
  /**
   * Takes back alerts that were firing before a restart (from a state file): each stays firing while its rule
   * returns it, and resolves (an `inactive` change) if the rule has not returned it by `graceUntil` (ms), which
   * leaves time for a new sample store to fill.
   * @returns the alerts taken back; those of a rule that no longer exists, or already held, are left out
   */
  restore(alerts: readonly RestoredAlert[], graceUntil: number): Alert[];
}

/** An alert that fired before a restart; its rule is its `alertname` label. */
export interface RestoredAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
  readonly value: number;
  /** When it started firing, in ms. */
  readonly startsAt: number;
  /** When it became pending, in ms. @default startsAt */
  readonly activeAt?: number | undefined;
}

interface Active {
  state: AlertState;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  value: number;
  activeAt: number;
  firedAt: number | undefined;
  resolvedAt: number | undefined;
  keepFiringSince: number | undefined;
  lastEvalAt: number;
  /** A restored alert that its rule has not returned yet is held firing until then. */
  restoredUntil?: number | undefined;
  /** Its `ALERTS` series' labels for the state they were made in, and its `ALERTS_FOR_STATE` labels: frozen and
   * reused at every evaluation, so the store finds the series without building their keys again. */
  alertsLabels?: Labels | undefined;
  forStateLabels?: Labels | undefined;
  /** Its state when the current evaluation began (undefined for an alert the evaluation created). */
  before?: AlertState | undefined;
}

const hasTemplate = (text: string): boolean => text.includes('{{');

// Per rule: whether its labels and annotations are templates, and the alert labels made per sample label set when
// its labels are not.
const shapes = new WeakMap<
  AlertRule,
  { labels: WeakMap<Labels, { labels: Labels; key: string }> | undefined; staticAnnotations: boolean }
>();
function shapeOf(rule: AlertRule): {
  labels: WeakMap<Labels, { labels: Labels; key: string }> | undefined;
  staticAnnotations: boolean;
} {
  let shape = shapes.get(rule);
  if (shape === undefined) {
    shape = {
      labels: Object.values(rule.labels).some(hasTemplate) ? undefined : new WeakMap(),
      staticAnnotations: !Object.values(rule.annotations).some(hasTemplate),
    };
    shapes.set(rule, shape);
  }
  return shape;
}

function alertsSeries(a: Active): { alerts: Labels; forState: Labels } {
  if (a.alertsLabels?.['alertstate'] !== a.state)
    a.alertsLabels = Object.freeze({ ...a.labels, __name__: 'ALERTS', alertstate: a.state });
  a.forStateLabels ??= Object.freeze({ ...a.labels, __name__: 'ALERTS_FOR_STATE' });
  return { alerts: a.alertsLabels, forState: a.forStateLabels };
}

type Rule = AlertRule | RecordingRule;
type OutSample = { readonly labels: Labels; readonly value: number; readonly histogram?: FloatHistogram | undefined };

// Prometheus keeps resolved alerts this long (and so does not re-announce a flapping alert as new).
const RESOLVED_RETENTION_MS = 15 * 60_000;

// As Prometheus: a template that fails at run time (first() of an empty query) says so in its value.
function expandOrSay(template: string, data: TemplateData): string {
  try {
    return expandTemplate(template, data);
  } catch (err) {
    const message = (err as Error).message.replace(/^\[@obs\/alerts\] template ".*?": /s, '');
    return `<error expanding template: ${message}>`;
  }
}

function samplesOf(result: PromValue): readonly VectorSample[] {
  return result.type === 'vector'
    ? result.samples
    : result.type === 'scalar'
      ? [{ labels: {}, value: result.value }]
      : [];
}

function isWritable(source: SampleSource | undefined): source is SampleStore {
  const s = source as Partial<SampleStore> | undefined;
  return typeof s?.append === 'function' && typeof s.markStale === 'function';
}

/**
 * Creates the rule evaluator: Prometheus' rule groups (recording rules written back to the store; alerting rules
 * with their state machine: inactive, pending, firing, resolved; `for`, `keep_firing_for`; `ALERTS` and
 * `ALERTS_FOR_STATE` written back) over a sample source.
 * @throws ObsError `OBS_ERR_ALERTS_RULE_INVALID` (and the parse codes) for a bad rule
 */
export function createAlertEngine(options: AlertEngineOptions): AlertEngine {
  const coded = (options.rules ?? []).map((r) => ('ast' in r ? r : compileRule(r)));
  const groups: RuleGroup[] = [
    ...(coded.length > 0
      ? [{ name: 'default', intervalMs: undefined, limit: 0, queryOffsetMs: 0, rules: coded, source: 'code' }]
      : []),
    ...(options.groups ?? []),
  ];
  // Several rules may share an alert name (in one group or across groups), as in Prometheus: each keeps its own
  // alerts; series with the same labels from two of them collide in ALERTS as they do there.
  const rules = alertRulesOf(groups);
  const allRules = groups.flatMap((g) => g.rules);
  const store =
    options.source === undefined && options.query === undefined
      ? createSampleStore({ retentionMs: Math.max(60_000, ...allRules.map((r) => r.historyMs)) })
      : undefined;
  const source: SampleSource = options.source ?? store ?? { select: () => [] };
  // Recorded series, ALERTS and ALERTS_FOR_STATE go where the rules read, when that can be written.
  const sink = isWritable(source) ? source : undefined;
  const active = new Map<AlertRule, Map<string, Active>>(rules.map((r) => [r, new Map()]));
  const returned = new Map<Rule, Map<string, Labels>>();
  const externalLabels = { ...options.externalLabels };
  const externalURL = options.externalURL ?? '';
  const graceMs = options.forGracePeriodMs ?? 600_000;
  const toleranceMs = options.forOutageToleranceMs ?? 3_600_000;
  let toRestore: Map<string, ForState> | undefined;
  const restoring = new Set<AlertRule>();
  const evalOptions = {
    lookbackMs: options.lookbackMs,
    ...(options.subqueryStepMs === undefined ? {} : { subqueryStepMs: options.subqueryStepMs }),
  };

  const snapshot = (rule: AlertRule, a: Active): Alert => ({
    rule: rule.name,
    state: a.state,
    labels: a.labels,
    annotations: a.annotations,
    value: a.value,
    activeAt: a.activeAt,
    firedAt: a.firedAt,
    resolvedAt: a.resolvedAt,
  });

  const templateQuery = (at: number) => (q: string) => samplesOf(evaluate(parse(q).expr, source, at, evalOptions));

  const recordRule = (rule: RecordingRule, result: PromValue, limit: number): OutSample[] => {
    const out: OutSample[] = [];
    const seen = new Set<string>();
    for (const s of samplesOf(result)) {
      const labels: Record<string, string> = { ...s.labels, __name__: rule.record };
      for (const [k, v] of Object.entries(rule.labels)) {
        if (v === '') delete labels[k];
        else labels[k] = v;
      }
      const key = labelsKey(labels);
      if (seen.has(key))
        throw alertsError(
          'OBS_ERR_ALERTS_EVAL',
          `[@obs/alerts] recording rule ${JSON.stringify(rule.record)}: vector contains metrics with the same labelset after applying rule labels`,
        );
      seen.add(key);
      out.push({ labels, value: s.value, histogram: s.histogram });
    }
    if (limit > 0 && out.length > limit)
      throw alertsError(
        'OBS_ERR_ALERTS_EVAL',
        `[@obs/alerts] recording rule ${JSON.stringify(rule.record)}: exceeded limit of ${limit} with ${out.length} series`,
      );
    return out;
  };

  // Prometheus' RestoreForState, done at the rule's first evaluation after restoreForState().
  const restoredActiveAt = (rule: AlertRule, key: string, at: number): number | undefined => {
    const saved = toRestore?.get(key);
    if (saved === undefined || at - saved.lastEvalAt > toleranceMs || rule.forMs < graceMs) return undefined;
    const remaining = rule.forMs - (saved.lastEvalAt - saved.activeAt);
    if (remaining <= 0) return saved.activeAt;
    if (remaining < graceMs) return at + graceMs - rule.forMs;
    return saved.activeAt + (at - saved.lastEvalAt);
  };

  const alertRule = (rule: AlertRule, at: number, result: PromValue, limit: number, queryAt: number): OutSample[] => {
    const alerts = active.get(rule)!;
    for (const a of alerts.values()) a.before = a.state;
    const seen = new Set<string>();
    const restoreNow = restoring.has(rule);
    restoring.delete(rule);
    const shape = shapeOf(rule);
    for (const s of samplesOf(result)) {
      let data: TemplateData | undefined;
      const dataOf = (): TemplateData =>
        (data ??= { labels: s.labels, value: s.value, externalLabels, externalURL, query: templateQuery(queryAt) });
      // With no template in the rule's labels, an alert's labels follow from the sample's alone: made once per
      // (immutable) sample label set, not at every evaluation.
      let made = shape.labels?.get(s.labels);
      if (made === undefined) {
        const { __name__: _, ...base } = s.labels;
        const own: Record<string, string> = { ...base };
        for (const [k, v] of Object.entries(rule.labels)) {
          const expanded = shape.labels === undefined ? expandOrSay(v, dataOf()) : v;
          if (expanded === '') delete own[k];
          else own[k] = expanded;
        }
        own['alertname'] = rule.name;
        const frozen = Object.freeze(own);
        made = { labels: frozen, key: labelsKey(frozen) };
        if (shape.labels !== undefined && Object.isFrozen(s.labels)) shape.labels.set(s.labels, made);
      }
      const { labels, key } = made;
      if (seen.has(key))
        throw alertsError(
          'OBS_ERR_ALERTS_EVAL',
          `[@obs/alerts] rule ${JSON.stringify(rule.name)}: vector contains metrics with the same labelset after applying alert labels`,
        );
      seen.add(key);
      let annotations = rule.annotations;
      if (!shape.staticAnnotations) {
        const expanded: Record<string, string> = {};
        for (const [k, v] of Object.entries(rule.annotations)) expanded[k] = expandOrSay(v, dataOf());
        annotations = expanded;
      }
      const a = alerts.get(key);
      if (a !== undefined && a.state !== 'inactive') {
        a.value = s.value;
        a.annotations = annotations;
        a.keepFiringSince = undefined;
        a.restoredUntil = undefined;
        if (restoreNow) a.activeAt = restoredActiveAt(rule, key, at) ?? a.activeAt;
      } else {
        alerts.set(key, {
          state: 'pending',
          labels,
          annotations,
          value: s.value,
          activeAt: (restoreNow ? restoredActiveAt(rule, key, at) : undefined) ?? at,
          firedAt: undefined,
          resolvedAt: undefined,
          keepFiringSince: undefined,
          lastEvalAt: at,
        });
      }
    }
    const out: OutSample[] = [];
    let count = 0;
    for (const [key, a] of alerts) {
      if (seen.has(key)) {
        if (a.state === 'pending' && at - a.activeAt >= rule.forMs) {
          a.state = 'firing';
          a.firedAt = at;
        }
      } else {
        if (a.restoredUntil !== undefined && at < a.restoredUntil) continue;
        a.restoredUntil = undefined;
        let keep = false;
        if (a.state === 'firing' && rule.keepFiringForMs > 0) {
          a.keepFiringSince ??= at;
          keep = at - a.keepFiringSince < rule.keepFiringForMs;
        }
        if (!keep) {
          if (a.state === 'pending' || (a.resolvedAt !== undefined && at - a.resolvedAt > RESOLVED_RETENTION_MS))
            alerts.delete(key);
          if (a.state !== 'inactive') {
            a.state = 'inactive';
            a.resolvedAt = at;
            options.onChange?.(snapshot(rule, a));
          }
          continue;
        }
      }
      count++;
      a.lastEvalAt = at;
      const series = alertsSeries(a);
      out.push({ labels: series.alerts, value: 1 });
      // Prometheus writes whole seconds (ActiveAt.Unix()).
      out.push({ labels: series.forState, value: Math.floor(a.activeAt / 1000) });
    }
    if (limit > 0 && count > limit) {
      // As Prometheus: the rule's alerts are dropped and it fails until it fits again.
      alerts.clear();
      throw alertsError(
        'OBS_ERR_ALERTS_EVAL',
        `[@obs/alerts] rule ${JSON.stringify(rule.name)}: exceeded limit of ${limit} with ${count} alerts`,
      );
    }
    for (const [key, a] of alerts) if (seen.has(key) && a.before !== a.state) options.onChange?.(snapshot(rule, a));
    return out;
  };

  // Writes a rule's output at `t`, and a staleness marker for each series it wrote last time but not now.
  const write = (rule: Rule, t: number, out: readonly OutSample[]): void => {
    const now = new Map<string, Labels>();
    for (const s of out) {
      const key = labelsKey(s.labels);
      now.set(key, s.labels);
      // A recording rule over native histograms records histograms (an alert's value is its float, 0 for them).
      if (s.histogram !== undefined) sink?.appendHistogram?.(s.labels, t, s.histogram);
      else sink?.append(s.labels, t, s.value);
    }
    for (const [key, labels] of returned.get(rule) ?? []) if (!now.has(key)) sink?.markStale(labels, t);
    returned.set(rule, now);
  };

  const apply = (group: RuleGroup, rule: Rule, at: number, result: PromValue): void => {
    const t = at - group.queryOffsetMs;
    const out = isRecordingRule(rule)
      ? recordRule(rule, result, group.limit)
      : alertRule(rule, at, result, group.limit, t);
    write(rule, t, out);
  };

  // Each rule's and group's last evaluation, for status().
  const health = new Map<Rule, { ok: boolean; error: string | undefined; ms: number; at: number }>();
  const groupRuns = new Map<RuleGroup, { ms: number; at: number }>();
  const ran = (rule: Rule, at: number, started: number, error: ObsError | undefined): void => {
    health.set(rule, { ok: error === undefined, error: error?.message, ms: performance.now() - started, at });
  };

  const fail = (rule: Rule, err: unknown): ObsError => {
    const name = isRecordingRule(rule)
      ? `recording rule ${JSON.stringify(rule.record)}`
      : `rule ${JSON.stringify(rule.name)}`;
    const error =
      err instanceof ObsError
        ? err
        : alertsError(
            'OBS_ERR_ALERTS_EVAL',
            `[@obs/alerts] ${name}: ${(err as Error).message.replace(/^\[@obs\/promql\] /, '')}`,
            { cause: err },
          );
    options.onError?.(error, rule);
    return error;
  };

  const current = (): Alert[] => {
    const out: Alert[] = [];
    for (const [rule, alerts] of active)
      for (const a of alerts.values()) if (a.state !== 'inactive') out.push(snapshot(rule, a));
    return out;
  };

  const evaluateGroup = (group: RuleGroup, at: number): void => {
    if (options.query !== undefined)
      throw alertsError('OBS_ERR_ALERTS_EVAL', '[@obs/alerts] a remote engine evaluates with evaluateAsync()');
    const groupStarted = performance.now();
    for (const rule of group.rules) {
      const started = performance.now();
      try {
        apply(group, rule, at, evaluate(rule.ast, source, at - group.queryOffsetMs, evalOptions));
        ran(rule, at, started, undefined);
      } catch (err) {
        ran(rule, at, started, fail(rule, err));
      }
    }
    groupRuns.set(group, { ms: performance.now() - groupStarted, at });
  };

  const evaluateGroupAsync = async (group: RuleGroup, at: number): Promise<void> => {
    const query = options.query;
    if (query === undefined) return evaluateGroup(group, at);
    // Queries run together (a remote server does not see what this process records); state changes are applied
    // in rule order, as a local evaluation applies them.
    const started = performance.now();
    const results = await Promise.allSettled(group.rules.map((r) => query(r.expr, at - group.queryOffsetMs)));
    results.forEach((res, i) => {
      const rule = group.rules[i]!;
      try {
        if (res.status === 'rejected') throw res.reason;
        apply(group, rule, at, res.value);
        ran(rule, at, started, undefined);
      } catch (err) {
        ran(rule, at, started, fail(rule, err));
      }
    });
    groupRuns.set(group, { ms: performance.now() - started, at });
  };

  // Prometheus reports a rule's expression as its printer writes it: formatted once per rule.
  const queries = new Map<Rule, string>();
  const queryOf = (rule: Rule): string => {
    let text = queries.get(rule);
    if (text === undefined) {
      text = formatExpr(rule.ast);
      queries.set(rule, text);
    }
    return text;
  };
  const ruleStatus = (rule: Rule): RuleStatus => {
    const h = health.get(rule);
    const common = {
      query: queryOf(rule),
      labels: rule.labels,
      health: h === undefined ? ('unknown' as const) : h.ok ? ('ok' as const) : ('err' as const),
      lastError: h?.error,
      evaluationMs: h?.ms ?? 0,
      lastEvaluation: h?.at,
    };
    if (isRecordingRule(rule)) return { type: 'recording', name: rule.record, ...common };
    const list: ActiveAlertStatus[] = [];
    let state: AlertState = 'inactive';
    for (const a of active.get(rule)?.values() ?? []) {
      if (a.state === 'inactive') continue;
      if (a.state === 'firing' || state === 'inactive') state = a.state;
      list.push({
        labels: a.labels,
        annotations: a.annotations,
        state: a.state,
        activeAt: a.activeAt,
        keepFiringSince: a.keepFiringSince,
        value: a.value,
      });
    }
    return {
      type: 'alerting',
      name: rule.name,
      ...common,
      annotations: rule.annotations,
      forMs: rule.forMs,
      keepFiringForMs: rule.keepFiringForMs,
      state,
      alerts: list,
    };
  };

  return {
    rules,
    groups,
    store,
    evaluate(at) {
      for (const g of groups) evaluateGroup(g, at);
      return current();
    },
    evaluateGroup,
    async evaluateAsync(at) {
      for (const g of groups) await evaluateGroupAsync(g, at);
      return current();
    },
    evaluateGroupAsync,
    alerts: current,
    status(defaultIntervalMs) {
      return groups.map((g) => ({
        name: g.name,
        file: g.source === 'code' ? '' : g.source,
        intervalMs: g.intervalMs ?? defaultIntervalMs,
        limit: g.limit,
        rules: g.rules.map(ruleStatus),
        evaluationMs: groupRuns.get(g)?.ms ?? 0,
        lastEvaluation: groupRuns.get(g)?.at,
      }));
    },
    forState() {
      const out: ForState[] = [];
      for (const alerts of active.values())
        for (const a of alerts.values())
          if (a.state === 'pending' || a.state === 'firing')
            out.push({ labels: a.labels, state: a.state, activeAt: a.activeAt, lastEvalAt: a.lastEvalAt });
      return out;
    },
    restoreForState(state) {
      toRestore = new Map(state.map((s) => [labelsKey(s.labels), s]));
      for (const r of rules) restoring.add(r);
    },
    restore(restored, graceUntil) {
      // With one alert name on several rules, an alert goes back to the first of them (their labels usually differ
      // by the rules' own labels, which the restored alert carries).
      const byName = new Map<string, AlertRule>();
      for (const r of [...rules].reverse()) byName.set(r.name, r);
      const out: Alert[] = [];
      for (const r of restored) {
        const own = rules.find(
          (x) => x.name === r.labels.alertname && Object.entries(x.labels).every(([k, v]) => r.labels[k] === v),
        );
        const rule = own ?? byName.get(r.labels.alertname ?? '');
        const alerts = rule === undefined ? undefined : active.get(rule);
        const key = labelsKey(r.labels);
        if (rule === undefined || alerts === undefined || alerts.has(key)) continue;
        const a: Active = {
          state: 'firing',
          labels: r.labels,
          annotations: r.annotations ?? {},
          value: r.value,
          activeAt: r.activeAt ?? r.startsAt,
          firedAt: r.startsAt,
          resolvedAt: undefined,
          keepFiringSince: undefined,
          lastEvalAt: r.startsAt,
          restoredUntil: graceUntil,
        };
        alerts.set(key, a);
        out.push(snapshot(rule, a));
      }
      return out;
    },
  };
}

/** Emits an alert change on the bus as `alert:changed`. */
export function emitAlertChanged(bus: EventBus, alert: Alert): void {
  bus.emit('alert:changed', {
    rule: alert.rule,
    state: alert.state,
    labels: alert.labels,
    value: alert.value,
    activeAt: alert.state === 'inactive' ? undefined : alert.activeAt,
  });
}
