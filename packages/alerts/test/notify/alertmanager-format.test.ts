// Issue #24: notifications as Alertmanager 0.25 sends them (group keys, order, times, subjects, headers).
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { goQuote } from '@obs/promql';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { createWebhookChannel, type Notification } from '../../src/index.ts';
import { createAlertmanagerClient } from '../../src/notify/alertmanager-client.ts';
import { webhookPayload } from '../../src/notify/channels/webhook.ts';
import { createDispatcher } from '../../src/notify/dispatcher.ts';
import {
  compareAlertLabels,
  goQueryEscape,
  goTime,
  labelSetString,
  matchersString,
} from '../../src/notify/go-format.ts';
import { USER_AGENT } from '../../src/notify/http-post.ts';
import { alertsViewUrl, notificationTitle } from '../../src/notify/notification.ts';
import { firingAlert, notification, resolved } from '../fixtures/notifications.ts';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);

describe('Go formats', () => {
  test('times: RFC 3339 with the fraction’s trailing zeros dropped', () => {
    expect(goTime(Date.parse('2026-11-28T22:20:00.000Z'))).toBe('2026-11-28T22:20:00Z');
    expect(goTime(Date.parse('2026-11-28T22:24:20.160Z'))).toBe('2026-11-28T22:24:20.16Z');
    expect(goTime(Date.parse('2026-11-28T22:24:20.001Z'))).toBe('2026-11-28T22:24:20.001Z');
    expect(goTime(Date.parse('2026-11-28T22:24:10.000Z'))).toBe('2026-11-28T22:24:10Z');
  });

  test('label sets and matchers as Alertmanager prints them in group keys', () => {
    expect(labelSetString({ endpoint: 'history', alertname: 'API Error Rate High' })).toBe(
      '{alertname="API Error Rate High", endpoint="history"}',
    );
    expect(goQuote('a"b\\c\nd\u0001é\u00a0')).toBe('"a\\"b\\\\c\\nd\\x01é\\u00a0"');
    expect(
      matchersString([
        { name: 'severity', value: 'warning' },
        { name: 'env', value: 'prod|staging', isRegex: true },
        { name: 'env', value: 'prod|staging', isEqual: false },
      ]),
    ).toBe('{env!="prod|staging",env=~"prod|staging",severity="warning"}');
  });

  test('alerts sort by job, instance, then fewer labels, then the first differing label', () => {
    const sets: Record<string, string>[] = [
      { a: '2' },
      { a: '1', b: '1' },
      { job: 'x' },
      { a: '1' },
      { instance: 'i', job: 'x' },
    ];
    expect([...sets].sort(compareAlertLabels)).toEqual([
      { instance: 'i', job: 'x' },
      { job: 'x' },
      { a: '1' },
      { a: '2' },
      { a: '1', b: '1' },
    ]);
  });

  test('the alerts page link escapes the receiver as urlquery(QuoteMeta(receiver))', () => {
    expect(goQueryEscape("a b+c!'")).toBe('a+b%2Bc%21%27');
    const n = { ...notification(), receiver: 'email+webhook', externalURL: 'http://am:9093' };
    expect(alertsViewUrl(n)).toBe('http://am:9093/#/alerts?receiver=email%5C%2Bwebhook');
    expect(alertsViewUrl(notification())).toBeUndefined();
  });

  test('the webhook payload’s receiver is quoted as Alertmanager’s template data quotes it', () => {
    expect(webhookPayload({ ...notification(), receiver: 'email+webhook' }).receiver).toBe('email\\+webhook');
    expect(webhookPayload(notification()).receiver).toBe('default');
  });
});

describe('subjects: Alertmanager’s __subject', () => {
  test('group label values, then the other common labels’ values in parentheses; resolved without a count', () => {
    const a = firingAlert({ endpoint: 'history', team: 'core' });
    const group = { ...notification([a]), groupLabels: { alertname: 'API Error Rate High', endpoint: 'history' } };
    expect(notificationTitle(group)).toBe('[FIRING:1] API Error Rate High history (warning core)');
    expect(notificationTitle({ ...group, status: 'resolved', alerts: [resolved(a, 1000)] })).toBe(
      '[RESOLVED] API Error Rate High history (warning core)',
    );
    // Nothing left for the parentheses: Alertmanager's template leaves a trailing space.
    const bare = { ...notification([{ ...a, labels: { alertname: 'X' } }]), groupLabels: { alertname: 'X' } };
    expect(notificationTitle(bare)).toBe('[FIRING:1] X ');
  });
});

describe('dispatcher: group keys, order, and stop', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test('group keys are the route’s matcher path and the group labels, as Alertmanager builds them', async () => {
    const sent: Notification[] = [];
    const root = createDispatcher({ notify: (n) => sent.push(n), defaults: { groupWaitMs: 1000 } });
    root.receive({ labels: { alertname: 'A', severity: 'warning' }, value: 1, status: 'firing', startsAt: T0 });
    const child = createDispatcher({
      notify: (n) => sent.push(n),
      routes: [{ matchers: [{ name: 'severity', value: 'warning' }], groupBy: ['alertname', 'endpoint'] }],
      defaults: { groupWaitMs: 1000 },
    });
    child.receive({
      labels: { alertname: 'A', endpoint: 'history', severity: 'warning' },
      value: 1,
      status: 'firing',
      startsAt: T0,
    });
    await vi.advanceTimersByTimeAsync(1000);
    expect(sent.map((n) => n.groupKey)).toEqual([
      '{}:{alertname="A"}',
      '{}/{severity="warning"}:{alertname="A", endpoint="history"}',
    ]);
    root.close();
    child.close();
  });

  test('a notification’s alerts are in Alertmanager’s order, not arrival order', async () => {
    const sent: Notification[] = [];
    const d = createDispatcher({ notify: (n) => sent.push(n), defaults: { groupWaitMs: 1000 } });
    for (const endpoint of ['ratings', 'history', 'movies'])
      d.receive({ labels: { alertname: 'A', endpoint }, value: 1, status: 'firing', startsAt: T0 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(sent[0]?.alerts.map((a) => a.labels.endpoint)).toEqual(['history', 'movies', 'ratings']);
    d.close();
  });

  test('close({ flush }) sends an alert still in its group wait; close() alone keeps it for a snapshot', () => {
    const sent: Notification[] = [];
    const d = createDispatcher({ notify: (n) => sent.push(n), defaults: { groupWaitMs: 30_000 } });
    d.receive({ labels: { alertname: 'A' }, value: 1, status: 'firing', startsAt: T0 });
    d.close({ flush: true });
    expect(sent.map((n) => n.alerts.length)).toEqual([1]);
    const kept: Notification[] = [];
    const e = createDispatcher({ notify: (n) => kept.push(n), defaults: { groupWaitMs: 30_000 } });
    e.receive({ labels: { alertname: 'A' }, value: 1, status: 'firing', startsAt: T0 });
    e.close();
    expect(kept).toEqual([]);
    expect(e.snapshot().alerts).toHaveLength(1);
  });
});

describe('HTTP requests: an honest User-Agent, no browser headers', () => {
  const seen: IncomingHttpHeaders[] = [];
  async function withServer(run: (url: string) => Promise<void>): Promise<void> {
    const server = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => res.writeHead(200).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`);
    } finally {
      await new Promise((r) => server.close(r));
    }
  }

  test('webhook and Alertmanager hand-off say @obs/alerts/<version>, without sec-fetch-* or accept-language', async () => {
    await withServer(async (url) => {
      await createWebhookChannel({ url }).send(notification(), new AbortController().signal);
      await createAlertmanagerClient({ url }).post([
        { labels: { alertname: 'A' }, value: 1, status: 'firing', startsAt: T0 },
      ]);
    });
    expect(USER_AGENT).toMatch(/^@obs\/alerts\/\d+\.\d+\.\d+/);
    expect(seen).toHaveLength(2);
    for (const headers of seen) {
      expect(headers['user-agent']).toBe(USER_AGENT);
      expect(headers['content-type']).toBe('application/json');
      expect(Object.keys(headers).filter((h) => h.startsWith('sec-fetch') || h === 'accept-language')).toEqual([]);
    }
  });
});
