import { type ConfigIssue, ObsConfigError } from '@obs/core';
import type { Labels } from '@obs/promql';
import { hourIn } from '../internal/time-zone.ts';
import { alertsPageUrl, isHttpUrl } from '../internal/url.ts';
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
  /** Channel names; the receiver's name in notifications is their join. @default every channel */
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

/** Options of {@link createDispatcher}. */
export interface DispatcherOptions {
  /** Receives each notification with the channels it goes to (a notifier's `notify`). */
  readonly notify: (notification: Notification, channels: readonly string[] | undefined) => void;
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
  /** @default Date.now */
  readonly now?: () => number;
}

/** Alertmanager's pipeline in process: routing, grouping, inhibition, silences, deduplication. */
export interface Dispatcher {
  /** Takes a new state of one alert; never throws. */
  receive(alert: DispatchedAlert): void;
  /** Adds a silence (or replaces one with the same id); returns it. @throws ObsConfigError for bad matchers or times */
  addSilence(silence: Omit<Silence, 'id' | 'startsAt'> & { id?: string; startsAt?: number }): Silence;
  /** Ends a silence now; false when there is no such active silence. */
  expireSilence(id: string): boolean;
  /** Every silence, expired ones included (`state` says which). */
  silences(): readonly (Silence & { readonly state: 'active' | 'pending' | 'expired' })[];
  /** The alerts it holds, with whether they are silenced or inhibited. */
  alerts(): readonly (DispatchedAlert & { readonly fingerprint: string; readonly muted: boolean })[];
  /** What must survive a restart: silences and what each group last notified. */
  snapshot(): DispatcherState;
  /** Takes a snapshot back (before alerts arrive): silences return, and groups do not repeat what they sent. */
  restore(state: DispatcherState): void;
  /** Clears every timer; pending notifications are not sent. Idempotent. */
  close(): void;
}

/** The dispatcher's persistent state (JSON-safe). */
export interface DispatcherState {
  readonly version: 1;
  readonly silences: readonly Silence[];
  readonly groups: readonly {
    readonly key: string;
    readonly flushedAt: number;
    readonly firing: readonly string[];
  }[];
}

/** Alertmanager's defaults. */
export const ROUTE_DEFAULTS: Readonly<{ groupWaitMs: number; groupIntervalMs: number; repeatIntervalMs: number }> =
  Object.freeze({ groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatIntervalMs: 4 * 3_600_000 });

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

function compileMatchers(ms: readonly LabelMatcher[], path: string, issues: ConfigIssue[]): Compiled[] {
  const out: Compiled[] = [];
  for (const [i, m] of ms.entries()) {
    if (typeof m?.name !== 'string' || m.name === '' || typeof m.value !== 'string') {
      issues.push({ path: `${path}.${i}`, message: 'must have a label name and a string value' });
      continue;
    }
    let test: (v: string) => boolean = (v) => v === m.value;
    if (m.isRegex === true) {
      try {
        const re = new RegExp(`^(?:${m.value})$`);
        test = (v) => re.test(v);
      } catch {
        issues.push({ path: `${path}.${i}.value`, message: 'is not a valid regular expression' });
      }
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

interface Group {
  readonly key: string;
  readonly routeIndex: number;
  readonly labels: Labels;
  readonly alerts: Map<string, Tracked>;
  timer: NodeJS.Timeout | undefined;
  /** When the group last notified; undefined before its first notification. */
  flushedAt: number | undefined;
  /** What the last notification said: fingerprint → status. */
  sent: Map<string, 'firing' | 'resolved'>;
}

interface CompiledRoute {
  readonly route: Route;
  readonly matchers: Compiled[];
  readonly groupBy: readonly string[];
  readonly groupWaitMs: number;
  readonly groupIntervalMs: number;
  readonly repeatIntervalMs: number;
}

function durationIssue(issues: ConfigIssue[], path: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isFinite(v) && v >= 0)) issues.push({ path, message: 'must be a number of ms >= 0' });
}

/**
 * Routes, groups and deduplicates alerts into notifications, with Alertmanager's timing defaults; applies
 * inhibition, silences and quiet hours.
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` for bad routes, matchers or quiet hours
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
    return {
      route,
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
  const restored = new Map<string, { flushedAt: number; firing: readonly string[] }>();
  let nextId = 1;
  let closed = false;

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

  function flush(group: Group): void {
    group.timer = undefined;
    const r = routes[group.routeIndex]!;
    const at = now();
    const visible: NotificationAlert[] = [];
    for (const { alert, fp } of group.alerts.values()) {
      if (muted(alert, at) || (alert.status === 'firing' && inQuietHours(alert.labels, at))) continue;
      // A resolved alert whose firing was never sent stays quiet.
      if (alert.status === 'resolved' && group.sent.get(fp) !== 'firing') continue;
      visible.push({
        status: alert.status,
        labels: alert.labels,
        annotations: alert.annotations ?? {},
        value: alert.value,
        startsAt: alert.startsAt,
        endsAt: alert.endsAt,
        ...(generatorURL === undefined ? {} : { generatorURL }),
      });
    }
    const next = new Map(visible.map((a) => [fingerprint(a.labels), a.status] as const));
    const changed = next.size !== group.sent.size || [...next].some(([fp, s]) => group.sent.get(fp) !== s);
    const firing = visible.some((a) => a.status === 'firing');
    const repeatDue = group.flushedAt !== undefined && at - group.flushedAt >= r.repeatIntervalMs;
    if (visible.length > 0 && (changed || (firing && repeatDue))) {
      const channels = r.route.channels;
      // Recorded before notifying, so that a state file written by notify already holds this flush.
      group.flushedAt = at;
      group.sent = new Map([...next].filter(([, s]) => s === 'firing'));
      try {
        options.notify(
          {
            status: firing ? 'firing' : 'resolved',
            receiver: channels === undefined ? 'default' : channels.join(','),
            groupKey: `{}/${group.routeIndex}:{${Object.entries(group.labels)
              .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
              .join(',')}}`,
            groupLabels: group.labels,
            alerts: visible,
            ...(externalURL === undefined ? {} : { externalURL }),
          },
          channels,
        );
      } catch {
        // notify is the notifier's, which never throws; a custom one must not stop the pipeline.
      }
    }
    for (const [fp, t] of group.alerts) if (t.alert.status === 'resolved') group.alerts.delete(fp);
    if (group.alerts.size === 0) {
      groups.delete(group.key);
      return;
    }
    // As Alertmanager's aggregation group: look again every group interval; repeats fall on these ticks.
    schedule(group, r.groupIntervalMs);
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
          if (alert.status === 'resolved') continue;
          const prior = restored.get(key);
          restored.delete(key);
          group = {
            key,
            routeIndex: i,
            labels,
            alerts: new Map(),
            timer: undefined,
            flushedAt: prior?.flushedAt,
            sent: new Map((prior?.firing ?? []).map((f) => [f, 'firing'] as const)),
          };
          groups.set(key, group);
          group.alerts.set(fp, tracked);
          schedule(group, r.groupWaitMs);
          continue;
        }
        // The group's timer (group wait, then every group interval) picks the change up.
        group.alerts.set(fp, tracked);
      }
    },
    addSilence(input) {
      const issues: ConfigIssue[] = [];
      const compiled = compileMatchers(input.matchers ?? [], 'matchers', issues);
      if (compiled.length === 0 && issues.length === 0)
        issues.push({ path: 'matchers', message: 'needs at least one matcher' });
      const startsAt = input.startsAt ?? now();
      if (!(Number.isFinite(input.endsAt) && input.endsAt > startsAt))
        issues.push({ path: 'endsAt', message: 'must be a time after startsAt' });
      if (issues.length > 0) throw new ObsConfigError('@obs/alerts', issues);
      const id = input.id ?? `s${now().toString(36)}-${(nextId++).toString(36)}`;
      const silence = {
        id,
        matchers: input.matchers,
        startsAt,
        endsAt: input.endsAt,
        createdBy: input.createdBy,
        comment: input.comment,
      };
      silenceList.set(id, { ...silence, compiled });
      return silence;
    },
    expireSilence(id) {
      const s = silenceList.get(id);
      const at = now();
      if (s === undefined || s.endsAt <= at) return false;
      silenceList.set(id, { ...s, endsAt: Math.max(s.startsAt, at) });
      return true;
    },
    silences() {
      const at = now();
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
      const groupStates = [...groups.values()]
        .filter((g) => g.flushedAt !== undefined)
        .map((g) => ({ key: g.key, flushedAt: g.flushedAt ?? 0, firing: [...g.sent.keys()] }));
      for (const [key, r] of restored) groupStates.push({ key, flushedAt: r.flushedAt, firing: [...r.firing] });
      return {
        version: 1,
        silences: [...silenceList.values()].map(({ compiled: _, ...rest }) => rest),
        groups: groupStates,
      };
    },
    restore(state) {
      const at = now();
      for (const s of state.silences ?? [])
        if (s.endsAt > at) {
          try {
            dispatcher.addSilence(s);
          } catch {
            // A silence that no longer validates is left out rather than failing the start.
          }
        }
      for (const g of state.groups ?? [])
        if (typeof g.key === 'string' && Number.isFinite(g.flushedAt) && Array.isArray(g.firing))
          restored.set(g.key, { flushedAt: g.flushedAt, firing: g.firing });
    },
    close() {
      closed = true;
      for (const g of groups.values()) if (g.timer !== undefined) clearTimeout(g.timer);
      groups.clear();
    },
  };
  return dispatcher;
}
