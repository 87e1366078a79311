// Issue #24: our Slack message against Alertmanager 0.25's slack_configs defaults, the same alerts through the same
// route tree (root and one child route), each to a loopback "Slack" receiver.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debianTool, freePort, startTool } from '@obs/testing';
import { describe, expect, test, vi } from 'vitest';
import { alertmanagerConfig, createSlackChannel, type DispatchedAlert, type Route } from '../../src/index.ts';
import { createAlertmanagerClient } from '../../src/notify/alertmanager-client.ts';
import { createDispatcher } from '../../src/notify/dispatcher.ts';
import { scriptedServer } from '../fixtures/http.ts';
import { alertsConfig } from '../fixtures/notifications.ts';

const alertmanager = debianTool('prometheus-alertmanager');

interface SlackMessage {
  attachments: { title: string; title_link?: string; text?: string; fallback: string; color: string }[];
}

describe.skipIf(alertmanager === undefined)('Slack parity with Alertmanager 0.25 (issue #24)', () => {
  test('the first attachment has slack_configs’ default title, link, fallback and (empty) text', async () => {
    const d = mkdtempSync(join(tmpdir(), 'obs-alerts-slack-'));
    await using theirs = await scriptedServer();
    await using ours = await scriptedServer();
    const routes: Route[] = [{ matchers: [{ name: 'severity', value: 'warning' }], groupBy: ['alertname'] }];
    const config = alertsConfig({
      webhook_url: 'https://hooks.slack.com/services/T0/B0/x',
      group_wait: '1s',
      group_interval: '1s',
    });
    const { yaml } = alertmanagerConfig({ config, routes, secretsDir: d });
    writeFileSync(join(d, 'alertmanager.yml'), yaml);
    writeFileSync(join(d, 'webhook_url'), new URL('/slack', theirs.url).href);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    await using _am = await startTool(
      alertmanager!,
      [
        `--config.file=${join(d, 'alertmanager.yml')}`,
        `--storage.path=${join(d, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--web.external-url=${url}`,
        '--cluster.listen-address=',
      ],
      async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok === true,
      30_000,
    );
    const slack = createSlackChannel({ url: new URL('/slack', ours.url).href, minIntervalMs: 0 });
    const dispatcher = createDispatcher({
      notify: (n) => slack.send(n, new AbortController().signal),
      routes,
      defaults: { groupWaitMs: 1000, groupIntervalMs: 1000 },
      externalURL: url,
    });
    const now = Date.now();
    const alerts: DispatchedAlert[] = ['ratings', 'history'].map((endpoint) => ({
      labels: { alertname: 'API Error Rate High', endpoint, severity: 'warning', team: 'core' },
      annotations: { summary: `API errors on ${endpoint}` },
      value: 0.4,
      status: 'firing',
      startsAt: now,
    }));
    const client = createAlertmanagerClient({ url });
    try {
      await client.post(alerts);
      for (const a of alerts) dispatcher.receive(a);
      await vi.waitFor(() => expect(theirs.delivered.length + ours.delivered.length).toBe(2), { timeout: 15_000 });
      const resolvedAlerts = alerts.map((a) => ({ ...a, status: 'resolved' as const, endsAt: Date.now() }));
      await client.post(resolvedAlerts);
      for (const a of resolvedAlerts) dispatcher.receive(a);
      await vi.waitFor(() => expect(theirs.delivered.length + ours.delivered.length).toBe(4), { timeout: 15_000 });
    } finally {
      dispatcher.close();
    }
    const first = (m: unknown): SlackMessage['attachments'][number] => (m as SlackMessage).attachments[0]!;
    for (const [i, status] of ['FIRING:2', 'RESOLVED'].entries()) {
      const a = first(theirs.delivered[i]);
      const b = first(ours.delivered[i]);
      expect(a.title).toBe(`[${status}] API Error Rate High (warning core)`);
      expect(b.title).toBe(a.title);
      expect(b.title_link).toBe(a.title_link);
      expect(b.fallback).toBe(a.fallback);
      expect(b.text).toBe(a.text);
      expect(b.color).toBe(a.color);
    }
    expect(first(theirs.delivered[0]).title_link).toBe(`${url}/#/alerts?receiver=default`);
  }, 60_000);
});
