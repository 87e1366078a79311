import { type ConfigIssue, formatDuration, ObsConfigError } from '@obs/core';
import { anchoredRegex, type Labels } from '@obs/promql';
import { alertsError } from '../errors.ts';
import { hourIn } from '../internal/time-zone.ts';
import { alertsPageUrl, isHttpUrl } from '../internal/url.ts';
import { compareAlertLabels, labelSetString, matchersString } from './go-format.ts';
import { fingerprint, type Notification, type NotificationAlert } from './notification.ts';

/** A label matcher as Alertmanager's API v2 writes it. */
export interface LabelMatcher {
  readonly name: string;
  readonly value: string;
  /** @default false */
  readonly isRegex?: boolean;
  /** False negates the match (`!=`, `!~`). @default true */
  readonly isEqual?: boolean;
}

/** A route: alerts whose labels satisfy every matcher go to its channels, grouped its way. */
export interface Route {
  /** @default [] (every alert) */
  readonly matchers?: readonly LabelMatcher[];
  /** Channel names; the receiver's name in notifications is their join with `+`, as alertmanagerConfig() names it. @default every channel (receiver `default`) */
  readonly channels?: readonly string[];
  /** Labels that form a group; `['...']` groups by every label. @default ['alertname'] */
  readonly groupBy?: readonly string[];
  /** Wait before the first notification of a new group. @default 30000 */
  readonly groupWaitMs?: number;
  /** Wait before notifying about alerts added to or resolved in a group. @default 300000 */
  readonly groupIntervalMs?: number;
  /** Wait before sending the same firing notification again. @default 14400000 */
  readonly repeatIntervalMs?: number;
  /** Keep matching the following routes after this one. @default false */
  readonly continue?: boolean;
}

/** What every route inherits when it does not say (Alertmanager's root route). */
export type RouteDefaults = Pick<Route, 'groupBy' | 'groupWaitMs' | 'groupIntervalMs' | 'repeatIntervalMs'>;

/** A firing alert matching `source` mutes the alerts matching `target` that agree with it on `equal`. */
export interface InhibitRule {
  readonly source: readonly LabelMatcher[];
  readonly target: readonly LabelMatcher[];
  /** Labels whose values must be the same in both (a missing label counts as ""), as Alertmanager's `equal`. */
  readonly equal: readonly string[];
}

/** A silence: mutes the alerts that satisfy every matcher between its start and end. */
export interface Silence {
  readonly id: string;
  readonly matchers: readonly LabelMatcher[];
  readonly startsAt: number;
  readonly endsAt: number;
  readonly createdBy: string;
  readonly comment: string;
}

/** One alert's state as the dispatcher receives it (from the engine or from `alert:changed`). */
export interface DispatchedAlert {
  readonly labels: Labels;
  readonly annotations?: Labels;
  readonly value: number;
  readonly status: 'firing' | 'resolved';
  /** When it started firing, in ms. */
  readonly startsAt: number;
  /** When it resolved; required when `status` is `resolved`. */
  readonly endsAt?: number;
}

/** Quiet hours: in this daily window only alerts with a `severity` in `allow` are notified. */
export interface QuietHours {
  /** Hour of the day (0-23, in `timeZone`, else UTC shifted by `utcOffsetMinutes`) when quiet begins. */
  readonly startHour: number;
  /** Hour when quiet ends; may be lower than `startHour` (a window across midnight). */
  readonly endHour: number;
  /** An IANA time zone (`Europe/Paris`): the hours follow its clock, daylight saving included. @default none */
  readonly timeZone?: string;
  /** Used without `timeZone`. @default 0 */
  readonly utcOffsetMinutes?: number;
  /** @default ['critical'] */
  readonly allow?: readonly string[];
}

/** Bounds on silences, as Alertmanager's `--silences.*` flags; 0 turns a bound off. */
export interface SilenceLimits {
  /** Active and pending silences at most (`max_silences`; Alertmanager's `--silences.max-silences`). @default 1000 */
  readonly maxSilences?: number;
  /** Bytes of one silence's matchers, author and comment, as JSON (`max_silence_bytes`). @default 4096 */
  readonly maxSilenceBytes?: number;
  /** Longest time from now to a silence's end (`max_silence_duration`). @default 31536000000 (8760h, one year) */
  readonly maxDurationMs?: number;
  /** How long an expired silence stays listed (`silence_retention`; Alertmanager's `--data.retention`). @default 432000000 (120h) */
  readonly retentionMs?: number;
}

/** Options of {@link createDispatcher}. */
export interface DispatcherOptions {
  /**
   * Receives each notification with the channels it goes to (a notifier's `notify`). It may return a promise of
   * the channels that delivered it: a group counts as notified on a channel only then, and is tried again at its
   * next group interval otherwise. Any other return value counts as delivered.
   */
  readonly notify: (notification: Notification, channels: readonly string[] | undefined) => unknown;
  /** Names of every channel, so that delivery is tracked per channel. @default unknown: one receiver, `notify(n, undefined)` */
  readonly channels?: readonly string[];
  /** Tried in order; the first match wins unless it says `continue`. @default one route to every channel */
  readonly routes?: readonly Route[];
  /** Grouping and timing for routes that do not set their own. @default `['alertname']` and {@link ROUTE_DEFAULTS} */
  readonly defaults?: RouteDefaults;
  /** @default a firing `severity="critical"` alert mutes the `warning` and `info` alerts of the same `alertname` */
  readonly inhibitRules?: readonly InhibitRule[];
  /** @default none */
  readonly quietHours?: QuietHours;
  /** Where people see these alerts: each notification's `externalURL`, and `<it>/alerts` as each alert's `generatorURL`. @default "" */
  readonly externalURL?: string;
  /** @default {@link SILENCE_LIMITS} */
  readonly silenceLimits?: SilenceLimits;
  /** Called whenever {@link Dispatcher.snapshot} would change (to write a state file). @default none */
  readonly onStateChange?: () => void;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Alertmanager's pipeline in process: routing, grouping, inhibition, silences, deduplication. */
export interface Dispatcher {
  /** Takes a new state of one alert; never throws. */
  receive(alert: DispatchedAlert): void;
  /**
   * Adds a silence (or replaces one with the same id); returns it.
   * @throws ObsConfigError for bad matchers or times, or a silence over `maxSilenceBytes` or `maxDurationMs`;
   * ObsError `OBS_ERR_ALERTS_SILENCE_LIMIT` when `maxSilences` are already active or pending
   */
  addSilence(silence: Omit<Silence, 'id' | 'startsAt'> & { id?: string; startsAt?: number }): Silence;
  /** Ends a silence now; false when there is no such active silence. */
  expireSilence(id: string): boolean;
  /** Every silence, expired ones included (`state` says which) until their retention ends. */
  silences(): readonly (Silence & { readonly state: 'active' | 'pending' | 'expired' })[];
  /** The alerts it holds, with whether they are silenced or inhibited. */
  alerts(): readonly (DispatchedAlert & { readonly fingerprint: string; readonly muted: boolean })[];
  /** What must survive a restart: silences, the alerts, and what each group last delivered on each channel. */
  snapshot(): DispatcherState;
  /**
   * Takes a snapshot back (before alerts arrive): silences return, alerts firing before the restart are held
   * again (their resolution will be notified), and groups repeat only what was not delivered.
   */
  restore(state: DispatcherState): void;
  /**
   * Clears every timer. With `flush`, first hands over now what groups hold and have not notified (an alert
   * still in its group wait included), as Alertmanager would send it; otherwise that waits in a snapshot. Idempotent.
   */
  close(options?: { readonly flush?: boolean }): void;
}

/** The dispatcher's persistent state (JSON-safe). */
export interface DispatcherState {
  readonly version: 1;
  readonly silences: readonly Silence[];
  readonly groups: readonly {
    readonly key: string;
    /** The channel this entry is for; absent in files of older versions (then it stands for every channel). */
    readonly channel?: string;
    readonly flushedAt: number;
    readonly firing: readonly string[];
  }[];
  /** Alerts held: the firing ones, and resolved ones whose resolution is not delivered yet. */
  readonly alerts?: readonly DispatchedAlert[];
}

/** Alertmanager's defaults. */
export const ROUTE_DEFAULTS: Readonly<{ groupWaitMs: number; groupIntervalMs: number; repeatIntervalMs: number }> =
  Object.freeze({ groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatIntervalMs: 4 * 3_600_000 });

/** The silence bounds by default: Alertmanager's retention; the other bounds are ours (Alertmanager has none by default). */
export const SILENCE_LIMITS: Readonly<Required<SilenceLimits>> = Object.freeze({
  maxSilences: 1000,
  maxSilenceBytes: 4096,
  maxDurationMs: 8760 * 3_600_000,
  retentionMs: 120 * 3_600_000,
});

const DEFAULT_INHIBIT: readonly InhibitRule[] = [
  {
    source: [{ name: 'severity', value: 'critical' }],
    target: [{ name: 'severity', value: 'warning|info', isRegex: true }],
    equal: ['alertname'],
  },
];

interface Compiled {
  readonly name: string;
  readonly test: (v: string) => boolean;
  readonly isEqual: boolean;
}

/** Why RE2 refuses `value` (backreferences, lookaround...), or undefined when it compiles. */
export function regexProblem(value: string): string | undefined {
  try {
    anchoredRegex(value);
    return undefined;
  } catch (error) {
    return `is not a valid RE2 regular expression ${JSON.stringify(value)}: ${(error as Error).message}`;
  }
}

function compileMatchers(ms: readonly LabelMatcher[], path: string, issues: ConfigIssue[]): Compiled[] {
  const out: Compiled[] = [];
  if (!Array.isArray(ms)) {
    issues.push({ path, message: 'must be a list of matchers' });
    return out;
  }
  for (const [i, m] of ms.entries()) {
    if (typeof m?.name !== 'string' || m.name === '' || typeof m.value !== 'string') {
      issues.push({ path: `${path}.${i}`, message: 'must have a label name and a string value' });
      continue;
    }
    let test: (v: string) => boolean = (v) => v === m.value;
    if (m.isRegex === true) {
      // RE2 (linear time, as Alertmanager and Prometheus): no pattern a user sends can stall the event loop.
      const problem = regexProblem(m.value);
      if (problem === undefined) {
        const re = anchoredRegex(m.value);
        test = (v) => re.test(v);
      } else issues.push({ path: `${path}.${i}.value`, message: `(matcher ${JSON.stringify(m.name)}) ${problem}` });
    }
    out.push({ name: m.name, test, isEqual: m.isEqual ?? true });
  }
  return out;
}

function matchAll(ms: readonly Compiled[], labels: Labels): boolean {
  return ms.every((m) => m.test(labels[m.name] ?? '') === m.isEqual);
}

interface Tracked {
  alert: DispatchedAlert;
  readonly fp: string;
}

/** What one channel was last told about a group (Alertmanager's notification log entry). */
interface ChannelLog {
  /** When the channel last received a notification of the group; undefined before the first. */
  flushedAt: number | undefined;
  /** The firing alerts that notification held. */
  sent: Set<string>;
  /** A delivery is under way: the group's next ticks leave this channel alone until it ends. */
  inFlight: boolean;
}

interface Group {
  readonly key: string;
  readonly routeIndex: number;
  readonly labels: Labels;
  readonly alerts: Map<string, Tracked>;
  timer: NodeJS.Timeout | undefined;
  readonly logs: Map<string, ChannelLog>;
}

interface CompiledRoute {
  readonly route: Route;
  /** Alertmanager's `Route.Key()`: the matchers of the route and its parents, `{}` for the root. */
  readonly key: string;
  readonly matchers: Compiled[];
  readonly groupBy: readonly string[];
  readonly groupWaitMs: number;
  readonly groupIntervalMs: number;
  readonly repeatIntervalMs: number;
}

type Restored = Map<string, { flushedAt: number; firing: readonly string[] }>;

/** The channel key of a route that names no channels when the dispatcher was not told the names. */
const EVERY = '*';

function durationIssue(issues: ConfigIssue[], path: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isFinite(v) && v >= 0)) issues.push({ path, message: 'must be a number of ms >= 0' });
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

function validAlert(a: DispatchedAlert | undefined): a is DispatchedAlert {
  return (
    typeof a?.labels === 'object' &&
    a.labels !== null &&
    (a.status === 'firing' || a.status === 'resolved') &&
    Number.isFinite(a.startsAt) &&
    (a.status === 'firing' || Number.isFinite(a.endsAt))
  );
}

/**
 * Routes, groups and deduplicates alerts into notifications, with Alertmanager's timing defaults; applies
 * inhibition, silences and quiet hours. A group counts as notified on a channel only once the channel delivered.
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` for bad routes, matchers, quiet hours or silence limits
 */
export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const issues: ConfigIssue[] = [];
  const now = options.now ?? Date.now;
  const d = options.defaults ?? {};
  durationIssue(issues, 'defaults.groupWaitMs', d.groupWaitMs);
  durationIssue(issues, 'defaults.groupIntervalMs', d.groupIntervalMs);
  durationIssue(issues, 'defaults.repeatIntervalMs', d.repeatIntervalMs);
  const routes: CompiledRoute[] = (options.routes ?? [{}]).map((route, i) => {
    durationIssue(issues, `routes.${i}.groupWaitMs`, route.groupWaitMs);
    durationIssue(issues, `routes.${i}.groupIntervalMs`, route.groupIntervalMs);
    durationIssue(issues, `routes.${i}.repeatIntervalMs`, route.repeatIntervalMs);
    if (options.channels !== undefined)
      for (const [j, c] of (route.channels ?? []).entries())
        if (!options.channels.includes(c))
          issues.push({
            path: `routes.${i}.channels.${j}`,
            message: `names no channel: ${JSON.stringify(c)} (channels: ${options.channels.join(', ') || 'none'})`,
          });
    return {
      route,
      // Given routes are the children of Alertmanager's root route (alertmanagerConfig); without any, the root.
      key:
        options.routes === undefined
          ? '{}'
          : `{}/${matchersString(Array.isArray(route.matchers) ? route.matchers : [])}`,
      matchers: compileMatchers(route.matchers ?? [], `routes.${i}.matchers`, issues),
      groupBy: route.groupBy ?? d.groupBy ?? ['alertname'],
      groupWaitMs: route.groupWaitMs ?? d.groupWaitMs ?? ROUTE_DEFAULTS.groupWaitMs,
      groupIntervalMs: Math.max(1, route.groupIntervalMs ?? d.groupIntervalMs ?? ROUTE_DEFAULTS.groupIntervalMs),
      repeatIntervalMs: Math.max(1, route.repeatIntervalMs ?? d.repeatIntervalMs ?? ROUTE_DEFAULTS.repeatIntervalMs),
    };
  });
  const inhibit = (options.inhibitRules ?? DEFAULT_INHIBIT).map((r, i) => ({
    source: compileMatchers(r.source, `inhibitRules.${i}.source`, issues),
    target: compileMatchers(r.target, `inhibitRules.${i}.target`, issues),
    equal: r.equal,
  }));
  const limits = { ...SILENCE_LIMITS, ...options.silenceLimits };
  for (const key of Object.keys(SILENCE_LIMITS) as (keyof SilenceLimits)[]) {
    const v = limits[key];
    if (!(Number.isInteger(v) && v >= 0))
      issues.push({ path: `silenceLimits.${key}`, message: 'must be a whole number >= 0 (0: no limit)' });
  }
  const quiet = options.quietHours;
  const externalURL = options.externalURL || undefined;
  const generatorURL = externalURL === undefined ? undefined : alertsPageUrl(externalURL);
  if (externalURL !== undefined && !isHttpUrl(externalURL))
    issues.push({ path: 'externalURL', message: 'must be an http(s) URL' });
  if (quiet !== undefined)
    for (const key of ['startHour', 'endHour'] as const)
      if (!(Number.isInteger(quiet[key]) && quiet[key] >= 0 && quiet[key] <= 23))
        issues.push({ path: `quietHours.${key}`, message: 'must be an hour 0..23' });
  const zoneHour = quiet?.timeZone === undefined ? undefined : hourIn(quiet.timeZone);
  if (zoneHour === null)
    issues.push({ path: 'quietHours.timeZone', message: 'must be an IANA time zone like "Europe/Paris"' });
  if (issues.length > 0) throw new ObsConfigError('@obs/alerts', issues);

  const current = new Map<string, Tracked>();
  const groups = new Map<string, Group>();
  const silenceList = new Map<string, Silence & { compiled: Compiled[] }>();
  // Per group key, per channel: what the last run delivered, until the group comes back.
  const restored = new Map<string, Restored>();
  let nextId = 1;
  let closed = false;

  const stateChanged = (): void => {
    try {
      options.onStateChange?.();
    } catch {
      // The state file's writer reports its own failures; the pipeline goes on.
    }
  };

  function targetsOf(r: CompiledRoute): readonly string[] {
    return r.route.channels ?? options.channels ?? [EVERY];
  }

  function silenced(labels: Labels, at: number): boolean {
    for (const s of silenceList.values())
      if (s.startsAt <= at && at < s.endsAt && matchAll(s.compiled, labels)) return true;
    return false;
  }

  function inhibited(labels: Labels): boolean {
    for (const rule of inhibit) {
      if (!matchAll(rule.target, labels)) continue;
      for (const { alert } of current.values()) {
        if (alert.status !== 'firing' || !matchAll(rule.source, alert.labels)) continue;
        if (rule.equal.every((k) => (alert.labels[k] ?? '') === (labels[k] ?? ''))) return true;
      }
    }
    return false;
  }

  function inQuietHours(labels: Labels, at: number): boolean {
    if (quiet === undefined) return false;
    if ((quiet.allow ?? ['critical']).includes(labels.severity ?? '')) return false;
    const hour = zoneHour ? zoneHour(at) : new Date(at + (quiet.utcOffsetMinutes ?? 0) * 60_000).getUTCHours();
    return quiet.startHour <= quiet.endHour
      ? hour >= quiet.startHour && hour < quiet.endHour
      : hour >= quiet.startHour || hour < quiet.endHour;
  }

  function muted(alert: DispatchedAlert, at: number): boolean {
    return silenced(alert.labels, at) || (alert.status === 'firing' && inhibited(alert.labels));
  }

  function groupLabels(r: CompiledRoute, labels: Labels): Labels {
    if (r.groupBy.includes('...')) return labels;
    const out: Record<string, string> = {};
    for (const k of r.groupBy) if (labels[k] !== undefined) out[k] = labels[k];
    return out;
  }

  function schedule(group: Group, delay: number): void {
    if (closed) return;
    if (group.timer !== undefined) clearTimeout(group.timer);
    group.timer = setTimeout(() => flush(group), delay);
    group.timer.unref();
  }

  function logOf(group: Group, target: string): ChannelLog {
    let log = group.logs.get(target);
    if (log === undefined) {
      log = { flushedAt: undefined, sent: new Set(), inFlight: false };
      group.logs.set(target, log);
    }
    return log;
  }

  function flush(group: Group): void {
    group.timer = undefined;
    const r = routes[group.routeIndex]!;
    const at = now();
    const shown: { fp: string; alert: NotificationAlert }[] = [];
    for (const { alert, fp } of group.alerts.values()) {
      if (muted(alert, at) || (alert.status === 'firing' && inQuietHours(alert.labels, at))) {
        // A muted resolution is never announced.
        if (alert.status === 'resolved') group.alerts.delete(fp);
        continue;
      }
      shown.push({
        fp,
        alert: {
          status: alert.status,
          labels: alert.labels,
          annotations: alert.annotations ?? {},
          value: alert.value,
          startsAt: alert.startsAt,
          endsAt: alert.endsAt,
          ...(generatorURL === undefined ? {} : { generatorURL }),
        },
      });
    }
    // Alertmanager sorts a group's alerts (by job, instance, then labels) before notifying.
    shown.sort((a, b) => compareAlertLabels(a.alert.labels, b.alert.labels));
    // Channels that need the same notification get it together.
    const batches = new Map<string, { alerts: typeof shown; targets: string[] }>();
    for (const target of targetsOf(r)) {
      const log = logOf(group, target);
      if (log.inFlight) continue;
      // A resolved alert whose firing this channel never got stays quiet there.
      const visible = shown.filter((s) => s.alert.status === 'firing' || log.sent.has(s.fp));
      if (visible.length === 0) continue;
      const firing = visible.filter((s) => s.alert.status === 'firing');
      const changed =
        firing.length !== visible.length || firing.length !== log.sent.size || firing.some((s) => !log.sent.has(s.fp));
      const repeatDue = log.flushedAt !== undefined && at - log.flushedAt >= r.repeatIntervalMs;
      if (!changed && !(firing.length > 0 && repeatDue)) continue;
      const id = visible.map((s) => `${s.fp}:${s.alert.status}`).join(',');
      const batch = batches.get(id) ?? { alerts: visible, targets: [] };
      batch.targets.push(target);
      batches.set(id, batch);
    }
    for (const { alerts: visible, targets } of batches.values()) send(group, visible, targets, at);
    if (prune(group)) return;
    // As Alertmanager's aggregation group: look again every group interval; repeats and retries of what a
    // channel failed to deliver fall on these ticks.
    schedule(group, r.groupIntervalMs);
  }

  /** Drops the resolutions no channel still holds as firing, and the group once empty; true when it is gone. */
  function prune(group: Group): boolean {
    for (const [fp, t] of group.alerts)
      if (t.alert.status === 'resolved' && ![...group.logs.values()].some((l) => l.sent.has(fp)))
        group.alerts.delete(fp);
    if (group.alerts.size > 0 || [...group.logs.values()].some((l) => l.inFlight)) return false;
    if (group.timer !== undefined) clearTimeout(group.timer);
    if (groups.get(group.key) === group) groups.delete(group.key);
    stateChanged();
    return true;
  }

  function send(
    group: Group,
    visible: readonly { fp: string; alert: NotificationAlert }[],
    targets: string[],
    at: number,
  ): void {
    const firing = new Set(visible.filter((s) => s.alert.status === 'firing').map((s) => s.fp));
    const logs = targets.map((t) => logOf(group, t));
    for (const log of logs) log.inFlight = true;
    const done = (delivered: (target: string) => boolean): void => {
      for (const [i, log] of logs.entries()) {
        log.inFlight = false;
        if (!delivered(targets[i]!)) continue;
        log.flushedAt = at;
        log.sent = new Set(firing);
      }
      if (!prune(group)) stateChanged();
    };
    const channels = targets.length === 1 && targets[0] === EVERY ? undefined : targets;
    let result: unknown;
    try {
      result = options.notify(
        {
          status: firing.size > 0 ? 'firing' : 'resolved',
          // As alertmanagerConfig() names the receiver of a set of channels.
          receiver: routes[group.routeIndex]!.route.channels?.join('+') ?? 'default',
          // As Alertmanager's aggregation group: `<route key>:<group labels>`.
          groupKey: `${routes[group.routeIndex]!.key}:${labelSetString(group.labels)}`,
          groupLabels: group.labels,
          alerts: visible.map((s) => s.alert),
          ...(externalURL === undefined ? {} : { externalURL }),
        },
        channels,
      );
    } catch {
      // notify is the notifier's, which never throws; a custom one must not stop the pipeline.
      done(() => false);
      return;
    }
    if (!isThenable(result)) {
      done(() => true);
      return;
    }
    result.then(
      (ok) => {
        const names = Array.isArray(ok) ? new Set<unknown>(ok) : undefined;
        done((t) => (names === undefined ? ok !== false : t === EVERY ? names.size > 0 : names.has(t)));
      },
      () => done(() => false),
    );
  }

  function routeFor(labels: Labels): number[] {
    const out: number[] = [];
    for (const [i, r] of routes.entries()) {
      if (!matchAll(r.matchers, labels)) continue;
      out.push(i);
      if (r.route.continue !== true) break;
    }
    return out;
  }

  function collectSilences(at: number): void {
    for (const [id, s] of silenceList)
      if (s.endsAt + limits.retentionMs <= at && limits.retentionMs > 0) silenceList.delete(id);
    if (limits.maxSilences === 0 || silenceList.size <= limits.maxSilences) return;
    // Expired silences make room first, the longest ended going first: memory stays bounded by maxSilences.
    const expired = [...silenceList.values()].filter((s) => s.endsAt <= at).sort((a, b) => a.endsAt - b.endsAt);
    for (const s of expired) {
      if (silenceList.size <= limits.maxSilences) break;
      silenceList.delete(s.id);
    }
  }

  function insertSilence(
    input: Omit<Silence, 'id' | 'startsAt'> & { id?: string; startsAt?: number },
    checkLimits: boolean,
  ): Silence {
    const issues: ConfigIssue[] = [];
    const at = now();
    const compiled = compileMatchers(input.matchers ?? [], 'matchers', issues);
    if (compiled.length === 0 && issues.length === 0)
      issues.push({ path: 'matchers', message: 'needs at least one matcher' });
    const startsAt = input.startsAt ?? at;
    if (!(Number.isFinite(input.endsAt) && input.endsAt > startsAt))
      issues.push({ path: 'endsAt', message: 'must be a time after startsAt' });
    else if (checkLimits && limits.maxDurationMs > 0 && input.endsAt - Math.max(at, startsAt) > limits.maxDurationMs)
      issues.push({
        path: 'endsAt',
        message: `must be at most ${formatDuration(limits.maxDurationMs)} after ${startsAt > at ? 'startsAt' : 'now'} (max_silence_duration), got ${new Date(input.endsAt).toISOString()}`,
      });
    if (checkLimits && limits.maxSilenceBytes > 0) {
      const bytes = Buffer.byteLength(
        JSON.stringify({ matchers: input.matchers, createdBy: input.createdBy, comment: input.comment }),
      );
      if (bytes > limits.maxSilenceBytes)
        issues.push({
          path: 'silence',
          message: `is ${bytes} bytes (matchers, createdBy and comment); at most ${limits.maxSilenceBytes} (max_silence_bytes)`,
        });
    }
    if (issues.length > 0) throw new ObsConfigError('@obs/alerts', issues);
    collectSilences(at);
    if (checkLimits && limits.maxSilences > 0) {
      let live = 0;
      for (const s of silenceList.values()) if (s.endsAt > at && s.id !== input.id) live++;
      if (live >= limits.maxSilences)
        throw alertsError(
          'OBS_ERR_ALERTS_SILENCE_LIMIT',
          `[@obs/alerts] ${live} silences are active or pending, the most allowed (max_silences = ${limits.maxSilences}); expire one first`,
        );
    }
    const id = input.id ?? `s${at.toString(36)}-${(nextId++).toString(36)}`;
    const silence = {
      id,
      matchers: input.matchers,
      startsAt,
      endsAt: input.endsAt,
      createdBy: input.createdBy,
      comment: input.comment,
    };
    silenceList.delete(id);
    silenceList.set(id, { ...silence, compiled });
    collectSilences(at);
    return silence;
  }

  const dispatcher: Dispatcher = {
    receive(alert) {
      if (closed) return;
      const fp = fingerprint(alert.labels);
      const tracked: Tracked = { alert, fp };
      if (alert.status === 'firing') current.set(fp, tracked);
      else current.delete(fp);
      for (const i of routeFor(alert.labels)) {
        const r = routes[i]!;
        const labels = groupLabels(r, alert.labels);
        const key = `${i}${JSON.stringify(Object.entries(labels).sort())}`;
        let group = groups.get(key);
        if (group === undefined) {
          const prior = restored.get(key);
          // A resolution matters to a new group only when a channel was told, before a restart, that it fired.
          if (alert.status === 'resolved' && ![...(prior?.values() ?? [])].some((p) => p.firing.includes(fp))) continue;
          restored.delete(key);
          group = { key, routeIndex: i, labels, alerts: new Map(), timer: undefined, logs: new Map() };
          for (const target of targetsOf(r)) {
            const p = prior?.get(target) ?? prior?.get(EVERY);
            if (p !== undefined)
              group.logs.set(target, { flushedAt: p.flushedAt, sent: new Set(p.firing), inFlight: false });
          }
          groups.set(key, group);
          group.alerts.set(fp, tracked);
          schedule(group, r.groupWaitMs);
          continue;
        }
        // The group's timer (group wait, then every group interval) picks the change up.
        group.alerts.set(fp, tracked);
      }
      stateChanged();
    },
    addSilence(input) {
      const silence = insertSilence(input, true);
      stateChanged();
      return silence;
    },
    expireSilence(id) {
      const s = silenceList.get(id);
      const at = now();
      if (s === undefined || s.endsAt <= at) return false;
      silenceList.set(id, { ...s, endsAt: Math.max(s.startsAt, at) });
      collectSilences(at);
      stateChanged();
      return true;
    },
    silences() {
      const at = now();
      collectSilences(at);
      return [...silenceList.values()].map(({ compiled: _, ...s }) => ({
        ...s,
        state: s.endsAt <= at ? 'expired' : s.startsAt > at ? 'pending' : 'active',
      }));
    },
    alerts() {
      const at = now();
      return [...current.values()].map(({ alert, fp }) => ({ ...alert, fingerprint: fp, muted: muted(alert, at) }));
    },
    snapshot() {
      collectSilences(now());
      const groupStates: { key: string; channel: string; flushedAt: number; firing: string[] }[] = [];
      const held = new Map<string, DispatchedAlert>();
      for (const { alert, fp } of current.values()) held.set(fp, alert);
      for (const g of groups.values()) {
        for (const [channel, log] of g.logs)
          if (log.flushedAt !== undefined)
            groupStates.push({ key: g.key, channel, flushedAt: log.flushedAt, firing: [...log.sent] });
        for (const { alert, fp } of g.alerts.values()) if (!held.has(fp)) held.set(fp, alert);
      }
      for (const [key, r] of restored)
        for (const [channel, p] of r) groupStates.push({ key, channel, flushedAt: p.flushedAt, firing: [...p.firing] });
      return {
        version: 1,
        silences: [...silenceList.values()].map(({ compiled: _, ...rest }) => rest),
        groups: groupStates,
        alerts: [...held.values()],
      };
    },
    restore(state) {
      const at = now();
      for (const s of Array.isArray(state.silences) ? state.silences : [])
        if (s.endsAt + limits.retentionMs > at || limits.retentionMs === 0) {
          try {
            insertSilence(s, false);
          } catch {
            // A silence that no longer validates is left out rather than failing the start.
          }
        }
      for (const g of Array.isArray(state.groups) ? state.groups : [])
        if (typeof g.key === 'string' && Number.isFinite(g.flushedAt) && Array.isArray(g.firing)) {
          const r: Restored = restored.get(g.key) ?? new Map();
          r.set(typeof g.channel === 'string' ? g.channel : EVERY, { flushedAt: g.flushedAt, firing: g.firing });
          restored.set(g.key, r);
        }
      // Firing alerts come back (their groups notify what was not delivered), resolved ones still to announce too.
      const alerts = (Array.isArray(state.alerts) ? state.alerts : []).filter(validAlert);
      for (const a of alerts) if (a.status === 'firing') dispatcher.receive(a);
      for (const a of alerts) if (a.status === 'resolved') dispatcher.receive(a);
    },
    close(closeOptions) {
      if (closed) return;
      closed = true;
      // flush() sends but schedules nothing once closed.
      if (closeOptions?.flush === true)
        for (const g of [...groups.values()]) {
          if (g.timer !== undefined) clearTimeout(g.timer);
          flush(g);
        }
      // The groups stay, so that a snapshot taken after closing still holds what they did not deliver.
      for (const g of groups.values()) if (g.timer !== undefined) clearTimeout(g.timer);
    },
  };
  return dispatcher;
}
