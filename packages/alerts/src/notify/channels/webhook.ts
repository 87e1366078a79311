// The generic webhook channel: Alertmanager's webhook payload (version 4), POSTed as JSON.
import type { Labels } from '@obs/promql';
import { goQuoteMeta, goTime, sortedLabels } from '../go-format.ts';
import { httpFailure, requestFailure } from '../http-failure.ts';
import { post } from '../http-post.ts';
import { commonLabels, fingerprint, type Notification, type NotificationChannel } from '../notification.ts';

/** Options of {@link createWebhookChannel}. */
export interface WebhookChannelOptions {
  /** Receives a POST of the Alertmanager webhook payload (version 4); never logged. */
  readonly url: string;
  /** @default "webhook" */
  readonly name?: string;
  /** Extra headers (an `Authorization`, for example). @default none */
  readonly headers?: Readonly<Record<string, string>>;
  /** Alerts per payload; the rest are counted in `truncatedAlerts`. 0 keeps all. @default 0 */
  readonly maxAlerts?: number;
}

/** The Alertmanager webhook payload, version 4. */
export interface WebhookPayload {
  readonly version: '4';
  readonly groupKey: string;
  readonly truncatedAlerts: number;
  readonly status: 'firing' | 'resolved';
  readonly receiver: string;
  readonly groupLabels: Labels;
  readonly commonLabels: Labels;
  readonly commonAnnotations: Labels;
  readonly externalURL: string;
  readonly alerts: readonly {
    readonly status: 'firing' | 'resolved';
    readonly labels: Labels;
    readonly annotations: Labels;
    readonly startsAt: string;
    readonly endsAt: string;
    readonly generatorURL: string;
    readonly fingerprint: string;
  }[];
}

/** Go's zero time, which Alertmanager sends as `endsAt` of a firing alert. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

/**
 * Builds the Alertmanager webhook payload (version 4) as Alertmanager 0.25 writes it: alerts in its order, label
 * maps sorted, Go's times; at most `maxAlerts` alerts (0: all).
 */
export function webhookPayload(notification: Notification, maxAlerts = 0): WebhookPayload {
  const all = notification.alerts;
  const kept = maxAlerts > 0 && all.length > maxAlerts ? all.slice(0, maxAlerts) : all;
  return {
    // Alertmanager's template data quotes the receiver's name as a regular expression (`email\+webhook`).
    receiver: goQuoteMeta(notification.receiver),
    status: notification.status,
    alerts: kept.map((a) => ({
      status: a.status,
      labels: sortedLabels(a.labels),
      annotations: sortedLabels(a.annotations),
      startsAt: goTime(a.startsAt),
      endsAt: a.endsAt === undefined ? ZERO_TIME : goTime(a.endsAt),
      generatorURL: a.generatorURL ?? '',
      fingerprint: fingerprint(a.labels),
    })),
    groupLabels: sortedLabels(notification.groupLabels),
    // Alertmanager takes the common labels of the alerts it sends (after truncation).
    commonLabels: sortedLabels(commonLabels(kept.map((a) => a.labels))),
    commonAnnotations: sortedLabels(commonLabels(kept.map((a) => a.annotations))),
    externalURL: notification.externalURL ?? '',
    version: '4',
    groupKey: notification.groupKey,
    truncatedAlerts: all.length - kept.length,
  };
}

/** A generic webhook: POSTs the Alertmanager webhook payload (version 4) as JSON, with our own User-Agent. */
export function createWebhookChannel(options: WebhookChannelOptions): NotificationChannel {
  const name = options.name ?? 'webhook';
  const headers = { 'content-type': 'application/json', ...options.headers };
  return {
    name,
    async send(n: Notification, signal: AbortSignal) {
      let response: Response;
      try {
        response = await post(options.url, JSON.stringify(webhookPayload(n, options.maxAlerts ?? 0)), {
          headers,
          signal,
        });
      } catch (error) {
        throw requestFailure(name, error, signal);
      }
      if (!response.ok) throw await httpFailure(name, response);
    },
  };
}
