import type { ObsLogger } from '@obs/core';
import {
  describeAlert,
  isRetryableStatus,
  type Notification,
  type NotificationChannel,
  NotificationError,
  notificationTitle,
  parseRetryAfter,
  webhookPayload,
} from './notification.ts';

/** Options of {@link createLogChannel}. */
export interface LogChannelOptions {
  /** Where lines go; firing alerts at `warn`, resolved ones at `info`. */
  readonly logger: Pick<ObsLogger, 'info' | 'warn'>;
  /** @default "log" */
  readonly name?: string;
}

/** The embedded default channel: one log line per notification, one field per alert. */
export function createLogChannel(options: LogChannelOptions): NotificationChannel {
  const { logger } = options;
  return {
    name: options.name ?? 'log',
    async send(n) {
      const fields = { receiver: n.receiver, groupKey: n.groupKey, alerts: n.alerts.map(describeAlert) };
      if (n.status === 'firing') logger.warn(notificationTitle(n), fields);
      else logger.info(notificationTitle(n), fields);
    },
  };
}

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

/** Reads a non-2xx answer into a NotificationError that keeps the status and Retry-After. */
export async function httpFailure(channel: string, response: Response): Promise<NotificationError> {
  // Drain the body so that the connection can be reused or closed.
  await response.arrayBuffer().catch(() => undefined);
  return new NotificationError(channel, `HTTP ${response.status}`, {
    status: response.status,
    retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
    retryable: isRetryableStatus(response.status),
  });
}

/** Wraps a fetch failure without its message, which can contain the URL. */
export function requestFailure(channel: string, error: unknown, signal: AbortSignal): NotificationError {
  if (signal.aborted) return new NotificationError(channel, 'request aborted (timeout or shutdown)');
  const code = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return new NotificationError(channel, `request failed${typeof code === 'string' ? ` (${code})` : ''}`);
}

/** A generic webhook: POSTs the Alertmanager webhook payload (version 4) as JSON. */
export function createWebhookChannel(options: WebhookChannelOptions): NotificationChannel {
  const name = options.name ?? 'webhook';
  const headers = { 'content-type': 'application/json', ...options.headers };
  return {
    name,
    async send(n: Notification, signal: AbortSignal) {
      let response: Response;
      try {
        response = await fetch(options.url, {
          method: 'POST',
          headers,
          body: JSON.stringify(webhookPayload(n, options.maxAlerts ?? 0)),
          signal,
          redirect: 'error',
        });
      } catch (error) {
        throw requestFailure(name, error, signal);
      }
      if (!response.ok) throw await httpFailure(name, response);
      await response.arrayBuffer().catch(() => undefined);
    },
  };
}
