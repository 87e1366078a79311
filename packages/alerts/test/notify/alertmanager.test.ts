import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AlertsConfig, createMonitor, silentLogger } from '@obs/core';
import { debianTool, freePort, type RunningTool, startTool, waitUntil } from '@obs/testing';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { parse } from 'yaml';
import { alertmanagerConfig, alertsPlugin, NotificationError, type WebhookPayload } from '../../src/index.ts';
import { createAlertmanagerClient } from '../../src/notify/alertmanager-client.ts';
import { type Recorder, scriptedServer } from '../fixtures/http.ts';
import { alertsConfig } from '../fixtures/notifications.ts';

const baseKeys = {
  smtp_host: 'mail.example.test',
  smtp_port: 587,
  smtp_user: 'alerts',
  smtp_password: 'smtp-secret-pw',
  email_from: 'alerts@example.test',
  email_to: ['oncall@example.test'],
  webhook_url: 'https://hooks.slack.com/services/T0/B0/slack-secret',
};
const base: AlertsConfig = alertsConfig(baseKeys);
// The same settings written as [monitoring.alerts] keys: timing, routes, quiet hours, SMTP TLS.
const fromToml: AlertsConfig = alertsConfig({
  ...baseKeys,
  group_by: ['alertname', 'endpoint'],
  group_wait: '10s',
  group_interval: '1m',
  repeat_interval: '2h',
  routes: [
    { matchers: ['severity="critical"'], channels: ['email', 'slack'], continue: true, repeat_interval: '1h' },
    { matchers: ['team!~"web|api"'], channels: ['log'], group_wait: '1500ms' },
  ],
  quiet_hours: { start_hour: 22, end_hour: 7, utc_offset_minutes: 60 },
  smtp_tls: 'starttls',
  smtp_ca_file: '/etc/ssl/certs/ca-certificates.crt',
  smtp_insecure_skip_verify: true,
});
const routes = [
  {
    matchers: [{ name: 'severity', value: 'critical' }],
    channels: ['email', 'slack'],
    continue: true,
    repeatIntervalMs: 3_600_000,
  },
  { matchers: [{ name: 'team', value: 'web|api', isRegex: true, isEqual: false }], channels: ['log'] },
];

// The `quiet-hours` time interval of a window across midnight.
function quietHours(start: string, end: string, extra: Record<string, string> = {}): unknown {
  const times = [
    { start_time: start, end_time: '24:00' },
    { start_time: '00:00', end_time: end },
  ];
  return { name: 'quiet-hours', time_intervals: [{ times, ...extra }] };
}

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'obs-alerts-am-'));
}

describe('alertmanagerConfig', () => {
  test('receivers per channel set, routes and inhibit rules; secrets only as files', () => {
    const { yaml, secrets } = alertmanagerConfig({ config: base, routes });
    expect(yaml).not.toContain('smtp-secret-pw');
    expect(yaml).not.toContain('slack-secret');
    expect(yaml).toContain('smtp_auth_password_file: /etc/alertmanager/secrets/smtp_password');
    expect(yaml).toContain('api_url_file: /etc/alertmanager/secrets/webhook_url');
    expect(yaml).toContain('- severity="critical"');
    expect(yaml).toContain('- team!~"web|api"');
    expect(yaml).not.toContain('*a1');
    expect(secrets.map((s) => s.path)).toEqual(['secrets/smtp_password', 'secrets/webhook_url']);
  });

  test('from [monitoring.alerts] keys: root timing, routes, quiet hours as a mute interval, SMTP TLS', () => {
    const { yaml, secrets } = alertmanagerConfig({ config: fromToml });
    const doc = parse(yaml) as {
      route: Record<string, unknown> & { routes: Record<string, unknown>[] };
      time_intervals: unknown[];
      global: Record<string, unknown>;
      receivers: { name: string; email_configs?: Record<string, unknown>[] }[];
    };
    expect(doc.route).toMatchObject({
      group_by: ['alertname', 'endpoint'],
      group_wait: '10s',
      group_interval: '1m',
      repeat_interval: '2h',
    });
    // Each route splits in two: the allowed severities, and the rest muted during quiet hours.
    expect(doc.route.routes).toEqual([
      {
        receiver: 'email+slack',
        matchers: ['severity="critical"', 'severity=~"critical"'],
        repeat_interval: '1h',
        continue: true,
      },
      {
        receiver: 'email+slack',
        matchers: ['severity="critical"', 'severity!~"critical"'],
        repeat_interval: '1h',
        continue: true,
        mute_time_intervals: ['quiet-hours'],
      },
      { receiver: 'none', matchers: ['team!~"web|api"', 'severity=~"critical"'], group_wait: '1500ms' },
      {
        receiver: 'none',
        matchers: ['team!~"web|api"', 'severity!~"critical"'],
        group_wait: '1500ms',
        mute_time_intervals: ['quiet-hours'],
      },
    ]);
    // 22:00-07:00 at UTC+1 is 21:00-06:00 UTC.
    expect(doc.time_intervals).toEqual([quietHours('21:00', '06:00')]);
    expect(doc.global.smtp_require_tls).toBe(true);
    const zoned = parse(
      alertmanagerConfig({
        config: alertsConfig({ ...baseKeys, quiet_hours: { start_hour: 22, end_hour: 7, time_zone: 'Europe/Paris' } }),
      }).yaml,
    ) as { time_intervals: unknown[] };
    expect(zoned.time_intervals).toEqual([quietHours('22:00', '07:00', { location: 'Europe/Paris' })]);
    const email = doc.receivers.find((r) => r.email_configs !== undefined)?.email_configs?.[0];
    expect(email?.tls_config).toEqual({ ca_file: '/etc/alertmanager/secrets/smtp_ca.pem', insecure_skip_verify: true });
    expect(secrets.map((s) => s.path)).toContain('secrets/smtp_ca.pem');
  });

  const amtool = debianTool('amtool');
  test.skipIf(amtool === undefined)('amtool check-config accepts it (Slack + e-mail, and a generic webhook)', () => {
    const d = dir();
    for (const [name, options] of [
      ['slack.yml', { config: base, routes }],
      [
        'webhook.yml',
        { config: { ...base, webhook_url: 'http://127.0.0.1:9/hook' }, routes, webhookUrl: 'inline' as const },
      ],
      ['empty.yml', { config: { ...base, smtp_host: '', webhook_url: '' } }],
      ['from-toml.yml', { config: fromToml }],
      [
        'time-zone.yml',
        {
          config: alertsConfig({
            ...baseKeys,
            quiet_hours: { start_hour: 22, end_hour: 7, time_zone: 'Europe/Paris' },
          }),
        },
      ],
    ] as const) {
      writeFileSync(join(d, name), alertmanagerConfig(options).yaml);
      const out = execFileSync(amtool!, ['check-config', join(d, name)], { encoding: 'utf8' });
      expect(out).toContain('SUCCESS');
    }
  });
});

const alertmanager = debianTool('prometheus-alertmanager');

describe.skipIf(alertmanager === undefined)('hand-off to the real Debian prometheus-alertmanager (API v2)', () => {
  let am: RunningTool;
  let hook: Recorder;
  let url: string;
  beforeAll(async () => {
    hook = await scriptedServer();
    const d = dir();
    const { yaml } = alertmanagerConfig({
      config: { ...base, smtp_host: '', webhook_url: new URL('/am', hook.url).href },
      webhookUrl: 'inline',
      routes: [
        {
          matchers: [{ name: 'severity', value: 'critical' }],
          channels: ['webhook'],
          groupWaitMs: 1000,
          groupBy: ['alertname'],
        },
        { channels: [], groupWaitMs: 1000 },
      ],
    });
    writeFileSync(join(d, 'alertmanager.yml'), yaml);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    am = await startTool(
      alertmanager!,
      [
        `--config.file=${join(d, 'alertmanager.yml')}`,
        `--storage.path=${join(d, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // An empty address turns clustering off, and with it the wait for peers to settle.
        '--cluster.listen-address=',
      ],
      async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok === true,
      30_000,
    );
  }, 40_000);
  afterAll(async () => {
    await am?.stop();
    await hook?.close();
  });

  test('alerts posted are grouped and routed by severity to the loopback webhook', async () => {
    const client = createAlertmanagerClient({ url });
    const startsAt = Date.now() - 60_000;
    await client.post([
      {
        labels: { alertname: 'Export Failures', severity: 'critical', kind: 'network' },
        value: 1,
        status: 'firing',
        startsAt,
      },
      {
        labels: { alertname: 'Export Failures', severity: 'critical', kind: 'auth' },
        value: 1,
        status: 'firing',
        startsAt,
      },
      { labels: { alertname: 'Cache Hit Ratio Low', severity: 'info' }, value: 0.3, status: 'firing', startsAt },
    ]);
    const listed = (await (await fetch(`${url}/api/v2/alerts`)).json()) as unknown[];
    expect(listed).toHaveLength(3);
    // Alertmanager flushes the group after its group_wait (1s); wait for the webhook to hear of it.
    await waitUntil(() => hook.delivered.length > 0, { what: 'the webhook to hear of the group', timeoutMs: 25_000 });
    expect(hook.delivered).toHaveLength(1);
    const payload = hook.delivered[0] as WebhookPayload;
    expect(payload).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'webhook',
      groupLabels: { alertname: 'Export Failures' },
      commonLabels: { alertname: 'Export Failures', severity: 'critical' },
      truncatedAlerts: 0,
    });
    expect(payload.alerts.map((a) => a.labels.kind).sort()).toEqual(['auth', 'network']);
    expect(payload.alerts[0]?.endsAt).toBe('0001-01-01T00:00:00Z');
  }, 30_000);

  test('alertsPlugin hands its alerts to Alertmanager instead of notifying, and resolves them there', async () => {
    // Real Date: Alertmanager compares endsAt with its own clock.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const plugin = alertsPlugin({
      rules: [{ name: 'Handoff', expr: 'errors > 0.1', severity: 'warning' }],
      notifications: { log: false, http: false, alertmanager: { url } },
    });
    const monitor = createMonitor({
      config: { metrics_port: 0, health_port: 0, host: '127.0.0.1', alerts: { evaluation_interval: '15s' } },
      plugins: [plugin],
      logger: silentLogger,
    });
    const errors: unknown[] = [];
    monitor.bus.on('obs:error', (e) => {
      errors.push(e.error);
    });
    const listed = async (): Promise<string[]> => {
      const all = (await (await fetch(`${url}/api/v2/alerts?filter=alertname="Handoff"`)).json()) as {
        labels: Record<string, string>;
      }[];
      return all.map((a) => a.labels.alertname ?? '');
    };
    await monitor.start();
    try {
      monitor.bus.emit('metrics:collected', { at: Date.now(), samples: [{ name: 'errors', labels: {}, value: 1 }] });
      await vi.advanceTimersByTimeAsync(15_000);
      await waitUntil(async () => (await listed()).length > 0, { what: 'Alertmanager to list Handoff' });
      expect(await listed()).toEqual(['Handoff']);
      monitor.bus.emit('metrics:collected', { at: Date.now(), samples: [{ name: 'errors', labels: {}, value: 0 }] });
      await vi.advanceTimersByTimeAsync(15_000);
      await waitUntil(async () => (await listed()).length === 0, { what: 'Alertmanager to resolve Handoff' });
      expect(await listed()).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await monitor.stop();
      vi.useRealTimers();
    }
  }, 30_000);

  test('a refused request is a NotificationError', async () => {
    const client = createAlertmanagerClient({ url: `http://127.0.0.1:${await freePort()}` });
    const error = await client
      .post([{ labels: { alertname: 'x' }, value: 1, status: 'firing', startsAt: Date.now() }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotificationError);
    expect(error).toMatchObject({ code: 'OBS_ERR_ALERTS_NOTIFY', channel: 'alertmanager' });
  });
});
