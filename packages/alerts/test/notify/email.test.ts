import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, test } from 'vitest';
import { createEmailChannel, NotificationError } from '../../src/index.ts';
import { createNotifier } from '../../src/notify/notifier.ts';
import { firingAlert, notification, resolved } from '../fixtures/notifications.ts';

interface Received {
  readonly from: string;
  readonly to: readonly string[];
  readonly raw: string;
  readonly user: string | undefined;
  readonly secure: boolean;
}

interface Smtp {
  readonly port: number;
  readonly received: Received[];
  close(): Promise<void>;
}

const servers: Smtp[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function startSmtp(options: { auth?: boolean; rejectRcpt?: boolean; failFirst?: number } = {}): Promise<Smtp> {
  const received: Received[] = [];
  let failures = options.failFirst ?? 0;
  const server = new SMTPServer({
    logger: false,
    authOptional: options.auth !== true,
    ...(options.auth === true
      ? {
          onAuth(auth, _session, callback) {
            if (auth.username === 'alerts' && auth.password === 's3cret-pw') callback(null, { user: auth.username });
            else callback(new Error('Invalid username or password'));
          },
        }
      : {}),
    onRcptTo(_address, _session, callback) {
      if (options.rejectRcpt === true) {
        const err = Object.assign(new Error('No such user'), { responseCode: 550 });
        callback(err);
      } else callback();
    },
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (c: Buffer) => {
        raw += c.toString('utf8');
      });
      stream.on('end', () => {
        if (failures > 0) {
          failures--;
          callback(Object.assign(new Error('Try again later'), { responseCode: 451 }));
          return;
        }
        received.push({
          from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          user: typeof session.user === 'string' ? session.user : undefined,
          secure: session.secure,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  const smtp: Smtp = { port, received, close: () => new Promise<void>((r) => server.close(() => r())) };
  servers.push(smtp);
  return smtp;
}

/** Undoes quoted-printable: soft line breaks and =XX escapes (bodies here are ASCII). */
function decodeQP(raw: string): string {
  return raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

const base = { host: '127.0.0.1', from: 'alerts@example.test', to: ['oncall@example.test', 'dev@example.test'] };

describe('e-mail channel against a real smtp-server on loopback', () => {
  test('delivers one message with text and HTML bodies over STARTTLS, authenticated', async () => {
    const smtp = await startSmtp({ auth: true });
    const channel = createEmailChannel({
      ...base,
      port: smtp.port,
      user: 'alerts',
      password: 's3cret-pw',
      requireTLS: true,
      // smtp-server's built-in certificate is self-signed.
      tls: { rejectUnauthorized: false },
    });
    try {
      await channel.send(notification(), new AbortController().signal);
    } finally {
      await channel.close?.();
    }
    expect(smtp.received).toHaveLength(1);
    const [mail] = smtp.received;
    expect(mail).toMatchObject({ from: base.from, to: base.to, user: 'alerts', secure: true });
    // Alertmanager's default subject: group label values, then the other common labels' values.
    expect(mail?.raw).toContain('Subject: [FIRING:1] API Error Rate High (/sync/history warning)');
    expect(mail?.raw).toContain('Content-Type: text/plain');
    expect(mail?.raw).toContain('Content-Type: text/html');
    // Every label and annotation, as Alertmanager's template lists them, and the source.
    const text = decodeQP(mail?.raw ?? '');
    for (const line of [
      ' - endpoint = /sync/history',
      ' - runbook_url = https://runbooks.example/api-errors',
      ' - summary = Errors at 0.4/s',
      'Source: ',
      'Value: 0.4',
      '1 alert for alertname=API Error Rate High',
      '[1] Firing',
    ])
      expect(text).toContain(line);
    expect(text).toContain('summary = Errors at 0.4/s<br />');
    expect(decodeQP(mail?.raw ?? '')).toContain('<a href="https://runbooks.example/api-errors">Runbook</a>');
    expect(mail?.raw).not.toContain('s3cret-pw');
  });

  test('a resolved notification says how long the alert lasted', async () => {
    const smtp = await startSmtp();
    const channel = createEmailChannel({ ...base, port: smtp.port, tls: { rejectUnauthorized: false } });
    try {
      await channel.send(notification([resolved(firingAlert(), 12 * 60_000 + 5000)]), new AbortController().signal);
    } finally {
      await channel.close?.();
    }
    expect(smtp.received).toHaveLength(1);
    expect(decodeQP(smtp.received[0]?.raw ?? '')).toContain('Resolved after 12m 5s.');
    expect(decodeQP(smtp.received[0]?.raw ?? '')).toContain('[1] Resolved');
    expect(smtp.received[0]?.raw).toContain('Subject: [RESOLVED] API Error Rate High (/sync/history warning)');
  });

  test('a refused recipient (550) is a NotificationError that is not retried', async () => {
    const smtp = await startSmtp({ rejectRcpt: true });
    const channel = createEmailChannel({ ...base, port: smtp.port, tls: { rejectUnauthorized: false } });
    try {
      const error = await channel.send(notification(), new AbortController().signal).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotificationError);
      expect(error).toMatchObject({ code: 'OBS_ERR_ALERTS_NOTIFY', channel: 'email', status: 550, retryable: false });
    } finally {
      await channel.close?.();
    }
    expect(smtp.received).toHaveLength(0);
  });

  test('wrong credentials fail without the password in the error', async () => {
    const smtp = await startSmtp({ auth: true });
    const channel = createEmailChannel({
      ...base,
      port: smtp.port,
      user: 'alerts',
      password: 'wrong-pw-123',
      tls: { rejectUnauthorized: false },
    });
    try {
      const error = await channel.send(notification(), new AbortController().signal).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotificationError);
      expect((error as Error).message).not.toContain('wrong-pw-123');
      expect(JSON.stringify(error)).not.toContain('wrong-pw-123');
    } finally {
      await channel.close?.();
    }
  });

  test('a temporary failure (451) is retried by the notifier and delivered exactly once', async () => {
    const smtp = await startSmtp({ failFirst: 2 });
    const notifier = createNotifier({
      channels: [createEmailChannel({ ...base, port: smtp.port, tls: { rejectUnauthorized: false } })],
      retry: { initialBackoffMs: 1, jitter: 0 },
    });
    try {
      notifier.notify(notification());
      await notifier.idle();
      expect(notifier.stats().email).toEqual({ sent: 1, failed: 2, dropped: 0, queued: 0 });
    } finally {
      await notifier.close();
    }
    expect(smtp.received).toHaveLength(1);
  });

  test('a refused connection is retryable', async () => {
    const smtp = await startSmtp();
    await smtp.close();
    const channel = createEmailChannel({ ...base, port: smtp.port });
    try {
      const error = await channel.send(notification(), new AbortController().signal).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotificationError);
      expect(error).toMatchObject({ code: 'OBS_ERR_ALERTS_NOTIFY', retryable: true });
    } finally {
      await channel.close?.();
    }
  });
});
