import type { FetchFunction, IncomingWebhookSendArguments } from '@slack/webhook';
import { sleep } from '../../internal/sleep.ts';
import { httpFailure, requestFailure } from '../http-failure.ts';
import { post } from '../http-post.ts';
import {
  alertsViewUrl,
  commonLabels,
  describeAlert,
  formatDuration,
  type Notification,
  type NotificationChannel,
  NotificationError,
  notificationTitle,
  sortedPairs,
} from '../notification.ts';

/** Options of {@link createSlackChannel}. */
export interface SlackChannelOptions {
  /** The Slack incoming webhook (`[monitoring.alerts] webhook_url`); never logged. */
  readonly url: string;
  /** @default "slack" */
  readonly name?: string;
  /** Minimum time between two messages to this webhook; Slack allows about one per second. @default 1000 */
  readonly minIntervalMs?: number;
  /** Overrides the webhook's channel. @default the webhook's own */
  readonly channel?: string;
  /** @default the webhook's own */
  readonly username?: string;
}

/** Attachment colours by severity; resolved alerts are green. */
export const SLACK_COLORS: Readonly<Record<string, string>> = Object.freeze({
  critical: '#d00000',
  warning: '#daa038',
  info: '#439fe0',
  resolved: '#2eb886',
});

const groupColor = (n: Notification): string => {
  if (n.status === 'resolved') return SLACK_COLORS.resolved!;
  const severity = commonLabels(n.alerts.map((a) => a.labels)).severity ?? 'warning';
  return SLACK_COLORS[severity] ?? SLACK_COLORS.warning!;
};

/**
 * Builds the Slack message. Its first attachment is Alertmanager's `slack_configs` default: the title is the default
 * subject (`[FIRING:1] API Error Rate High history (warning core)`), linked to the alerts page, with an empty text. Ours
 * adds one attachment per alert: its labels, every annotation, value, runbook button, how long it lasted.
 */
export function slackMessage(n: Notification): IncomingWebhookSendArguments {
  const title = notificationTitle(n);
  const link = alertsViewUrl(n);
  return {
    attachments: [
      {
        color: groupColor(n),
        fallback: `${title} | ${link ?? ''}`,
        title,
        ...(link === undefined ? {} : { title_link: link }),
        // slack.default.text is empty; Alertmanager sends it so.
        text: '',
        mrkdwn_in: ['pretext', 'text'],
      },
      ...n.alerts.map((a) => {
        const severity = a.labels.severity ?? 'warning';
        const color =
          a.status === 'resolved' ? SLACK_COLORS.resolved : (SLACK_COLORS[severity] ?? SLACK_COLORS.warning);
        const labels = sortedPairs(a.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ');
        const fields = [
          { title: 'Severity', value: severity, short: true },
          { title: 'Value', value: String(a.value), short: true },
          { title: 'Labels', value: labels, short: false },
        ];
        // Every annotation: summary and description as the text, the runbook as a button, the others as fields.
        for (const [k, v] of sortedPairs(a.annotations))
          if (k !== 'summary' && k !== 'description' && k !== 'runbook_url')
            fields.push({ title: k, value: v, short: false });
        if (a.status === 'resolved' && a.endsAt !== undefined)
          fields.push({ title: 'Lasted', value: formatDuration(a.endsAt - a.startsAt), short: true });
        const runbook = a.annotations.runbook_url;
        const text = [a.annotations.summary, a.annotations.description].filter((s) => s !== undefined).join('\n');
        return {
          color,
          fallback: describeAlert(a),
          title: `[${a.status.toUpperCase()}] ${a.labels.alertname ?? 'alert'}`,
          ...(a.generatorURL ? { title_link: a.generatorURL } : {}),
          ...(text === '' ? {} : { text }),
          fields,
          ...(runbook === undefined ? {} : { actions: [{ type: 'button' as const, text: 'Runbook', url: runbook }] }),
          ts: String(Math.floor(a.startsAt / 1000)),
        };
      }),
    ],
  };
}

/**
 * Slack through `@slack/webhook`: at most one message per `minIntervalMs`, and after a 429 nothing is sent
 * before its Retry-After has passed (the failed message is retried by the notifier).
 */
export function createSlackChannel(options: SlackChannelOptions): NotificationChannel {
  const name = options.name ?? 'slack';
  const minInterval = options.minIntervalMs ?? 1000;
  let nextAt = 0;
  // Messages to one webhook go one at a time, so the spacing holds even if two sends overlap.
  let chain: Promise<unknown> = Promise.resolve();

  async function sendOne(n: Notification, signal: AbortSignal): Promise<void> {
    await sleep(nextAt - Date.now(), signal);
    // @slack/webhook is loaded by the first message, not by every import of @obs/alerts (#22).
    const { IncomingWebhook, IncomingWebhookHTTPError } = await import('@slack/webhook');
    let retryAfter: string | null = null;
    let status = 0;
    // Our fetch: it carries the notifier's signal and keeps the Retry-After that the library's error omits.
    // node:http rather than fetch: our User-Agent (not the library's), no browser headers.
    const fetchFn: FetchFunction = async (url, init) => {
      const headers = Object.fromEntries(
        Object.entries(init?.headers ?? {}).filter(([k]) => k.toLowerCase() !== 'user-agent'),
      );
      const response = await post(url, typeof init?.body === 'string' ? init.body : '', { headers, signal });
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      return response;
    };
    const hook = new IncomingWebhook(options.url, {
      fetch: fetchFn,
      timeout: 0,
      retryConfig: { retries: 0 },
      ...(options.channel === undefined ? {} : { channel: options.channel }),
      ...(options.username === undefined ? {} : { username: options.username }),
    });
    try {
      await hook.send(slackMessage(n));
      nextAt = Date.now() + minInterval;
    } catch (error) {
      nextAt = Date.now() + minInterval;
      if (error instanceof IncomingWebhookHTTPError || status >= 400) {
        const failure = await httpFailure(name, new Response(null, { status, headers: retryAfterHeaders(retryAfter) }));
        if (failure.retryAfterMs !== undefined) nextAt = Math.max(nextAt, Date.now() + failure.retryAfterMs);
        throw failure;
      }
      throw error instanceof NotificationError ? error : requestFailure(name, error, signal);
    }
  }

  return {
    name,
    readyIn: () => Math.max(0, nextAt - Date.now()),
    send(n, signal) {
      const run = chain.then(() => sendOne(n, signal));
      chain = run.catch(() => undefined);
      return run;
    },
  };
}

function retryAfterHeaders(value: string | null): Record<string, string> {
  return value === null ? {} : { 'retry-after': value };
}
