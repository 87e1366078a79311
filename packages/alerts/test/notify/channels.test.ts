import { silentLogger } from '@obs/core';
import { afterEach, describe, expect, test } from 'vitest';
import { createLogChannel, createSlackChannel, createWebhookChannel, NotificationError } from '../../src/index.ts';
import { SLACK_COLORS } from '../../src/notify/channels/slack.ts';
import { webhookPayload, ZERO_TIME } from '../../src/notify/channels/webhook.ts';
import { fingerprint, formatDuration, parseRetryAfter } from '../../src/notify/notification.ts';
import { type Recorder, scriptedServer } from '../fixtures/http.ts';
import { firingAlert, notification, resolved } from '../fixtures/notifications.ts';

const open: Recorder[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});
async function server(...script: Parameters<typeof scriptedServer>[0] & unknown[]): Promise<Recorder> {
  const s = await scriptedServer(script);
  open.push(s);
  return s;
}
const live = (): AbortSignal => new AbortController().signal;

describe('notification helpers', () => {
  test('fingerprint is Alertmanager’s: FNV-1a 64 over sorted labels', () => {
    // Alertmanager (model.LabelSet{}.Fingerprint()) gives the FNV offset basis for an empty set.
    expect(fingerprint({})).toBe('cbf29ce484222325');
    expect(fingerprint({ a: '1', b: '2' })).toBe(fingerprint({ b: '2', a: '1' }));
    expect(fingerprint({ a: '1' })).not.toBe(fingerprint({ a: '2' }));
    expect(fingerprint({ a: '1' })).toMatch(/^[0-9a-f]{16}$/);
  });

  test('formatDuration and parseRetryAfter', () => {
    expect(formatDuration(45_000)).toBe('45s');
    expect(formatDuration(12 * 60_000 + 5000)).toBe('12m 5s');
    expect(formatDuration(3 * 3_600_000 + 2 * 60_000)).toBe('3h 2m');
    expect(formatDuration(2 * 86_400_000 + 4 * 3_600_000)).toBe('2d 4h');
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  test('the webhook payload is Alertmanager’s version 4', () => {
    const other = firingAlert({ endpoint: '/users/settings' });
    const payload = webhookPayload(notification([firingAlert(), resolved(other, 60_000)]));
    // Alertmanager's key order (template.Data, then the webhook message's own fields).
    expect(Object.keys(payload)).toEqual([
      'receiver',
      'status',
      'alerts',
      'groupLabels',
      'commonLabels',
      'commonAnnotations',
      'externalURL',
      'version',
      'groupKey',
      'truncatedAlerts',
    ]);
    expect(payload).toMatchObject({
      version: '4',
      status: 'firing',
      truncatedAlerts: 0,
      receiver: 'default',
      groupLabels: { alertname: 'API Error Rate High' },
      commonLabels: { alertname: 'API Error Rate High', severity: 'warning' },
      externalURL: '',
    });
    expect(payload.commonLabels).not.toHaveProperty('endpoint');
    expect(payload.alerts[0]).toEqual({
      status: 'firing',
      labels: firingAlert().labels,
      annotations: firingAlert().annotations,
      startsAt: '2026-11-28T12:00:00Z',
      endsAt: ZERO_TIME,
      generatorURL: '',
      fingerprint: fingerprint(firingAlert().labels),
    });
    expect(payload.alerts[1]).toMatchObject({ status: 'resolved', endsAt: '2026-11-28T12:01:00Z' });
    // Label maps in Go's (sorted) order, as encoding/json writes them.
    expect(Object.keys(payload.alerts[0]!.labels)).toEqual(['alertname', 'endpoint', 'severity']);
    expect(Object.keys(payload.alerts[0]!.annotations)).toEqual(['runbook_url', 'summary']);
    expect(Object.keys(payload.commonLabels)).toEqual(['alertname', 'severity']);
    const truncated = webhookPayload(notification([firingAlert(), other]), 1);
    expect(truncated.alerts).toHaveLength(1);
    expect(truncated.truncatedAlerts).toBe(1);
  });
});

describe('log channel', () => {
  test('logs firing at warn and resolved at info, with how long it lasted', async () => {
    const lines: { level: string; message: string; fields: unknown }[] = [];
    const logger = {
      ...silentLogger,
      warn: (message: string, fields?: unknown) => lines.push({ level: 'warn', message, fields }),
      info: (message: string, fields?: unknown) => lines.push({ level: 'info', message, fields }),
    };
    const channel = createLogChannel({ logger });
    await channel.send(notification(), live());
    await channel.send(notification([resolved(firingAlert(), 300_000)]), live());
    expect(lines.map((l) => [l.level, l.message])).toEqual([
      ['warn', '[FIRING:1] API Error Rate High (/sync/history warning)'],
      ['info', '[RESOLVED] API Error Rate High (/sync/history warning)'],
    ]);
    expect(JSON.stringify(lines[1]?.fields)).toContain('resolved after 5m');
  });
});

describe('webhook channel against a loopback server', () => {
  test('POSTs the version 4 payload once', async () => {
    const s = await server();
    await createWebhookChannel({ url: new URL('/hook', s.url).href }).send(notification(), live());
    expect(s.requests.map((r) => r.path)).toEqual(['/hook']);
    expect(s.delivered).toEqual([JSON.parse(JSON.stringify(webhookPayload(notification())))]);
  });

  test('a 500 is a retryable NotificationError; a 400 is not; neither names the URL', async () => {
    const s = await server(500, 400);
    const url = new URL('/secret-token-xyz', s.url).href;
    const channel = createWebhookChannel({ url });
    const e500 = await channel.send(notification(), live()).catch((e: unknown) => e);
    const e400 = await channel.send(notification(), live()).catch((e: unknown) => e);
    expect(e500).toBeInstanceOf(NotificationError);
    expect(e500).toMatchObject({ code: 'OBS_ERR_ALERTS_NOTIFY', status: 500, retryable: true });
    expect(e400).toMatchObject({ code: 'OBS_ERR_ALERTS_NOTIFY', status: 400, retryable: false });
    expect(String((e500 as Error).message)).not.toContain('secret-token-xyz');
    expect(s.delivered).toHaveLength(0);
  });

  test('a refused connection is a retryable NotificationError without the URL', async () => {
    const s = await server();
    const url = new URL('/secret-token-xyz', s.url).href;
    await s.close();
    const error = await createWebhookChannel({ url })
      .send(notification(), live())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotificationError);
    expect(error).toMatchObject({ code: 'OBS_ERR_ALERTS_NOTIFY', retryable: true, status: undefined });
    expect((error as Error).message).not.toContain('secret-token-xyz');
  });

  test('a 429 keeps its Retry-After', async () => {
    const s = await server({ status: 429, headers: { 'retry-after': '7' } });
    const error = await createWebhookChannel({ url: s.url.href })
      .send(notification(), live())
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 429, retryAfterMs: 7000, retryable: true });
  });
});

describe('Slack channel (@slack/webhook) against a loopback server', () => {
  test('one message: Alertmanager’s default title first, then per alert severity colour, labels, value, runbook link', async () => {
    const s = await server();
    await createSlackChannel({ url: s.url.href, minIntervalMs: 0 }).send(
      { ...notification(), externalURL: 'https://app.example.test:8082' },
      live(),
    );
    expect(s.delivered).toHaveLength(1);
    const message = s.delivered[0] as {
      text?: string;
      attachments: {
        title: string;
        title_link: string;
        text?: string;
        color: string;
        fields: { title: string; value: string }[];
        actions: { url: string }[];
      }[];
    };
    // slack_configs' defaults: the title is the default subject, linked to the alerts page; no text.
    expect(message.text).toBeUndefined();
    expect(message.attachments[0]).toMatchObject({
      title: '[FIRING:1] API Error Rate High (/sync/history warning)',
      title_link: 'https://app.example.test:8082/#/alerts?receiver=default',
      color: SLACK_COLORS.warning,
    });
    expect(message.attachments[0]?.text).toBe('');
    const att = message.attachments[1];
    expect(att?.color).toBe(SLACK_COLORS.warning);
    expect(att?.fields).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ title: 'Value', value: '0.4' }),
        expect.objectContaining({
          title: 'Labels',
          value: 'alertname=API Error Rate High, endpoint=/sync/history, severity=warning',
        }),
      ]),
    );
    expect(att?.actions[0]?.url).toBe('https://runbooks.example/api-errors');
  });

  test('the title links to the alert when it has a generatorURL', async () => {
    const s = await server();
    const alert = { ...firingAlert(), generatorURL: 'https://app.example.test:8082/alerts' };
    await createSlackChannel({ url: s.url.href, minIntervalMs: 0 }).send(notification([alert]), live());
    const message = s.delivered[0] as { attachments: { title_link?: string }[] };
    expect(message.attachments[1]?.title_link).toBe('https://app.example.test:8082/alerts');
  });

  test('critical is red, resolved is green and says how long it lasted', async () => {
    const s = await server();
    const channel = createSlackChannel({ url: s.url.href, minIntervalMs: 0 });
    await channel.send(notification([firingAlert({ severity: 'critical' })]), live());
    await channel.send(notification([resolved(firingAlert(), 90_000)]), live());
    const colours = (s.delivered as { attachments: { color: string }[] }[]).map((m) => m.attachments[0]?.color);
    expect(colours).toEqual([SLACK_COLORS.critical, SLACK_COLORS.resolved]);
    expect(JSON.stringify(s.delivered[1])).toContain('1m 30s');
  });

  test('a 429 becomes a NotificationError with Retry-After; the next send waits for it', async () => {
    const s = await server({ status: 429, headers: { 'retry-after': '3600' } });
    const channel = createSlackChannel({ url: s.url.href, minIntervalMs: 0 });
    const error = await channel.send(notification(), live()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotificationError);
    expect(error).toMatchObject({
      code: 'OBS_ERR_ALERTS_NOTIFY',
      channel: 'slack',
      status: 429,
      retryAfterMs: 3_600_000,
    });
    // The next message is held back for the hour: it is still waiting when we give up on it.
    const giveUp = new AbortController();
    const next = channel.send(notification(), giveUp.signal).catch((e: unknown) => e);
    giveUp.abort(new Error('gave up'));
    expect(await next).toMatchObject({ message: 'gave up' });
    expect(s.requests).toHaveLength(1);
  });

  test('a refused connection or a 500 is a NotificationError without the URL', async () => {
    const s = await server(500);
    const url = new URL('/services/T000/B000/secret-xyz', s.url).href;
    const channel = createSlackChannel({ url, minIntervalMs: 0 });
    const e500 = await channel.send(notification(), live()).catch((e: unknown) => e);
    expect(e500).toMatchObject({ code: 'OBS_ERR_ALERTS_NOTIFY', status: 500, retryable: true });
    await s.close();
    const refused = await channel.send(notification(), live()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(NotificationError);
    expect(refused).toMatchObject({ retryable: true, status: undefined });
    for (const e of [e500, refused]) expect(JSON.stringify({ m: (e as Error).message })).not.toContain('secret-xyz');
  });
});
