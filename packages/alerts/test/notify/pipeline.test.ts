import { createMonitor, ObsConfigError, type ObsEvents, silentLogger } from '@obs/core';
import { testPluginContract } from '@obs/testing';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { alertsPlugin, createWebhookChannel, type WebhookPayload } from '../../src/index.ts';
import { channelsFromConfig } from '../../src/notify/pipeline.ts';
import { type Recorder, scriptedServer } from '../fixtures/http.ts';
import { alertsConfig, waitFor } from '../fixtures/notifications.ts';

const open: Recorder[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const s of open.splice(0)) await s.close();
});

describe('alertsPlugin notifications', () => {
  testPluginContract(() =>
    alertsPlugin({
      notifications: { channels: [createWebhookChannel({ url: 'http://127.0.0.1:9/', name: 'hook' })] },
    }),
  );

  test('a firing rule reaches the webhook once, then its resolution; a dead channel is counted as dropped', async () => {
    const hook = await scriptedServer();
    open.push(hook);
    const dead = await scriptedServer();
    const deadUrl = dead.url.href;
    await dead.close();
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(0);
    const plugin = alertsPlugin({
      rules: [{ name: 'API Error Rate High', expr: 'errors > 0.1', severity: 'warning' }],
      notifications: {
        log: false,
        channels: [createWebhookChannel({ url: hook.url.href }), createWebhookChannel({ url: deadUrl, name: 'dead' })],
        routes: [{ groupWaitMs: 0, groupIntervalMs: 1 }],
        retry: { maxAttempts: 2, initialBackoffMs: 1, jitter: 0 },
      },
    });
    const monitor = createMonitor({
      config: { metrics_port: 0, health_port: 0, host: '127.0.0.1', alerts: { evaluation_interval: '15s' } },
      plugins: [plugin],
      logger: silentLogger,
    });
    const dropped: ObsEvents['obs:dropped'][] = [];
    const errors: ObsEvents['obs:error'][] = [];
    monitor.bus.on('obs:dropped', (e) => {
      dropped.push(e);
    });
    monitor.bus.on('obs:error', (e) => {
      errors.push(e);
    });
    await monitor.start();
    try {
      const firingSent = waitFor(monitor.bus, 'alert:notified', (e) => e.channel === 'webhook' && e.outcome === 'sent');
      const deadDropped = waitFor(
        monitor.bus,
        'alert:notified',
        (e) => e.channel === 'dead' && e.outcome === 'dropped',
      );
      monitor.bus.emit('metrics:collected', { at: Date.now(), samples: [{ name: 'errors', labels: {}, value: 0.5 }] });
      await vi.advanceTimersByTimeAsync(15_000);
      await firingSent;
      await deadDropped;
      expect(hook.delivered).toHaveLength(1);
      expect(hook.delivered[0] as WebhookPayload).toMatchObject({
        version: '4',
        status: 'firing',
        alerts: [{ labels: { alertname: 'API Error Rate High', severity: 'warning' }, endsAt: '0001-01-01T00:00:00Z' }],
      });
      expect(dropped).toEqual([{ plugin: '@obs/alerts', what: 'notifications:dead', count: 1 }]);
      expect(errors.map((e) => (e.error as { code?: string }).code)).toEqual(['OBS_ERR_ALERTS_NOTIFY']);
      expect(plugin.dispatcher.alerts()).toHaveLength(1);

      const resolvedSent = waitFor(
        monitor.bus,
        'alert:notified',
        (e) => e.channel === 'webhook' && e.outcome === 'sent',
      );
      monitor.bus.emit('metrics:collected', { at: Date.now(), samples: [{ name: 'errors', labels: {}, value: 0 }] });
      await vi.advanceTimersByTimeAsync(15_000);
      await resolvedSent;
      expect(hook.delivered).toHaveLength(2);
      expect(hook.delivered[1]).toMatchObject({
        status: 'resolved',
        alerts: [{ status: 'resolved', endsAt: expect.not.stringMatching(/^0001/) }],
      });
    } finally {
      await monitor.stop();
    }
    expect(() => plugin.dispatcher).toThrow(
      expect.objectContaining({ code: 'OBS_ERR_MONITOR_STATE' }) as unknown as Error,
    );
  });

  test('issue #24: at stop, without a state file, an alert still in its group_wait is sent, not dropped', async () => {
    const hook = await scriptedServer();
    open.push(hook);
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(0);
    const plugin = alertsPlugin({
      rules: [{ name: 'API Error Rate High', expr: 'errors > 0.1', severity: 'warning' }],
      notifications: {
        log: false,
        channels: [createWebhookChannel({ url: hook.url.href })],
        routes: [{ groupWaitMs: 3_600_000 }],
      },
    });
    const monitor = createMonitor({
      config: { metrics_port: 0, health_port: 0, host: '127.0.0.1', alerts: { evaluation_interval: '15s' } },
      plugins: [plugin],
      logger: silentLogger,
    });
    await monitor.start();
    monitor.bus.emit('metrics:collected', { at: Date.now(), samples: [{ name: 'errors', labels: {}, value: 0.5 }] });
    await vi.advanceTimersByTimeAsync(15_000);
    // Firing, and waiting for its hour of group_wait.
    expect(plugin.dispatcher.alerts()).toHaveLength(1);
    expect(hook.delivered).toHaveLength(0);
    await monitor.stop();
    expect(hook.delivered).toHaveLength(1);
    expect(hook.delivered[0]).toMatchObject({
      status: 'firing',
      alerts: [{ labels: { alertname: 'API Error Rate High' } }],
    });
  });

  test('bad notification options throw at once, with notifications.* paths', () => {
    let thrown: unknown;
    try {
      alertsPlugin({ notifications: { queueSize: 0, routes: [{ groupWaitMs: -5 }] } });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ObsConfigError);
    expect((thrown as ObsConfigError).issues.map((i) => i.path)).toEqual([
      'notifications.queueSize',
      'notifications.routes.0.groupWaitMs',
    ]);
  });

  test('channels from [monitoring.alerts]: e-mail, Slack for hooks.slack.com, a generic webhook otherwise', () => {
    const base = alertsConfig();
    expect(channelsFromConfig(base)).toEqual([]);
    const names = (c: ReturnType<typeof channelsFromConfig>): string[] => c.map((x) => x.name);
    const withSlack = channelsFromConfig({ ...base, webhook_url: 'https://hooks.slack.com/services/T/B/x' });
    expect(names(withSlack)).toEqual(['slack']);
    const all = channelsFromConfig({
      ...base,
      smtp_host: 'mail.test',
      email_to: ['a@b.test'],
      webhook_url: 'http://x.test/h',
    });
    expect(names(all)).toEqual(['email', 'webhook']);
    return Promise.all(all.map((c) => c.close?.()));
  });
});

describe('notification state file', () => {
  test('silences survive a restart; a damaged file is an obs:error, not a failed start', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const stateFile = join(mkdtempSync(join(tmpdir(), 'obs-alerts-state-')), 'state.json');
    const run = async (check: (p: ReturnType<typeof alertsPlugin>, errors: unknown[]) => void): Promise<void> => {
      const plugin = alertsPlugin({ notifications: { log: false, http: false, stateFile } });
      const monitor = createMonitor({
        config: { metrics_port: 0, health_port: 0, host: '127.0.0.1' },
        plugins: [plugin],
        logger: silentLogger,
      });
      const errors: unknown[] = [];
      monitor.bus.on('obs:error', (e) => {
        errors.push(e.error);
      });
      await monitor.start();
      try {
        check(plugin, errors);
      } finally {
        await monitor.stop();
      }
    };
    await run((p) => {
      p.dispatcher.addSilence({
        matchers: [{ name: 'alertname', value: 'API Error Rate High' }],
        endsAt: Date.now() + 3_600_000,
        createdBy: 'ops',
        comment: 'maintenance',
      });
    });
    await run((p, errors) => {
      expect(p.dispatcher.silences()).toMatchObject([{ comment: 'maintenance', state: 'active' }]);
      expect(errors).toEqual([]);
    });
    writeFileSync(stateFile, '{ not json');
    await run((p, errors) => {
      expect(p.dispatcher.silences()).toEqual([]);
      expect(errors).toMatchObject([{ code: 'OBS_ERR_ALERTS_STATE' }]);
    });
  });
});
