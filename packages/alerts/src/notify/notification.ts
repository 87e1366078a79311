import { ObsError } from '@obs/core';
import type { Labels } from '@obs/promql';
import { goCompare, goQueryEscape, goQuoteMeta } from './go-format.ts';

/** One alert inside a notification. Times are in ms since the epoch. */
export interface NotificationAlert {
  readonly status: 'firing' | 'resolved';
  readonly labels: Labels;
  readonly annotations: Labels;
  /** The rule's value at the last evaluation. */
  readonly value: number;
  readonly startsAt: number;
  /** When it resolved; undefined while firing. */
  readonly endsAt: number | undefined;
  /** A link to the rule or its graph. @default "" */
  readonly generatorURL?: string;
}

/** What a channel delivers: one group of alerts, as Alertmanager groups them. */
export interface Notification {
  /** `firing` when any alert of the group fires. */
  readonly status: 'firing' | 'resolved';
  /** The route's receiver name. */
  readonly receiver: string;
  /** Identifies the group across notifications. */
  readonly groupKey: string;
  readonly groupLabels: Labels;
  readonly alerts: readonly NotificationAlert[];
  /** Where a person can see the alerts. @default "" */
  readonly externalURL?: string;
}

/** A place notifications go to: log, webhook, Slack, e-mail, or anything implementing this. */
export interface NotificationChannel {
  /** Unique among the notifier's channels: `slack`, `email`, `webhook:oncall`. */
  readonly name: string;
  /** Delivers one notification; rejects (preferably with a {@link NotificationError}) so it can be retried. */
  send(notification: Notification, signal: AbortSignal): Promise<void>;
  /** How long until the channel may send again (a rate limit, a Retry-After); not counted in the attempt timeout. @default 0 */
  readyIn?(): number;
  /** Closes connections and timers; called once by the notifier's close(). @default nothing to close */
  close?(): Promise<void>;
}

/** A failed delivery attempt; never names a secret (password, webhook URL). */
export class NotificationError extends ObsError {
  override name = 'NotificationError';
  /** The channel's name. */
  readonly channel: string;
  /** The HTTP status, when the peer answered. */
  readonly status: number | undefined;
  /** How long the peer asked us to wait (a 429's Retry-After), in ms. */
  readonly retryAfterMs: number | undefined;
  /** False for an answer that a retry cannot change (most 4xx). */
  readonly retryable: boolean;
  constructor(
    channel: string,
    message: string,
    details: { status?: number; retryAfterMs?: number; retryable?: boolean; cause?: unknown } = {},
  ) {
    super('OBS_ERR_ALERTS_NOTIFY', `[@obs/alerts] channel ${channel}: ${message}`, { cause: details.cause });
    this.channel = channel;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
    this.retryable = details.retryable ?? true;
  }
}

/** Whether a retry may succeed after an answer with this status (timeouts, throttling, server errors). */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** Parses a Retry-After header (seconds or an HTTP date) into ms; undefined when absent or invalid. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK = 0xffffffffffffffffn;

/** Alertmanager's fingerprint of a label set: FNV-1a 64 over sorted names and values, 16 hex digits. */
export function fingerprint(labels: Labels): string {
  let hash = FNV_OFFSET;
  const bytes = (s: string): void => {
    for (const b of Buffer.from(s, 'utf8')) hash = ((hash ^ BigInt(b)) * FNV_PRIME) & MASK;
  };
  // Prometheus' LabelSet.Fingerprint separates every name and value with 0xff.
  for (const name of Object.keys(labels).sort()) {
    bytes(name);
    hash = ((hash ^ 0xffn) * FNV_PRIME) & MASK;
    bytes(labels[name] ?? '');
    hash = ((hash ^ 0xffn) * FNV_PRIME) & MASK;
  }
  return hash.toString(16).padStart(16, '0');
}

/** The labels that every set has with the same value. */
export function commonLabels(sets: readonly Labels[]): Labels {
  const [first, ...rest] = sets;
  if (first === undefined) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(first)) if (rest.every((s) => s[k] === v)) out[k] = v;
  return out;
}

/** A duration as people read it: `45s`, `12m 5s`, `3h 2m`, `2d 4h`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  if (m > 0) return sec > 0 ? `${m}m ${sec}s` : `${m}m`;
  return `${sec}s`;
}

/** One line per alert, for logs, Slack and e-mail text: `[FIRING] name {labels} value=…` or `[RESOLVED] … after 5m`. */
export function describeAlert(alert: NotificationAlert): string {
  const name = alert.labels.alertname ?? 'alert';
  const labels = Object.entries(alert.labels)
    .filter(([k]) => k !== 'alertname')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ');
  const head = `[${alert.status.toUpperCase()}] ${name}${labels === '' ? '' : ` {${labels}}`} value=${alert.value}`;
  return alert.status === 'resolved' && alert.endsAt !== undefined
    ? `${head}, resolved after ${formatDuration(alert.endsAt - alert.startsAt)}`
    : head;
}

/** Label pairs as Alertmanager's templates list them (`SortedPairs`): `alertname` first, then by name. */
export function sortedPairs(labels: Labels): [string, string][] {
  const names = Object.keys(labels)
    .filter((k) => k !== 'alertname')
    .sort(goCompare);
  if (labels.alertname !== undefined) names.unshift('alertname');
  return names.map((k) => [k, labels[k] ?? '']);
}

/**
 * Alertmanager's default subject (`__subject` of its default.tmpl, e-mail subject and Slack title):
 * `[FIRING:1] API Error Rate High history (warning core)`, `[RESOLVED] API Error Rate High history (warning core)`.
 * The group labels' values, then those of the other common labels; a trailing space when there are none, as there.
 */
export function notificationTitle(notification: Notification): string {
  const firing = notification.alerts.filter((a) => a.status === 'firing').length;
  const group = notification.groupLabels;
  const common = commonLabels(notification.alerts.map((a) => a.labels));
  const status = notification.status.toUpperCase() + (notification.status === 'firing' ? `:${firing}` : '');
  const head = `[${status}] ${sortedPairs(group)
    .map(([, v]) => v)
    .join(' ')} `;
  if (Object.keys(common).length <= Object.keys(group).length) return head;
  const rest = Object.fromEntries(Object.entries(common).filter(([k]) => !Object.hasOwn(group, k)));
  return `${head}(${sortedPairs(rest)
    .map(([, v]) => v)
    .join(' ')})`;
}

/**
 * The page Alertmanager links in every notification (`__alertmanagerURL`): `<externalURL>/#/alerts?receiver=<name>`;
 * undefined without an external URL.
 */
export function alertsViewUrl(notification: Notification): string | undefined {
  const base = notification.externalURL;
  if (base === undefined || base === '') return undefined;
  return `${base}/#/alerts?receiver=${goQueryEscape(goQuoteMeta(notification.receiver))}`;
}
