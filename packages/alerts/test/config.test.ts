import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMonitor, loadConfig, ObsConfigError, silentLogger } from '@obs/core';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { alertsPlugin, type WebhookPayload } from '../src/index.ts';
import { type Recorder, scriptedServer } from './fixtures/http.ts';
import { waitFor } from './fixtures/notifications.ts';

const open: Recorder[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const s of open.splice(0)) await s.close();
});

function tomlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'obs-alerts-config-')), 'app.toml');
  writeFileSync(file, text);
  return file;
}

function configError(run: () => unknown): ObsConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ObsConfigError) return error;
    throw error;
  }
  throw new Error('expected an ObsConfigError');
}

describe('[monitoring.alerts] keys added by @obs/alerts', () => {
  test('timing, routes, quiet hours, SMTP TLS, Alertmanager and state file load from TOML', () => {
    const file = tomlFile(`
[monitoring.alerts]
group_by = ["alertname", "endpoint"]
group_wait = "5s"
group_interval = "1m"
repeat_interval = "2h"
smtp_tls = "starttls"
alertmanager_url = "http://am.internal:9093"
state_file = "/var/lib/app/alerts.json"

[[monitoring.alerts.routes]]
matchers = ['severity="critical"', 'endpoint=~"/sync/.*"']
channels = ["email"]
repeat_interval = "30m"
continue = true

[[monitoring.alerts.routes]]
channels = ["log"]

[monitoring.alerts.quiet_hours]
start_hour = 22
end_hour = 7
`);
    const { alerts } = loadConfig({ file, env: {}, plugins: [alertsPlugin()] });
    expect(alerts).toMatchObject({
      group_by: ['alertname', 'endpoint'],
      group_wait: 5_000,
      group_interval: 60_000,
      repeat_interval: 7_200_000,
      smtp_tls: 'starttls',
      alertmanager_url: 'http://am.internal:9093',
      state_file: '/var/lib/app/alerts.json',
      quiet_hours: { start_hour: 22, end_hour: 7, time_zone: '', utc_offset_minutes: 0, allow: ['critical'] },
    });
    expect(alerts.routes).toEqual([
      {
        matchers: ['severity="critical"', 'endpoint=~"/sync/.*"'],
        channels: ['email'],
        repeat_interval: 1_800_000,
        continue: true,
      },
      { matchers: [], channels: ['log'], continue: false },
    ]);
  });

  test('defaults are Alertmanager’s', () => {
    const { alerts } = loadConfig({ env: {}, plugins: [alertsPlugin()] });
    expect(alerts).toMatchObject({
      group_by: ['alertname'],
      group_wait: 30_000,
      group_interval: 300_000,
      repeat_interval: 14_400_000,
      routes: [],
      smtp_tls: 'auto',
      alertmanager_url: '',
      state_file: '',
    });
    expect(alerts.quiet_hours).toBeUndefined();
  });

  test('rules_file and state_file are relative to the TOML file that names them', async () => {
    const file = tomlFile(
      '[monitoring]\nmetrics_port = 0\nhealth_port = 0\nhost = "127.0.0.1"\n' +
        '[monitoring.alerts]\nrules_file = "rules/app.yml"\nstate_file = "alerts-state.json"\n',
    );
    const dir = join(file, '..');
    mkdirSync(join(dir, 'rules'));
    writeFileSync(
      join(dir, 'rules/app.yml'),
      'alerts:\n  - name: "Queue Stuck"\n    condition: "stuck > 0"\n    severity: "critical"\n',
    );
    const plugin = alertsPlugin();
    const monitor = createMonitor({
      config: loadConfig({ file, env: {}, plugins: [plugin] }),
      plugins: [plugin],
      logger: silentLogger,
    });
    await monitor.start();
    await monitor.stop();
    expect(plugin.engine.rules.map((r) => r.name)).toEqual(['Queue Stuck']);
    expect(existsSync(join(dir, 'alerts-state.json'))).toBe(true);
  });

  test('every mistake is reported at once with its file, line and key', () => {
    const file = tomlFile(`[monitoring.alerts]
group_wait = "soon"
smtp_tls = "maybe"

[[monitoring.alerts.routes]]
matchers = ['severity=="critical"', 'endpoint=~"(unclosed"']
group_interval = "0s"
chanels = ["email"]

[monitoring.alerts.quiet_hours]
start_hour = 25
end_hour = 7
time_zone = "Mars/Base"
`);
    const error = configError(() => loadConfig({ file, env: {}, plugins: [alertsPlugin()] }));
    const lines = error.message.split('\n').slice(1);
    const expected: [string, string][] = [
      [':2:', 'alerts.group_wait: must be a duration'],
      [':3:', 'alerts.smtp_tls:'],
      [
        ':6:',
        'alerts.routes.0.matchers.0: must be a matcher like severity="critical" (got "severity==\\"critical\\"")',
      ],
      [':6:', 'alerts.routes.0.matchers.1: (matcher "endpoint") is not a valid RE2 regular expression'],
      [':7:', 'alerts.routes.0.group_interval: must be positive'],
      [':8:', 'chanels'],
      [':11:', 'alerts.quiet_hours.start_hour'],
      [':13:', 'alerts.quiet_hours.time_zone: must be an IANA time zone like "Europe/Paris"'],
    ];
    for (const [where, what] of expected)
      expect(
        lines.some((l) => l.includes(`${file}${where}`) && l.includes(what)),
        `${where} ${what} in\n${error.message}`,
      ).toBe(true);
    expect(error.message).not.toMatch(/\n\s+at /);
  });
});

describe('the notification pipeline follows [monitoring.alerts]', () => {
  test('routes by severity to the webhook, with the configured group_wait, and keeps state in state_file', async () => {
    const hook = await scriptedServer();
    open.push(hook);
    const stateFile = join(mkdtempSync(join(tmpdir(), 'obs-alerts-state-')), 'alerts.json');
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(0);
    const plugin = alertsPlugin({
      rules: [
        { name: 'Queue Stuck', expr: 'stuck > 0', severity: 'critical' },
        { name: 'Queue Slow', expr: 'slow > 0', severity: 'warning' },
      ],
    });
    const logged: unknown[] = [];
    const logger = { ...silentLogger, info: (...args: unknown[]) => logged.push(args) };
    const monitor = createMonitor({
      config: {
        metrics_port: 0,
        health_port: 0,
        host: '127.0.0.1',
        alerts: {
          evaluation_interval: '15s',
          webhook_url: hook.url.href,
          group_wait: '0s',
          state_file: stateFile,
          external_url: 'https://app.example.test:8082/',
          routes: [{ matchers: ['severity="critical"'], channels: ['webhook'] }, { channels: ['log'] }],
        },
      },
      plugins: [plugin],
      logger,
    });
    await monitor.start();
    try {
      const sent = waitFor(monitor.bus, 'alert:notified', (e) => e.channel === 'webhook' && e.outcome === 'sent');
      const toLog = waitFor(monitor.bus, 'alert:notified', (e) => e.channel === 'log' && e.outcome === 'sent');
      monitor.bus.emit('metrics:collected', {
        at: Date.now(),
        samples: [
          { name: 'stuck', labels: {}, value: 1 },
          { name: 'slow', labels: {}, value: 1 },
        ],
      });
      await vi.advanceTimersByTimeAsync(15_000);
      await Promise.all([sent, toLog]);
      expect(hook.delivered).toHaveLength(1);
      const payload = hook.delivered[0] as WebhookPayload;
      expect(payload.alerts.map((a) => a.labels.alertname)).toEqual(['Queue Stuck']);
      expect(payload.externalURL).toBe('https://app.example.test:8082/');
      expect(payload.alerts[0]?.generatorURL).toBe('https://app.example.test:8082/alerts');
      // Written within a second (writes are coalesced), one entry per group and channel.
      await vi.waitFor(() => {
        expect(existsSync(stateFile)).toBe(true);
        const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { groups: { channel: string }[] };
        expect(state.groups.map((g) => g.channel).sort()).toEqual(['log', 'webhook']);
      }, 3_000);
    } finally {
      await monitor.stop();
    }
  });

  test('a notification still undelivered at stop waits in state_file and goes out after the restart', async () => {
    const hook = await scriptedServer(['hang']);
    open.push(hook);
    const stateFile = join(mkdtempSync(join(tmpdir(), 'obs-alerts-state-')), 'alerts.json');
    const run = async (during: (monitor: ReturnType<typeof createMonitor>) => Promise<void>) => {
      const monitor = createMonitor({
        config: {
          metrics_port: 0,
          health_port: 0,
          host: '127.0.0.1',
          alerts: { evaluation_interval: '15s', webhook_url: hook.url.href, group_wait: '0s', state_file: stateFile },
        },
        plugins: [
          alertsPlugin({
            rules: [{ name: 'Queue Stuck', expr: 'stuck > 0', severity: 'critical' }],
            notifications: { log: false, timeoutMs: 60_000 },
          }),
        ],
        logger: silentLogger,
      });
      const dropped: unknown[] = [];
      monitor.bus.on('obs:dropped', (e) => {
        dropped.push(e);
      });
      await monitor.start();
      try {
        await during(monitor);
      } finally {
        await monitor.stop();
      }
      return dropped;
    };
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(0);
    const dropped = await run(async (monitor) => {
      monitor.bus.emit('metrics:collected', { at: Date.now(), samples: [{ name: 'stuck', labels: {}, value: 1 }] });
      await vi.advanceTimersByTimeAsync(15_000);
      await vi.waitFor(() => expect(hook.requests).toHaveLength(1));
    });
    // The webhook hung through the drain: the notification is kept, not dropped.
    expect(dropped).toEqual([]);
    expect(hook.delivered).toHaveLength(0);
    // The alert is held, its group not marked as notified on the webhook.
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { groups: unknown[]; alerts: unknown[] };
    expect(state.groups).toEqual([]);
    expect(state.alerts).toMatchObject([{ status: 'firing', labels: { alertname: 'Queue Stuck' } }]);
    await run(async () => {
      await vi.waitFor(() => expect(hook.delivered).toHaveLength(1));
    });
    expect(hook.delivered[0]).toMatchObject({ status: 'firing', alerts: [{ labels: { alertname: 'Queue Stuck' } }] });
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toMatchObject({ groups: [{ channel: 'webhook' }] });
  });

  test('alertmanager_url hands alerts to Alertmanager’s API v2 instead', async () => {
    const am = await scriptedServer();
    open.push(am);
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(0);
    const monitor = createMonitor({
      config: {
        metrics_port: 0,
        health_port: 0,
        host: '127.0.0.1',
        alerts: { evaluation_interval: '15s', alertmanager_url: new URL('/', am.url).href },
      },
      plugins: [alertsPlugin({ rules: [{ name: 'Queue Stuck', expr: 'stuck > 0', severity: 'critical' }] })],
      logger: silentLogger,
    });
    await monitor.start();
    try {
      monitor.bus.emit('metrics:collected', { at: Date.now(), samples: [{ name: 'stuck', labels: {}, value: 1 }] });
      await vi.advanceTimersByTimeAsync(15_000);
      await vi.waitFor(() => expect(am.requests.length).toBeGreaterThan(0));
      expect(am.requests[0]!.path).toBe('/api/v2/alerts');
      expect(JSON.parse(am.requests[0]!.body)).toMatchObject([{ labels: { alertname: 'Queue Stuck' } }]);
    } finally {
      await monitor.stop();
    }
  });

  test('an unreadable smtp_ca_file fails at start, naming the key', async () => {
    const monitor = createMonitor({
      config: {
        metrics_port: 0,
        health_port: 0,
        host: '127.0.0.1',
        alerts: { smtp_host: 'mail.test', email_to: ['a@b.test'], smtp_ca_file: '/nonexistent/ca.pem' },
      },
      plugins: [alertsPlugin()],
      logger: silentLogger,
    });
    await expect(monitor.start()).rejects.toThrow(
      /alerts\.smtp_ca_file: cannot read "\/nonexistent\/ca\.pem" \(ENOENT\)/,
    );
    await monitor.stop();
  });
});

describe('a half-configured channel is a config error naming the missing key (issue 23)', () => {
  const startError = async (alerts: string): Promise<ObsConfigError> => {
    const file = tomlFile(
      `[monitoring]\nmetrics_port = 0\nhealth_port = 0\nhost = "127.0.0.1"\n\n[monitoring.alerts]\n${alerts}\n`,
    );
    const monitor = createMonitor({
      config: loadConfig({ file, env: {} }),
      plugins: [alertsPlugin()],
      logger: silentLogger,
    });
    try {
      await monitor.start();
    } catch (error) {
      if (error instanceof ObsConfigError) return error;
      throw error;
    } finally {
      await monitor.stop();
    }
    throw new Error('expected an ObsConfigError');
  };

  test("the seed's smtp_host and smtp_port without email_to: the channel is off, said by a warning at start", async () => {
    const file = tomlFile(
      '[monitoring]\nmetrics_port = 0\nhealth_port = 0\nhost = "127.0.0.1"\n\n[monitoring.alerts]\nenabled = true\nsmtp_host = "smtp.gmail.com"\nsmtp_port = 587\n',
    );
    const warnings: string[] = [];
    const monitor = createMonitor({
      config: loadConfig({ file, env: {} }),
      plugins: [alertsPlugin()],
      logger: { ...silentLogger, warn: (message: string) => warnings.push(message) },
    });
    await monitor.start();
    await monitor.stop();
    const warning = warnings.find((w) => w.includes('monitoring.alerts.email_to'));
    expect(warning).toMatch(/app\.toml:8:\d+: monitoring\.alerts\.email_to: is not set: .*e-mail channel is off/);
  });

  test('email_to (or email_from) without smtp_host; smtp_user without smtp_password', async () => {
    expect((await startError('email_to = ["ops@example.test"]\n')).issues).toMatchObject([
      { path: 'monitoring.alerts.smtp_host', line: 7 },
    ]);
    expect((await startError('email_from = "app@example.test"\n')).issues).toMatchObject([
      { path: 'monitoring.alerts.smtp_host' },
    ]);
    const auth = await startError('smtp_host = "mail.test"\nemail_to = ["ops@example.test"]\nsmtp_user = "app"\n');
    expect(auth.issues).toMatchObject([{ path: 'monitoring.alerts.smtp_password', line: 9 }]);
  });

  test('a whole channel, or none, starts', async () => {
    for (const alerts of [
      '',
      'smtp_host = "mail.test"\nsmtp_port = 587\nemail_to = ["ops@example.test"]\nsmtp_tls = "none"\n',
      'webhook_url = "http://127.0.0.1:9/hook"\n',
    ]) {
      const file = tomlFile(
        `[monitoring]\nmetrics_port = 0\nhealth_port = 0\nhost = "127.0.0.1"\n\n[monitoring.alerts]\n${alerts}`,
      );
      const monitor = createMonitor({
        config: loadConfig({ file, env: {} }),
        plugins: [alertsPlugin()],
        logger: silentLogger,
      });
      await monitor.start();
      await monitor.stop();
    }
  });
});
