import type { AlertRuleDescriptor, AlertsConfig, ObsPlugin, PluginContext } from '@obs/core';
import { type ConfigIssue, formatConfigIssue, ObsConfigError } from '@obs/core';
import { formatPromDuration, labelsKey, type SampleSource } from '@obs/promql';
import { type AlertEngine, createAlertEngine, emitAlertChanged } from './alerts.ts';
import { alertsConfigSection, alertsSection, checkChannelConfig, smtpTlsFromConfig } from './config.ts';
import { alertsError } from './errors.ts';
import { createRuleStore, isWritableStore, type RuleStore } from './internal/rule-store.ts';
import { isHttpUrl } from './internal/url.ts';
import type { Dispatcher } from './notify/dispatcher.ts';
import {
  channelNamesFromConfig,
  checkNotifications,
  checkRouteChannels,
  type NotificationPipeline,
  type NotificationsOptions,
  startNotifications,
} from './notify/pipeline.ts';
import { alertsRoutes } from './notify/routes.ts';
import { createPrometheusQuery, type PrometheusQueryOptions } from './remote.ts';
import {
  type AlertRule,
  type AlertRuleInput,
  compileRule,
  exposedMetricNames,
  loadRuleGroups,
  type RuleGroup,
  seedRules,
  unmatchedMetrics,
} from './rules.ts';

/** Options of {@link alertsPlugin}; the rest comes from `[monitoring.alerts]`. */
export interface AlertsPluginOptions {
  /** Rules in code; they replace the rule file. @default the `rules_file` of the config, else the seed's rules */
  readonly rules?: readonly (AlertRule | AlertRuleInput)[];
  /** A rule file (seed YAML or Prometheus rule groups); wins over the config's `rules_file`. @default none */
  readonly rulesFile?: string;
  /**
   * Where samples come from. @default the embedded store of @obs/metrics (`metrics.store`), where the rules also
   * write what they record; without one, a store of their own fed by `metrics:collected`
   */
  readonly source?: SampleSource;
  /** Remote mode: evaluate the rules with this Prometheus server's query API instead of locally. @default none */
  readonly remote?: PrometheusQueryOptions;
  /**
   * Notifications of firing and resolved alerts (routing, grouping, silences, retries); `false` turns them
   * off. @default the log channel plus the e-mail and webhook of `[monitoring.alerts]`, Alertmanager's timing
   */
  readonly notifications?: NotificationsOptions | false;
}

/** The alerts plugin, with its engine once set up. */
export interface AlertsPlugin extends ObsPlugin {
  readonly name: '@obs/alerts';
  /** The rule evaluator. @throws ObsError `OBS_ERR_MONITOR_STATE` before setup */
  readonly engine: AlertEngine;
  /** Silences and the alerts being notified. @throws ObsError `OBS_ERR_MONITOR_STATE` outside start..stop or with notifications off */
  readonly dispatcher: Dispatcher;
}

function descriptor(r: AlertRule): AlertRuleDescriptor {
  return {
    name: r.name,
    expr: r.expr,
    threshold: r.threshold,
    forMs: r.forMs,
    severity: r.severity,
    labels: r.labels,
    annotations: r.annotations,
  };
}

/**
 * Embedded alerting: evaluates the rules every `[monitoring.alerts] evaluation_interval` over the
 * app's own metrics (the samples of `metrics:collected`) and emits `alert:changed`.
 * @throws ObsConfigError for bad options; ObsError `OBS_ERR_ALERTS_*` for bad rules given in options (a rule
 * file from the config fails in setup)
 */
export function alertsPlugin(options: AlertsPluginOptions = {}): AlertsPlugin {
  const issues: ConfigIssue[] = [];
  if (options.rules !== undefined && !Array.isArray(options.rules))
    issues.push({ path: 'rules', message: 'must be an array of rules' });
  if (options.rules !== undefined && options.rulesFile !== undefined)
    issues.push({ path: 'rulesFile', message: 'cannot be combined with rules' });
  if (options.rulesFile !== undefined && (typeof options.rulesFile !== 'string' || options.rulesFile === ''))
    issues.push({ path: 'rulesFile', message: 'must be a non-empty path' });
  if (options.source !== undefined && typeof options.source.select !== 'function')
    issues.push({ path: 'source', message: 'must implement select(matchers, minT, maxT)' });
  if (options.remote !== undefined) {
    if (!isHttpUrl(options.remote.url)) issues.push({ path: 'remote.url', message: 'must be an http(s) URL' });
    const timeout = options.remote.timeoutMs;
    if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0))
      issues.push({ path: 'remote.timeoutMs', message: 'must be a positive number of ms' });
    if (options.source !== undefined) issues.push({ path: 'remote', message: 'cannot be combined with source' });
  }
  if (issues.length > 0) throw new ObsConfigError('@obs/alerts', issues);
  if (options.notifications !== undefined && options.notifications !== false) checkNotifications(options.notifications);
  // Rules given here are checked now, before any monitor exists.
  const early: { rules?: AlertRule[]; groups?: RuleGroup[] } | undefined =
    options.rules !== undefined
      ? { rules: options.rules.map((r) => ('ast' in r ? r : compileRule(r))) }
      : options.rulesFile !== undefined
        ? { groups: loadRuleGroups(options.rulesFile) }
        : undefined;
  let engine: AlertEngine | undefined;
  let timers: NodeJS.Timeout[] = [];
  let store: RuleStore | undefined;
  let ctx: PluginContext | undefined;
  let pipeline: NotificationPipeline | undefined;
  let alerts: AlertsConfig | undefined;
  const notifications = options.notifications;
  return {
    name: '@obs/alerts',
    section: 'alerts',
    configSection: alertsConfigSection,
    get engine(): AlertEngine {
      if (engine === undefined)
        throw alertsError('OBS_ERR_MONITOR_STATE', '[@obs/alerts] the engine exists after setup');
      return engine;
    },
    get dispatcher(): Dispatcher {
      if (pipeline === undefined)
        throw alertsError('OBS_ERR_MONITOR_STATE', '[@obs/alerts] the dispatcher exists while the monitor runs');
      return pipeline.dispatcher;
    },
    setup(context) {
      ctx = context;
      alerts = alertsSection(context.config);
      const file = alerts.rules_file;
      const { namespace, subsystem } = context.config.prometheus;
      const loaded =
        early ?? (file !== '' ? { groups: loadRuleGroups(file) } : { rules: seedRules({ namespace, subsystem }) });
      if (notifications !== false) {
        // A CA file that cannot be read fails here, naming the key, not at the first e-mail; so do a half-configured
        // channel, which could send nothing, and a route to a channel that does not exist, whose alerts would vanish.
        // A mail server without recipients is a warning: nobody asked to be mailed.
        for (const warning of checkChannelConfig(context.config))
          context.logger.warn(`[@obs/alerts] ${formatConfigIssue(warning)}`);
        smtpTlsFromConfig(alerts, context.config);
        checkRouteChannels(context.config, alerts, notifications ?? {});
      }
      // With no source of their own, the rules read (and write) a store that moves to @obs/metrics' at start.
      const ruleStore =
        options.source === undefined && options.remote === undefined ? createRuleStore(60_000) : undefined;
      const made = createAlertEngine({
        ...loaded,
        source: options.source ?? ruleStore,
        // As Prometheus: a subquery without a step uses the global evaluation interval.
        subqueryStepMs: context.config.alerts.evaluation_interval,
        externalLabels: alerts.external_labels ?? {},
        externalURL: alerts.external_url ?? '',
        forGracePeriodMs: alerts.for_grace_period ?? 600_000,
        forOutageToleranceMs: alerts.for_outage_tolerance ?? 3_600_000,
        query: options.remote === undefined ? undefined : createPrometheusQuery(options.remote),
        onChange: (alert) => {
          emitAlertChanged(context.bus, alert);
          pipeline?.receive(alert);
        },
        onError: (error) => context.reportError(error),
      });
      ruleStore?.setRetention(Math.max(60_000, ...made.groups.flatMap((g) => g.rules.map((r) => r.historyMs))));
      engine = ruleStore === undefined ? made : { ...made, store: ruleStore };
      store = ruleStore;
      // The engine writes ALERTS and ALERTS_FOR_STATE itself, as Prometheus' rule manager does; the copy of ALERTS
      // that @obs/metrics exposes is for scrapers, and would collide with it here.
      if (ruleStore !== undefined)
        context.bus.on('metrics:collected', (e) => {
          if (!ruleStore.shared)
            ruleStore.ingest(
              e.at,
              e.samples.filter((s) => s.name !== 'ALERTS' && s.name !== 'ALERTS_FOR_STATE'),
            );
        });
      if (notifications !== false && notifications?.http !== false) {
        const routes = alertsRoutes(
          () => pipeline?.dispatcher,
          () => pipeline?.persist(),
        );
        context.endpoints.mount('health', '/alerts', routes.alerts);
        context.endpoints.mount('health', '/silences', routes.silences);
      }
      const descriptors = Object.freeze(made.rules.map(descriptor));
      context.provide('alerts.rules', () => descriptors);
      const intervalMs = context.config.alerts.evaluation_interval;
      context.provide('alerts.status', () => made.status(intervalMs));
    },
    async start() {
      const context = ctx;
      const e = engine;
      if (context === undefined || e === undefined) return;
      // @obs/metrics keeps the app's samples already (whichever plugin was registered first): read those.
      if (store !== undefined && context.has('metrics.store')) {
        const shared = context.need('metrics.store');
        if (isWritableStore(shared)) {
          store.share(shared);
          for (const g of e.groups)
            for (const r of g.rules)
              if (r.historyMs > shared.retentionMs)
                context.logger.warn(
                  `[@obs/alerts] rule ${JSON.stringify('record' in r ? r.record : r.name)} (${r.source}) reads ${formatPromDuration(r.historyMs)} of history, but [monitoring.prometheus] retention keeps ${formatPromDuration(shared.retentionMs)}: it sees only that much`,
                );
        }
      }
      // A rule on a metric the app does not expose (a namespace or subsystem mismatch, a typo) would never fire
      // and say nothing: say it once, at start, when the live metric set is known. Remote rules watch other apps.
      if (options.remote === undefined && context.has('metrics.descriptors')) {
        const exposed = exposedMetricNames(context.need('metrics.descriptors')());
        for (const u of unmatchedMetrics(
          e.groups.flatMap((g) => g.rules),
          exposed,
        ))
          context.logger.warn(
            `[@obs/alerts] rule ${JSON.stringify(u.rule)} (${u.source}) selects ${u.metric}, which no metric of this app matches: it cannot fire`,
          );
      }
      if (notifications !== false) {
        if (alerts !== undefined && alerts.smtp_tls === 'none' && channelNamesFromConfig(alerts).includes('email'))
          context.logger.warn(
            '[@obs/alerts] smtp_tls = "none": alert e-mails and the SMTP credentials go to the server in clear text',
          );
        const p = startNotifications(context, notifications ?? {}, alerts, e);
        pipeline = p;
        // Pending and firing alerts keep their active-since time across the restart (Prometheus restores it from
        // ALERTS_FOR_STATE), so a restart does not reset a `for:` clock.
        e.restoreForState(p.restoredForState);
        const saved = new Map(p.restoredForState.map((f) => [labelsKey(f.labels), f]));
        // Notifications carry the external labels; the engine's alerts do not.
        const external = Object.entries(alerts?.external_labels ?? {});
        const internal = (labels: Readonly<Record<string, string>>): Record<string, string> => {
          const out = { ...labels };
          for (const [k, v] of external) if (out[k] === v) delete out[k];
          return out;
        };
        // Alerts that fired before a restart: the engine holds them while their rule still returns them, and
        // resolves them (notified to their receivers) when it no longer does. The grace lets a new sample store
        // fill: two evaluations or collections, whichever is longer.
        const held = p.dispatcher.alerts().filter((a) => a.status === 'firing');
        if (held.length > 0) {
          const prometheus = (context.config as { prometheus?: { collect_interval?: number } }).prometheus;
          const grace = 2 * Math.max(context.config.alerts.evaluation_interval, prometheus?.collect_interval ?? 0);
          const back = e.restore(
            held.map((a) => {
              const labels = internal(a.labels);
              return { ...a, labels, activeAt: saved.get(labelsKey(labels))?.activeAt };
            }),
            Date.now() + grace,
          );
          for (const a of back) emitAlertChanged(context.bus, a);
          const kept = new Set(back.map((a) => labelsKey(a.labels)));
          // A rule that no longer exists ends its alerts.
          for (const a of held)
            if (!kept.has(labelsKey(internal(a.labels))))
              p.dispatcher.receive({
                labels: a.labels,
                annotations: a.annotations ?? {},
                value: a.value,
                startsAt: a.startsAt,
                status: 'resolved',
                endsAt: Date.now(),
              });
        }
      }
      // Each group on its own interval, independently of the others, as Prometheus' rule manager runs them.
      let hadState = false;
      for (const group of e.groups) {
        let running = false;
        const timer = setInterval(() => {
          // A slow remote query must not pile up ticks.
          if (running) return;
          running = true;
          e.evaluateGroupAsync(group, Date.now())
            .then(() => {
              // The state file follows the alerts' `for` state (at most one write a second).
              const has = e.forState().length > 0;
              if (has || hadState) pipeline?.persist();
              hadState = has;
            })
            .catch((err: unknown) => context.reportError(err))
            .finally(() => {
              running = false;
            });
        }, group.intervalMs ?? context.config.alerts.evaluation_interval);
        timer.unref();
        timers.push(timer);
      }
    },
    async stop() {
      for (const timer of timers) clearInterval(timer);
      timers = [];
      const p = pipeline;
      pipeline = undefined;
      await p?.close();
    },
  };
}
