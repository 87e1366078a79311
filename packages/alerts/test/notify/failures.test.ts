// Issue #19: every failure ends cleanly: SMTP never sends credentials in clear text unless told to, a route to a
// missing channel fails at start naming its key and line, and no secret appears in an error or a log line.
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMonitor, loadConfig, ObsConfigError, type ObsLogger, silentLogger } from '@obs/core';
import { listenLoopback } from '@obs/testing';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, test } from 'vitest';
import { alertsPlugin, createEmailChannel, createSlackChannel, NotificationError } from '../../src/index.ts';
import { notification } from '../fixtures/notifications.ts';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** An smtp-server that records every AUTH it receives and whether the connection was encrypted then. */
async function smtp(options: { starttls: boolean; accept?: boolean }) {
  const auths: { username: string; password: string; secure: boolean }[] = [];
  const mails: string[] = [];
  const server = new SMTPServer({
    logger: false,
    hideSTARTTLS: !options.starttls,
    allowInsecureAuth: true,
    onAuth(auth, session, callback) {
      auths.push({ username: auth.username ?? '', password: auth.password ?? '', secure: session.secure });
      if (options.accept === true) callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
    onData(stream, _session, callback) {
      let raw = '';
      stream.on('data', (c: Buffer) => {
        raw += c.toString();
      });
      stream.on('end', () => {
        mails.push(raw);
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.server.address() as AddressInfo).port, auths, mails };
}

const mail = { host: '127.0.0.1', from: 'alerts@example.test', to: ['oncall@example.test'] };

describe('SMTP requires TLS unless smtp_tls = "none"', () => {
  test('by default, a server that offers no STARTTLS gets neither the mail nor the credentials', async () => {
    const server = await smtp({ starttls: false, accept: true });
    const channel = createEmailChannel({ ...mail, port: server.port, user: 'alerts', password: 'smtp-secret-pw' });
    cleanup.push(() => channel.close?.());
    const error = await channel.send(notification(), new AbortController().signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotificationError);
    expect(server.auths).toEqual([]);
    expect(server.mails).toEqual([]);
  });

  test('with STARTTLS offered, the credentials go over TLS', async () => {
    const server = await smtp({ starttls: true, accept: true });
    const channel = createEmailChannel({
      ...mail,
      port: server.port,
      user: 'alerts',
      password: 'smtp-secret-pw',
      tls: { rejectUnauthorized: false },
    });
    cleanup.push(() => channel.close?.());
    await channel.send(notification(), new AbortController().signal);
    expect(server.auths).toEqual([{ username: 'alerts', password: 'smtp-secret-pw', secure: true }]);
    expect(server.mails).toHaveLength(1);
  });

  test('[monitoring.alerts] smtp_tls: "auto" by default requires TLS; "none" sends in clear text and warns at start', async () => {
    for (const [smtpTls, delivered] of [
      [undefined, false],
      ['none', true],
    ] as const) {
      const server = await smtp({ starttls: false, accept: true });
      const warnings: string[] = [];
      const plugin = alertsPlugin({
        rules: [],
        notifications: { log: false, http: false, routes: [{ groupWaitMs: 0 }], retry: { maxAttempts: 1 } },
      });
      const monitor = createMonitor({
        config: {
          metrics_port: 0,
          health_port: 0,
          host: '127.0.0.1',
          alerts: {
            smtp_host: '127.0.0.1',
            smtp_port: server.port,
            smtp_user: 'alerts',
            smtp_password: 'smtp-secret-pw',
            email_to: ['oncall@example.test'],
            ...(smtpTls === undefined ? {} : { smtp_tls: smtpTls }),
          },
        },
        plugins: [plugin],
        logger: { ...silentLogger, warn: (m: string) => warnings.push(m) },
      });
      const outcome = new Promise<string>((resolve) => {
        monitor.bus.on('alert:notified', (e) => {
          if (e.outcome !== 'failed') resolve(e.outcome);
        });
      });
      await monitor.start();
      try {
        plugin.dispatcher.receive({ labels: { alertname: 'A' }, value: 1, status: 'firing', startsAt: Date.now() });
        expect(await outcome).toBe(delivered ? 'sent' : 'dropped');
      } finally {
        await monitor.stop();
      }
      expect(server.mails).toHaveLength(delivered ? 1 : 0);
      expect(server.auths.some((a) => !a.secure)).toBe(delivered);
      expect(warnings.some((w) => w.includes('smtp_tls = "none"'))).toBe(smtpTls === 'none');
    }
  });
});

function tomlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'obs-alerts-failures-')), 'app.toml');
  writeFileSync(file, text);
  return file;
}

describe('config errors name the key, file and line', () => {
  test('a route to a channel that does not exist fails at start', async () => {
    const file = tomlFile(`[monitoring]
metrics_port = 0
health_port = 0
host = "127.0.0.1"

[monitoring.alerts]
webhook_url = "http://127.0.0.1:9/hook"

[[monitoring.alerts.routes]]
matchers = ['severity="critical"']
channels = ["webhook", "pager"]
`);
    const plugins = [alertsPlugin()];
    const monitor = createMonitor({ config: loadConfig({ file, env: {}, plugins }), plugins, logger: silentLogger });
    const error = await monitor.start().catch((e: unknown) => e);
    await monitor.stop();
    expect(error).toBeInstanceOf(ObsConfigError);
    expect((error as ObsConfigError).issues).toMatchObject([
      {
        path: 'monitoring.alerts.routes.0.channels.1',
        file,
        line: expect.any(Number),
        message: expect.stringContaining('"pager"'),
      },
    ]);
    expect(() =>
      alertsPlugin({ notifications: { routes: [{ channels: ['nowhere'] }] } }).setup({
        config: loadConfig({ env: {}, plugins }),
      } as never),
    ).toThrow(ObsConfigError);
  });

  test('an unreadable smtp_ca_file names monitoring.alerts.smtp_ca_file with its file and line', async () => {
    const file = tomlFile(`[monitoring]
metrics_port = 0
health_port = 0
host = "127.0.0.1"

[monitoring.alerts]
smtp_host = "mail.test"
email_to = ["a@b.test"]
smtp_ca_file = "missing-ca.pem"
`);
    const plugins = [alertsPlugin()];
    const monitor = createMonitor({ config: loadConfig({ file, env: {}, plugins }), plugins, logger: silentLogger });
    const error = await monitor.start().catch((e: unknown) => e);
    await monitor.stop();
    expect(error).toBeInstanceOf(ObsConfigError);
    expect((error as ObsConfigError).issues).toMatchObject([
      { path: 'monitoring.alerts.smtp_ca_file', file, line: 9, message: expect.stringContaining('ENOENT') },
    ]);
  });
});

describe('no secret in an error, a log line or an obs:error', () => {
  test('failing webhook, Slack webhook, SMTP with a password, alertmanager_url and remote URL with userinfo', async () => {
    const secrets = [
      'WEBHOOK-SECRET-TOKEN',
      'SLACK-SECRET-XYZ',
      'smtp-secret-pw',
      'AM-SECRET-PW',
      'PROM-SECRET-PW',
      'PROM-QUERY-TOKEN',
    ];
    const authSeen: string[] = [];
    const failing = await listenLoopback((req, res) => {
      if (req.headers.authorization !== undefined) authSeen.push(req.headers.authorization);
      req.resume();
      res.writeHead(500).end('no');
    });
    cleanup.push(() => failing.close());
    const smtpServer = await smtp({ starttls: true });
    const base = failing.url.href.replace(/\/$/, '');
    const lines: string[] = [];
    const logger: ObsLogger = {
      debug: (m, f) => lines.push(`${m} ${JSON.stringify(f ?? {})}`),
      info: (m, f) => lines.push(`${m} ${JSON.stringify(f ?? {})}`),
      warn: (m, f) => lines.push(`${m} ${JSON.stringify(f ?? {})}`),
      error: (m, f) => lines.push(`${m} ${JSON.stringify(f ?? {})}`),
    };
    const errorTexts: string[] = [];
    const describe = (e: unknown): string => {
      const parts: string[] = [];
      for (let x = e, depth = 0; x !== undefined && x !== null && depth < 5; depth++) {
        parts.push(String(x), (x as Error).stack ?? '', JSON.stringify(x));
        x = (x as { cause?: unknown }).cause;
      }
      return parts.join('\n');
    };
    const run = async (alerts: Record<string, unknown>, options: Parameters<typeof alertsPlugin>[0]) => {
      const plugin = alertsPlugin(options);
      const monitor = createMonitor({
        config: { metrics_port: 0, health_port: 0, host: '127.0.0.1', alerts },
        plugins: [plugin],
        logger,
      });
      monitor.bus.on('obs:error', (e) => {
        errorTexts.push(describe(e.error));
      });
      const done = new Promise<void>((resolve) => {
        let dropped = 0;
        monitor.bus.on('alert:notified', (e) => {
          if (e.outcome === 'dropped' && ++dropped >= 3) resolve();
        });
      });
      await monitor.start();
      return { plugin, monitor, done };
    };
    const retry = { maxAttempts: 2, initialBackoffMs: 1, jitter: 0 };
    const notifying = await run(
      {
        webhook_url: `${base}/hooks/WEBHOOK-SECRET-TOKEN`,
        smtp_host: '127.0.0.1',
        smtp_port: smtpServer.port,
        smtp_user: 'alerts',
        smtp_password: 'smtp-secret-pw',
        smtp_insecure_skip_verify: true,
        email_to: ['oncall@example.test'],
      },
      {
        rules: [],
        notifications: {
          log: false,
          http: false,
          channels: [createSlackChannel({ url: `${base}/services/T0/B0/SLACK-SECRET-XYZ`, minIntervalMs: 1 })],
          routes: [{ groupWaitMs: 0 }],
          retry,
        },
      },
    );
    notifying.plugin.dispatcher.receive({
      labels: { alertname: 'A' },
      value: 1,
      status: 'firing',
      startsAt: Date.now(),
    });
    await notifying.done;
    await notifying.monitor.stop();

    const amUrl = `http://am-user:AM-SECRET-PW@${failing.url.host}/`;
    const handoff = await run({ alertmanager_url: amUrl }, { rules: [{ name: 'Up', expr: 'vector(1)' }] });
    const remote = await run(
      {},
      {
        rules: [{ name: 'Up', expr: 'up == 1' }],
        remote: { url: `http://prom:PROM-SECRET-PW@127.0.0.1:9/?token=PROM-QUERY-TOKEN` },
        notifications: false,
      },
    );
    await handoff.plugin.engine.evaluateAsync(Date.now());
    await remote.plugin.engine.evaluateAsync(Date.now());
    await new Promise((r) => setTimeout(r, 300));
    await handoff.monitor.stop();
    await remote.monitor.stop();

    // Something failed on every path, and Alertmanager got the userinfo as basic auth.
    expect(errorTexts.length).toBeGreaterThanOrEqual(5);
    expect(authSeen).toContain(`Basic ${Buffer.from('am-user:AM-SECRET-PW').toString('base64')}`);
    const everything = [...lines, ...errorTexts].join('\n');
    for (const secret of secrets) expect(everything, secret).not.toContain(secret);
  }, 30_000);
});
