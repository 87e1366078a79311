import type { ConnectionOptions } from 'node:tls';
import type { Transporter } from 'nodemailer';
import {
  alertsViewUrl,
  formatDuration,
  type Notification,
  type NotificationAlert,
  type NotificationChannel,
  NotificationError,
  notificationTitle,
  sortedPairs,
} from '../notification.ts';

/** Options of {@link createEmailChannel}; the keys of `[monitoring.alerts]` map onto them. */
export interface EmailChannelOptions {
  /** `smtp_host`. */
  readonly host: string;
  /** `smtp_port`. @default 587 */
  readonly port?: number;
  /** Implicit TLS from the first byte (port 465); otherwise STARTTLS. @default port === 465 */
  readonly secure?: boolean;
  /**
   * Refuse to send (or authenticate) unless STARTTLS succeeds; `false` uses STARTTLS only when the server offers
   * it. @default true
   */
  readonly requireTLS?: boolean;
  /** Never STARTTLS: mail and credentials go in clear text (`smtp_tls = "none"`). @default false */
  readonly ignoreTLS?: boolean;
  /** Extra TLS options: `ca`, `servername`, `rejectUnauthorized`, `minVersion`. @default Node's */
  readonly tls?: ConnectionOptions;
  /** `smtp_user`; with `password`, authenticates. @default none */
  readonly user?: string;
  /** `smtp_password`; never logged. @default none */
  readonly password?: string;
  /** `email_from`. */
  readonly from: string;
  /** `email_to`. */
  readonly to: readonly string[];
  /** @default "email" */
  readonly name?: string;
  /** Bounds connecting, the greeting and each later wait for the server. @default 10000 */
  readonly timeoutMs?: number;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Our extras after Alertmanager's lines: the value, and how long a resolved alert lasted.
function extras(a: NotificationAlert): string[] {
  const out = [`Value: ${a.value}`];
  if (a.status === 'resolved' && a.endsAt !== undefined)
    out.push(`Resolved after ${formatDuration(a.endsAt - a.startsAt)}.`);
  return out;
}

function alertText(a: NotificationAlert): string {
  return [
    'Labels:',
    ...sortedPairs(a.labels).map(([k, v]) => ` - ${k} = ${v}`),
    'Annotations:',
    ...sortedPairs(a.annotations).map(([k, v]) => ` - ${k} = ${v}`),
    `Source: ${a.generatorURL ?? ''}`,
    ...extras(a),
  ].join('\n');
}

function alertHtml(a: NotificationAlert): string {
  const pairs = (labels: NotificationAlert['labels']): string =>
    sortedPairs(labels)
      .map(([k, v]) => `${escapeHtml(k)} = ${escapeHtml(v)}<br />`)
      .join('');
  const annotations =
    Object.keys(a.annotations).length > 0 ? `<strong>Annotations</strong><br />${pairs(a.annotations)}` : '';
  return (
    `<tr><td><strong>Labels</strong><br />${pairs(a.labels)}${annotations}` +
    `<a href="${escapeHtml(a.generatorURL ?? '')}">Source</a><br />` +
    (a.annotations.runbook_url === undefined
      ? ''
      : `<a href="${escapeHtml(a.annotations.runbook_url)}">Runbook</a><br />`) +
    `${extras(a).map(escapeHtml).join('<br />')}</td></tr>`
  );
}

/**
 * The subject, text and HTML of a notification e-mail, as Alertmanager's default e-mail template: its subject,
 * "N alerts for <group labels>", a link to the alerts page, then the firing and the resolved alerts with every label
 * and annotation and their source; ours adds each alert's value and how long a resolved one lasted.
 */
export function emailBodies(n: Notification): { subject: string; text: string; html: string } {
  const subject = notificationTitle(n);
  const firing = n.alerts.filter((a) => a.status === 'firing');
  const resolved = n.alerts.filter((a) => a.status === 'resolved');
  const count = `${n.alerts.length} alert${n.alerts.length > 1 ? 's' : ''} for ${sortedPairs(n.groupLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')}`;
  const link = alertsViewUrl(n);
  const text = [
    subject,
    '',
    count,
    ...(link === undefined ? [] : [`View in Alertmanager: ${link}`]),
    ...(firing.length > 0 ? ['', `[${firing.length}] Firing`, ...firing.map(alertText)] : []),
    ...(resolved.length > 0 ? ['', `[${resolved.length}] Resolved`, ...resolved.map(alertText)] : []),
  ].join('\n');
  const section = (title: string, alerts: readonly NotificationAlert[]): string =>
    alerts.length === 0
      ? ''
      : `<tr><td><strong>[${alerts.length}] ${title}</strong></td></tr>${alerts.map(alertHtml).join('')}`;
  const html =
    `<html><head><title>${escapeHtml(subject)}</title></head><body><table>` +
    `<tr><td>${escapeHtml(count)}</td></tr>` +
    (link === undefined ? '' : `<tr><td><a href="${escapeHtml(link)}">View in Alertmanager</a></td></tr>`) +
    section('Firing', firing) +
    (firing.length > 0 && resolved.length > 0 ? '<tr><td><br /><hr /><br /></td></tr>' : '') +
    section('Resolved', resolved) +
    '</table></body></html>';
  return { subject, text, html };
}

/** E-mail over SMTP through nodemailer: one pooled connection, closed by close(). */
export function createEmailChannel(options: EmailChannelOptions): NotificationChannel {
  const name = options.name ?? 'email';
  const port = options.port ?? 587;
  const timeout = options.timeoutMs ?? 10_000;
  // nodemailer is loaded by the first e-mail, not by every import of @obs/alerts (#22).
  let transport: Promise<Transporter> | undefined;
  const connect = (): Promise<Transporter> =>
    (transport ??= import('nodemailer').then(({ createTransport }) =>
      createTransport({
        pool: true,
        maxConnections: 1,
        host: options.host,
        port,
        secure: options.secure ?? port === 465,
        // Secure by default: a server (or a man in the middle) that offers no STARTTLS gets no credentials.
        requireTLS: options.ignoreTLS === true ? false : (options.requireTLS ?? true),
        ignoreTLS: options.ignoreTLS ?? false,
        ...(options.tls === undefined ? {} : { tls: options.tls }),
        ...(options.user !== undefined && options.user !== ''
          ? { auth: { user: options.user, pass: options.password ?? '' } }
          : {}),
        connectionTimeout: timeout,
        greetingTimeout: timeout,
        socketTimeout: timeout,
        logger: false,
        debug: false,
      }),
    ));
  return {
    name,
    async send(n, signal) {
      const { subject, text, html } = emailBodies(n);
      const smtp = await connect();
      try {
        await smtp.sendMail({ from: options.from, to: [...options.to], subject, text, html, signal });
      } catch (error) {
        const code = (error as { code?: unknown; responseCode?: unknown }).code;
        const responseCode = (error as { responseCode?: unknown }).responseCode;
        // A 5xx reply (a refused recipient, failed auth) stays refused; 4xx and network errors may pass later.
        const permanent = typeof responseCode === 'number' && responseCode >= 500;
        // nodemailer's messages can quote the server's reply, never the password; keep only codes anyway.
        throw new NotificationError(
          name,
          `SMTP delivery failed${typeof code === 'string' ? ` (${code}` : ' ('}${typeof responseCode === 'number' ? ` ${responseCode})` : ')'}`,
          { retryable: !permanent, ...(typeof responseCode === 'number' ? { status: responseCode } : {}) },
        );
      }
    },
    async close() {
      (await transport)?.close({ force: true });
    },
  };
}
