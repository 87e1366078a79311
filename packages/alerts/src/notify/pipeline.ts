import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import {
  type AlertsConfig,
  type ConfigIssue,
  configIssueAt,
  type ObsConfig,
  ObsConfigError,
  type PluginContext,
} from '@obs/core';
import type { Alert, ForState } from '../alerts.ts';
import {
  quietHoursFromConfig,
  routeDefaultsFromConfig,
  routesFromConfig,
  silenceLimitsFromConfig,
  smtpTlsFromConfig,
} from '../config.ts';
import { alertsError } from '../errors.ts';
import { alertsPageUrl, isHttpUrl, isSlackWebhook } from '../internal/url.ts';
import { type AlertmanagerClientOptions, createAlertmanagerClient } from './alertmanager-client.ts';
import { createEmailChannel } from './channels/email.ts';
import { createLogChannel } from './channels/log.ts';
import { createSlackChannel } from './channels/slack.ts';
import { createWebhookChannel } from './channels/webhook.ts';
import {
  createDispatcher,
  type DispatchedAlert,
  type Dispatcher,
  type DispatcherOptions,
  type DispatcherState,
  type SilenceLimits,
} from './dispatcher.ts';
import { fingerprint, type NotificationChannel, NotificationError } from './notification.ts';
import {
  createNotifier,
  type DeliveryEvent,
  type Notifier,
  type NotifierOptions,
  type UnsentNotification,
} from './notifier.ts';

/**
 * The `notifications` option of `alertsPlugin()`. `[monitoring.alerts]` supplies the e-mail and webhook channels,
 * and the defaults of `routes`, `defaults`, `quietHours`, `stateFile` and `alertmanager`; a key given here wins.
 */
export interface NotificationsOptions
  extends Pick<NotifierOptions, 'retry' | 'timeoutMs' | 'queueSize'>,
    Pick<DispatcherOptions, 'routes' | 'defaults' | 'inhibitRules' | 'quietHours' | 'externalURL'> {
  /** Channels added to those of the config (names must differ). @default none */
  readonly channels?: readonly NotificationChannel[];
  /** Also log every notification through the monitor's logger (the embedded default channel, `log`). @default true */
  readonly log?: boolean;
  /** Serve `/alerts` and `/silences` on the `health` listener, behind its auth. @default true */
  readonly http?: boolean;
  /** A JSON file keeping silences, alerts and what was delivered across restarts (written atomically). @default `state_file` */
  readonly stateFile?: string;
  /** Bounds on silences. @default `max_silences`, `max_silence_bytes`, `max_silence_duration`, `silence_retention` */
  readonly silences?: SilenceLimits;
  /**
   * Hand alerts to this Alertmanager (API v2) instead of notifying from the app: each change at once, and every
   * firing alert again each `resendIntervalMs`, as Prometheus does. @default `alertmanager_url`, else none
   */
  readonly alertmanager?: AlertmanagerClientOptions & { readonly resendIntervalMs?: number };
}

/**
 * The channels that `[monitoring.alerts]` describes: `email` when smtp_host and email_to are set; `slack` for a Slack
 * webhook_url, `webhook` for any other. @throws ObsConfigError when `smtp_ca_file` cannot be read
 */
export function channelsFromConfig(config: AlertsConfig, root?: ObsConfig): NotificationChannel[] {
  const out: NotificationChannel[] = [];
  if (config.smtp_host !== '' && config.email_to.length > 0)
    out.push(
      createEmailChannel({
        host: config.smtp_host,
        port: config.smtp_port,
        user: config.smtp_user,
        password: config.smtp_password,
        from: config.email_from === '' ? `obs-alerts@${config.smtp_host}` : config.email_from,
        to: config.email_to,
        ...smtpTlsFromConfig(config, root),
      }),
    );
  if (config.webhook_url !== '') {
    out.push(
      isSlackWebhook(config.webhook_url)
        ? createSlackChannel({ url: config.webhook_url })
        : createWebhookChannel({ url: config.webhook_url }),
    );
  }
  return out;
}

/** The names of the channels that {@link channelsFromConfig} makes, without making them. */
export function channelNamesFromConfig(config: AlertsConfig): string[] {
  return [
    ...(config.smtp_host !== '' && config.email_to.length > 0 ? ['email'] : []),
    ...(config.webhook_url === '' ? [] : [isSlackWebhook(config.webhook_url) ? 'slack' : 'webhook']),
  ];
}

/**
 * Every channel a route names must exist: an alert routed to a missing channel would vanish. Routes of the config
 * are located in its TOML file. @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` naming `monitoring.alerts.routes.<i>.channels.<j>`
 */
export function checkRouteChannels(root: ObsConfig, alerts: AlertsConfig, options: NotificationsOptions): void {
  const names = [
    ...(options.log === false ? [] : ['log']),
    ...channelNamesFromConfig(alerts),
    ...(options.channels ?? []).map((c) => c.name),
  ];
  const issues: ConfigIssue[] = [];
  const fromConfig = options.routes === undefined;
  const routes = options.routes ?? routesFromConfig(alerts) ?? [];
  for (const [i, route] of routes.entries())
    for (const [j, name] of (route.channels ?? []).entries()) {
      if (names.includes(name)) continue;
      const message = `names no channel: ${JSON.stringify(name)} (channels: ${names.join(', ') || 'none'})`;
      issues.push(
        fromConfig
          ? configIssueAt(root, `alerts.routes.${i}.channels.${j}`, message)
          : { path: `notifications.routes.${i}.channels.${j}`, message },
      );
    }
  if (issues.length > 0) throw new ObsConfigError('@obs/alerts', issues);
}

/** Checks the options without opening anything, so that `alertsPlugin()` throws before any monitor exists. @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` */
export function checkNotifications(options: NotificationsOptions): void {
  const issues: ConfigIssue[] = [];
  for (const check of [
    () => createNotifier({ channels: options.channels ?? [], ...pick(options, ['retry', 'timeoutMs', 'queueSize']) }),
    () =>
      createDispatcher({
        notify: () => {},
        ...pick(options, ['routes', 'defaults', 'inhibitRules', 'quietHours', 'externalURL']),
        ...(options.silences === undefined ? {} : { silenceLimits: options.silences }),
      }).close(),
  ]) {
    try {
      check();
    } catch (error) {
      if (!(error instanceof ObsConfigError)) throw error;
      issues.push(...error.issues.map((i) => ({ ...i, path: `notifications.${i.path}` })));
    }
  }
  const am = options.alertmanager;
  if (am !== undefined) {
    if (!isHttpUrl(am.url)) issues.push({ path: 'notifications.alertmanager.url', message: 'must be an http(s) URL' });
    for (const key of ['resendIntervalMs', 'timeoutMs'] as const) {
      const v = am[key];
      if (v !== undefined && !(Number.isFinite(v) && v > 0))
        issues.push({ path: `notifications.alertmanager.${key}`, message: 'must be a positive number of ms' });
    }
  }
  if (issues.length > 0) throw new ObsConfigError('@obs/alerts', issues);
}

/** The options with what `[monitoring.alerts]` says filled in where the code did not say. */
export function withConfig(config: AlertsConfig, options: NotificationsOptions): NotificationsOptions {
  const routes = options.routes ?? routesFromConfig(config);
  const quietHours = options.quietHours ?? quietHoursFromConfig(config);
  const stateFile = options.stateFile ?? (config.state_file ? config.state_file : undefined);
  const silences = { ...silenceLimitsFromConfig(config), ...options.silences };
  const amUrl = (config as Partial<AlertsConfig>).alertmanager_url;
  const externalURL = options.externalURL ?? ((config as Partial<AlertsConfig>).external_url || undefined);
  const generatorURL = externalURL === undefined ? undefined : alertsPageUrl(externalURL);
  const alertmanager =
    options.alertmanager ??
    (amUrl ? { url: amUrl, ...(generatorURL === undefined ? {} : { generatorURL }) } : undefined);
  return {
    ...options,
    defaults: { ...routeDefaultsFromConfig(config), ...options.defaults },
    silences,
    ...(routes === undefined ? {} : { routes }),
    ...(quietHours === undefined ? {} : { quietHours }),
    ...(stateFile === undefined ? {} : { stateFile }),
    ...(alertmanager === undefined ? {} : { alertmanager }),
    ...(externalURL === undefined ? {} : { externalURL }),
  };
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** The state file: the dispatcher's state (older versions also kept undelivered notifications in `pending`). */
type StateFile = DispatcherState & {
  readonly pending?: readonly UnsentNotification[];
  /** The engine's pending and firing alerts with their active-since times (Prometheus' ALERTS_FOR_STATE). */
  readonly forState?: readonly ForState[];
};

function isForState(x: unknown): x is ForState {
  const f = x as Partial<ForState> | null;
  return (
    typeof f?.labels === 'object' &&
    f.labels !== null &&
    (f.state === 'pending' || f.state === 'firing') &&
    Number.isFinite(f.activeAt) &&
    Number.isFinite(f.lastEvalAt)
  );
}

/** How long stopping waits for queued notifications before keeping (or dropping) them. */
const DRAIN_MS = 2_000;

/** At most one state-file write per this long: bursts (a thousand POSTs) coalesce into one write. */
const STATE_WRITE_MS = 1_000;

/** The running pipeline: engine alerts → dispatcher → notifier → channels. */
export interface NotificationPipeline {
  readonly dispatcher: Dispatcher;
  readonly notifier: Notifier;
  /** Feeds one engine state change; pending alerts are not notified. */
  receive(alert: Alert): void;
  /** The engine's `for` state read back from the state file (empty without one). */
  readonly restoredForState: readonly ForState[];
  /** Writes the state file soon (at most once per second), if there is one; a failure is reported, never thrown. */
  persist(): void;
  /** Stops: a short drain of the queues, then what is still undelivered is kept in the state file (or dropped). */
  close(): Promise<void>;
}

/** Builds the pipeline; events and failures go to the bus. @throws ObsConfigError for bad options or duplicate channel names */
export function startNotifications(
  ctx: PluginContext,
  given: NotificationsOptions,
  alerts: AlertsConfig = ctx.config.alerts,
  engine?: { forState(): readonly ForState[] },
): NotificationPipeline {
  const options = withConfig(alerts, given);
  const channels = [
    ...(options.log === false ? [] : [createLogChannel({ logger: ctx.logger })]),
    ...channelsFromConfig(alerts, ctx.config),
    ...(options.channels ?? []),
  ];
  const onDelivery = (e: DeliveryEvent): void => {
    ctx.bus.emit('alert:notified', { channel: e.channel, outcome: e.outcome, attempts: e.attempts });
    if (e.outcome !== 'dropped') return;
    ctx.bus.emit('obs:dropped', { plugin: '@obs/alerts', what: `notifications:${e.channel}`, count: 1 });
    ctx.reportError(e.error ?? new NotificationError(e.channel, `notification dropped (${e.reason ?? 'unknown'})`));
  };
  const notifier = createNotifier({
    channels,
    onDelivery,
    ...(options.retry === undefined ? {} : { retry: options.retry }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.queueSize === undefined ? {} : { queueSize: options.queueSize }),
  });
  const stateFile = options.stateFile;
  let writeTimer: NodeJS.Timeout | undefined;
  let lastWrite = Number.NEGATIVE_INFINITY;
  let stopped = false;
  const writeState = (): void => {
    if (stateFile === undefined) return;
    if (writeTimer !== undefined) clearTimeout(writeTimer);
    writeTimer = undefined;
    lastWrite = performance.now();
    try {
      const tmp = `${stateFile}.${process.pid}.tmp`;
      const state: StateFile = { ...dispatcher.snapshot(), forState: engine?.forState() ?? [] };
      writeFileSync(tmp, JSON.stringify(state));
      renameSync(tmp, stateFile);
    } catch (error) {
      ctx.reportError(
        alertsError('OBS_ERR_ALERTS_STATE', '[@obs/alerts] cannot write the state file', { cause: error }),
      );
    }
  };
  const persist = (): void => {
    if (stateFile === undefined || stopped || writeTimer !== undefined) return;
    writeTimer = setTimeout(writeState, Math.max(0, lastWrite + STATE_WRITE_MS - performance.now()));
    writeTimer.unref();
  };
  const dispatcher = createDispatcher({
    // Resolves to the channels that delivered: the dispatcher marks the group notified on those only.
    notify: (n, names) => notifier.notify(n, names),
    channels: channels.map((c) => c.name),
    onStateChange: persist,
    ...(options.routes === undefined ? {} : { routes: options.routes }),
    ...(options.defaults === undefined ? {} : { defaults: options.defaults }),
    ...(options.inhibitRules === undefined ? {} : { inhibitRules: options.inhibitRules }),
    ...(options.quietHours === undefined ? {} : { quietHours: options.quietHours }),
    ...(options.externalURL === undefined ? {} : { externalURL: options.externalURL }),
    ...(options.silences === undefined ? {} : { silenceLimits: options.silences }),
  });
  const handoff = options.alertmanager === undefined ? undefined : startHandoff(ctx, options.alertmanager);
  let restoredForState: readonly ForState[] = [];
  const external = (alerts as Partial<AlertsConfig>).external_labels ?? {};
  const externalLabels = Object.keys(external).length === 0 ? undefined : external;
  if (stateFile !== undefined && existsSync(stateFile)) {
    try {
      const state = JSON.parse(readFileSync(stateFile, 'utf8')) as StateFile;
      if (state?.version !== 1) throw new TypeError(`unknown state version ${String(state?.version)}`);
      dispatcher.restore(state);
      restoredForState = Array.isArray(state.forState) ? state.forState.filter(isForState) : [];
      // Files of older versions kept what their run could not deliver here.
      for (const p of Array.isArray(state.pending) ? state.pending : [])
        if (typeof p?.channel === 'string' && Array.isArray(p.notification?.alerts))
          void notifier.notify(p.notification, [p.channel]);
    } catch (error) {
      // A damaged state file costs its silences and may repeat notifications; it never stops the app.
      ctx.reportError(
        alertsError('OBS_ERR_ALERTS_STATE', '[@obs/alerts] cannot read the state file', { cause: error }),
      );
    }
  }
  return {
    dispatcher,
    notifier,
    persist,
    restoredForState,
    receive(alert) {
      if (alert.state === 'pending') return;
      // Prometheus hands Alertmanager the time the alert started firing, not when it became pending.
      const startsAt = alert.firedAt ?? alert.activeAt;
      const dispatched: DispatchedAlert = {
        // As Prometheus hands alerts to Alertmanager: the external labels, unless the alert has its own value.
        labels: externalLabels === undefined ? alert.labels : { ...externalLabels, ...alert.labels },
        annotations: alert.annotations,
        value: alert.value,
        startsAt,
        status: alert.state === 'firing' ? 'firing' : 'resolved',
        ...(alert.state === 'firing' ? {} : { endsAt: alert.resolvedAt ?? Date.now() }),
      };
      if (handoff === undefined) dispatcher.receive(dispatched);
      else handoff.receive(dispatched);
    },
    async close() {
      // Without a state file, what waits in a group (its group_wait) goes out now, within the drain below, as
      // Alertmanager would still send it; with one, the next start sends it.
      dispatcher.close({ flush: stateFile === undefined });
      await handoff?.close();
      // Queued notifications get a moment to go out. With a state file the groups they belong to are not marked
      // notified there, so the next start notifies them again (at least once); without one they are dropped.
      await notifier.close({ drainMs: DRAIN_MS, keepUnsent: stateFile !== undefined });
      stopped = true;
      writeState();
    },
  };
}

function startHandoff(
  ctx: PluginContext,
  options: AlertmanagerClientOptions & { readonly resendIntervalMs?: number },
): { receive(alert: DispatchedAlert): void; close(): Promise<void> } {
  const client = createAlertmanagerClient(options);
  const resendMs = options.resendIntervalMs ?? 60_000;
  const firing = new Map<string, DispatchedAlert>();
  const closing = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const post = (alerts: readonly DispatchedAlert[]): void => {
    if (alerts.length === 0 || closing.signal.aborted) return;
    // Alertmanager resolves an alert that is not sent again within this window, as with Prometheus.
    const p = client
      .post(alerts, {
        validForMs: 4 * Math.max(resendMs, ctx.config.alerts.evaluation_interval),
        signal: closing.signal,
      })
      .catch((error: unknown) => {
        if (!closing.signal.aborted) ctx.reportError(error);
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  const timer = setInterval(() => post([...firing.values()]), resendMs);
  timer.unref();
  return {
    receive(alert) {
      const key = fingerprint(alert.labels);
      if (alert.status === 'firing') firing.set(key, alert);
      else firing.delete(key);
      post([alert]);
    },
    async close() {
      clearInterval(timer);
      closing.abort();
      await Promise.all(inFlight);
    },
  };
}
