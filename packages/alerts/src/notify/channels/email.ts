import type { ConnectionOptions } from 'node:tls';
import { createTransport } from 'nodemailer';
import {
  describeAlert,
  formatDuration,
  type Notification,
  type NotificationAlert,
  type NotificationChannel,
  NotificationError,
  notificationTitle,
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

function alertHtml(a: NotificationAlert): string {
  const rows = Object.entries(a.labels)
    .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`)
    .join('');
  const runbook = a.annotations.runbook_url;
  const lasted =
    a.status === 'resolved' && a.endsAt !== undefined
      ? `<p>Resolved after ${formatDuration(a.endsAt - a.startsAt)}.</p>`
      : '';
  return (
    `<h3>[${a.status.toUpperCase()}] ${escapeHtml(a.labels.alertname ?? 'alert')}</h3>` +
    (a.annotations.summary === undefined ? '' : `<p>${escapeHtml(a.annotations.summary)}</p>`) +
    `<p>Value: ${escapeHtml(String(a.value))}</p>${lasted}<table>${rows}</table>` +
    (runbook === undefined ? '' : `<p><a href="${escapeHtml(runbook)}">Runbook</a></p>`)
  );
}

/** The text and HTML bodies of a notification e-mail. */
export function emailBodies(n: Notification): { subject: string; text: string; html: string } {
  const subject = notificationTitle(n);
  const text = [
    subject,
    '',
    ...n.alerts.map((a) => {
      const extra = [a.annotations.summary, a.annotations.runbook_url && `Runbook: ${a.annotations.runbook_url}`]
        .filter((s) => s !== undefined && s !== '')
        .map((s) => `  ${s}`);
      return [describeAlert(a), ...extra].join('\n');
    }),
  ].join('\n');
  const html = `<html><body><h2>${escapeHtml(subject)}</h2>${n.alerts.map(alertHtml).join('')}</body></html>`;
  return { subject, text, html };
}

/** E-mail over SMTP through nodemailer: one pooled connection, closed by close(). */
export function createEmailChannel(options: EmailChannelOptions): NotificationChannel {
  const name = options.name ?? 'email';
  const port = options.port ?? 587;
  const timeout = options.timeoutMs ?? 10_000;
  const transport = createTransport({
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
  });
  return {
    name,
    async send(n, signal) {
      const { subject, text, html } = emailBodies(n);
      try {
        await transport.sendMail({ from: options.from, to: [...options.to], subject, text, html, signal });
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
      transport.close({ force: true });
    },
  };
}
