import type { AlertState, EventBus } from '@obs/core';
import { ObsError } from '@obs/core';
import {
  createSampleStore,
  evaluate,
  labelsKey,
  type PromValue,
  type SampleSource,
  type SampleStore,
} from '@obs/promql';
import { type AlertRule, type AlertRuleInput, compileRule } from './rules.ts';
import { expandTemplate } from './template.ts';

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
  /** Rules already compiled, or written in code. */
  readonly rules: readonly (AlertRule | AlertRuleInput)[];
  /** Where samples come from. @default a new sample store sized for the rules */
  readonly source?: SampleSource;
  /** Called on every state change (the plugin emits `alert:changed`). @default none */
  readonly onChange?: (alert: Alert) => void;
  /** Called when a rule fails to evaluate; its alerts keep their state. @default none */
  readonly onError?: (error: ObsError, rule: AlertRule) => void;
  /** Lookback of instant selectors. @default 300000 */
  readonly lookbackMs?: number;
  /**
   * Evaluates each rule's expression elsewhere instead of in the embedded engine (remote mode, see
   * `createPrometheusQuery`); then use `evaluateAsync`. @default none: the local engine
   */
  readonly query?: ((expr: string, at: number) => Promise<PromValue>) | undefined;
}

/** The embedded rule evaluator. */
export interface AlertEngine {
  readonly rules: readonly AlertRule[];
  /** The store the rules read, when the engine made it (no `source` given). */
  readonly store: SampleStore | undefined;
  /**
   * Evaluates every rule at `at` (ms) and returns the alerts that are pending or firing.
   * @throws ObsError `OBS_ERR_ALERTS_EVAL` on an engine made with `query` (use evaluateAsync)
   */
  evaluate(at: number): Alert[];
  /** Like `evaluate`, also for an engine whose rules are queried remotely. */
  evaluateAsync(at: number): Promise<Alert[]>;
  /** The pending and firing alerts after the last evaluation. */
  alerts(): Alert[];
  /**
   * Takes back alerts that were firing before a restart (from a state file), as Prometheus restores its `for`
   * state: each stays firing while its rule returns it, and resolves (an `inactive` change) if the rule has not
   * returned it by `graceUntil` (ms), which leaves time for a new sample store to fill.
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
  /** A restored alert that its rule has not returned yet is held firing until then. */
  restoredUntil?: number | undefined;
}

// Prometheus keeps resolved alerts this long (and so does not re-announce a flapping alert as new).
const RESOLVED_RETENTION_MS = 15 * 60_000;

/**
 * Creates the rule evaluator: Prometheus' alerting-rule state machine (inactive, pending, firing,
 * resolved; `for`, `keep_firing_for`) over a sample source.
 * @throws ObsError `OBS_ERR_ALERTS_RULE_INVALID` (and the parse codes) for a bad rule
 */
export function createAlertEngine(options: AlertEngineOptions): AlertEngine {
  const rules = options.rules.map((r) => ('ast' in r ? r : compileRule(r)));
  const names = new Set<string>();
  for (const r of rules) {
    if (names.has(r.name))
      throw new ObsError('OBS_ERR_ALERTS_RULE_INVALID', `[@obs/alerts] two rules are named ${JSON.stringify(r.name)}`);
    names.add(r.name);
  }
  const store =
    options.source === undefined && options.query === undefined
      ? createSampleStore({ retentionMs: Math.max(60_000, ...rules.map((r) => r.historyMs)) })
      : undefined;
  const source: SampleSource = options.source ?? store ?? { select: () => [] };
  const active = new Map<AlertRule, Map<string, Active>>(rules.map((r) => [r, new Map()]));

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

  const localQuery = (rule: AlertRule, at: number): PromValue =>
    evaluate(rule.ast, source, at, { lookbackMs: options.lookbackMs });

  const evalRule = (rule: AlertRule, at: number, result: PromValue): void => {
    const samples =
      result.type === 'vector' ? result.samples : result.type === 'scalar' ? [{ labels: {}, value: result.value }] : [];
    const alerts = active.get(rule)!;
    const before = new Map([...alerts].map(([k, a]) => [k, a.state]));
    const seen = new Set<string>();
    for (const s of samples) {
      const { __name__: _, ...base } = s.labels;
      const data = { labels: base, value: s.value };
      const labels: Record<string, string> = { ...base };
      for (const [k, v] of Object.entries(rule.labels)) {
        const expanded = expandTemplate(v, data);
        if (expanded === '') delete labels[k];
        else labels[k] = expanded;
      }
      labels['alertname'] = rule.name;
      const key = labelsKey(labels);
      if (seen.has(key))
        throw new ObsError(
          'OBS_ERR_ALERTS_EVAL',
          `[@obs/alerts] rule ${JSON.stringify(rule.name)}: vector contains metrics with the same labelset after applying alert labels`,
        );
      seen.add(key);
      const annotations: Record<string, string> = {};
      for (const [k, v] of Object.entries(rule.annotations)) annotations[k] = expandTemplate(v, data);
      const a = alerts.get(key);
      if (a !== undefined && a.state !== 'inactive') {
        a.value = s.value;
        a.annotations = annotations;
        a.keepFiringSince = undefined;
        a.restoredUntil = undefined;
      } else {
        alerts.set(key, {
          state: 'pending',
          labels,
          annotations,
          value: s.value,
          activeAt: at,
          firedAt: undefined,
          resolvedAt: undefined,
          keepFiringSince: undefined,
        });
      }
    }
    for (const [key, a] of alerts) {
      if (seen.has(key)) {
        if (a.state === 'pending' && at - a.activeAt >= rule.forMs) {
          a.state = 'firing';
          a.firedAt = at;
        }
        continue;
      }
      if (a.restoredUntil !== undefined && at < a.restoredUntil) continue;
      a.restoredUntil = undefined;
      if (a.state === 'pending' || (a.resolvedAt !== undefined && at - a.resolvedAt > RESOLVED_RETENTION_MS)) {
        alerts.delete(key);
        if (a.state === 'pending') {
          a.state = 'inactive';
          a.resolvedAt = at;
          options.onChange?.(snapshot(rule, a));
        }
        continue;
      }
      if (a.state === 'firing' && rule.keepFiringForMs > 0) {
        a.keepFiringSince ??= at;
        if (at - a.keepFiringSince < rule.keepFiringForMs) continue;
      }
      if (a.state !== 'inactive') {
        a.state = 'inactive';
        a.resolvedAt = at;
        options.onChange?.(snapshot(rule, a));
      }
    }
    for (const [key, a] of alerts)
      if (seen.has(key) && before.get(key) !== a.state) options.onChange?.(snapshot(rule, a));
  };

  const fail = (rule: AlertRule, err: unknown): void => {
    const error =
      err instanceof ObsError
        ? err
        : new ObsError(
            'OBS_ERR_ALERTS_EVAL',
            `[@obs/alerts] rule ${JSON.stringify(rule.name)}: ${(err as Error).message.replace(/^\[@obs\/promql\] /, '')}`,
            { cause: err },
          );
    options.onError?.(error, rule);
  };

  const current = (): Alert[] => {
    const out: Alert[] = [];
    for (const [rule, alerts] of active)
      for (const a of alerts.values()) if (a.state !== 'inactive') out.push(snapshot(rule, a));
    return out;
  };

  return {
    rules,
    store,
    evaluate(at) {
      if (options.query !== undefined)
        throw new ObsError('OBS_ERR_ALERTS_EVAL', '[@obs/alerts] a remote engine evaluates with evaluateAsync()');
      for (const rule of rules) {
        try {
          evalRule(rule, at, localQuery(rule, at));
        } catch (err) {
          fail(rule, err);
        }
      }
      return current();
    },
    async evaluateAsync(at) {
      const query = options.query;
      if (query === undefined) return this.evaluate(at);
      // Queries run together; state changes are applied in rule order, as a local tick applies them.
      const results = await Promise.allSettled(rules.map((r) => query(r.expr, at)));
      results.forEach((res, i) => {
        const rule = rules[i]!;
        try {
          if (res.status === 'rejected') throw res.reason;
          evalRule(rule, at, res.value);
        } catch (err) {
          fail(rule, err);
        }
      });
      return current();
    },
    alerts: current,
    restore(restored, graceUntil) {
      const byName = new Map(rules.map((r) => [r.name, r]));
      const out: Alert[] = [];
      for (const r of restored) {
        const rule = byName.get(r.labels.alertname ?? '');
        const alerts = rule === undefined ? undefined : active.get(rule);
        const key = labelsKey(r.labels);
        if (rule === undefined || alerts === undefined || alerts.has(key)) continue;
        const a: Active = {
          state: 'firing',
          labels: r.labels,
          annotations: r.annotations ?? {},
          value: r.value,
          activeAt: r.startsAt,
          firedAt: r.startsAt,
          resolvedAt: undefined,
          keepFiringSince: undefined,
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
