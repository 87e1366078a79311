import { ObsConfigError } from '@obs/core';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { DispatchedAlert, Notification } from '../../src/index.ts';
import { createDispatcher, ROUTE_DEFAULTS } from '../../src/notify/dispatcher.ts';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const S = 1000;
const M = 60 * S;

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

function firing(labels: Record<string, string>, startsAt = Date.now()): DispatchedAlert {
  return { labels: { severity: 'warning', ...labels }, value: 1, status: 'firing', startsAt };
}
function resolvedNow(a: DispatchedAlert): DispatchedAlert {
  return { ...a, status: 'resolved', endsAt: Date.now() };
}

function recorder(): {
  sent: { n: Notification; channels: readonly string[] | undefined }[];
  notify: (n: Notification, c: readonly string[] | undefined) => void;
} {
  const sent: { n: Notification; channels: readonly string[] | undefined }[] = [];
  return { sent, notify: (n, channels) => sent.push({ n, channels }) };
}

describe('dispatcher: grouping and timing (Alertmanager defaults)', () => {
  test('defaults are 30s / 5m / 4h', () => {
    expect(ROUTE_DEFAULTS).toEqual({ groupWaitMs: 30 * S, groupIntervalMs: 5 * M, repeatIntervalMs: 240 * M });
  });

  test('alerts of one group wait group_wait and go out together, once', async () => {
    const r = recorder();
    const d = createDispatcher({ notify: r.notify });
    d.receive(firing({ alertname: 'A', endpoint: '/a' }));
    await vi.advanceTimersByTimeAsync(10 * S);
    d.receive(firing({ alertname: 'A', endpoint: '/b' }));
    d.receive(firing({ alertname: 'A', endpoint: '/b' })); // duplicate
    d.receive(firing({ alertname: 'B' }));
    await vi.advanceTimersByTimeAsync(20 * S - 1);
    expect(r.sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.sent).toHaveLength(1);
    expect(r.sent[0]?.n).toMatchObject({ status: 'firing', groupLabels: { alertname: 'A' }, receiver: 'default' });
    expect(r.sent[0]?.n.alerts.map((a) => a.labels.endpoint)).toEqual(['/a', '/b']);
    await vi.advanceTimersByTimeAsync(10 * S);
    expect(r.sent.map((s) => s.n.groupLabels.alertname)).toEqual(['A', 'B']);
    // Nothing changes: no more notifications until the repeat interval.
    await vi.advanceTimersByTimeAsync(4 * 60 * M - 40 * S - 1);
    expect(r.sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(5 * M);
    expect(r.sent.map((s) => s.n.groupLabels.alertname)).toEqual(['A', 'B', 'A', 'B']);
    d.close();
  });

  test('a change after the first notification waits for group_interval', async () => {
    const r = recorder();
    const d = createDispatcher({ notify: r.notify });
    d.receive(firing({ alertname: 'A', endpoint: '/a' }));
    await vi.advanceTimersByTimeAsync(30 * S);
    expect(r.sent).toHaveLength(1);
    d.receive(firing({ alertname: 'A', endpoint: '/b' }));
    await vi.advanceTimersByTimeAsync(5 * M - 1);
    expect(r.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.sent).toHaveLength(2);
    expect(r.sent[1]?.n.alerts).toHaveLength(2);
    d.close();
  });

  test('a resolved notification carries how long the alert lasted; then the group ends', async () => {
    const r = recorder();
    const d = createDispatcher({ notify: r.notify });
    const a = firing({ alertname: 'A' });
    d.receive(a);
    await vi.advanceTimersByTimeAsync(30 * S);
    await vi.advanceTimersByTimeAsync(12 * M);
    d.receive(resolvedNow(a));
    await vi.advanceTimersByTimeAsync(5 * M);
    expect(r.sent.map((s) => s.n.status)).toEqual(['firing', 'resolved']);
    const alert = r.sent[1]?.n.alerts[0];
    expect((alert?.endsAt ?? 0) - (alert?.startsAt ?? 0)).toBe(12 * M + 30 * S);
    await vi.advanceTimersByTimeAsync(24 * 60 * M);
    expect(r.sent).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
    d.close();
  });

  test('an alert that resolves before group_wait ends is never notified', async () => {
    const r = recorder();
    const d = createDispatcher({ notify: r.notify });
    const a = firing({ alertname: 'A' });
    d.receive(a);
    await vi.advanceTimersByTimeAsync(5 * S);
    d.receive(resolvedNow(a));
    await vi.advanceTimersByTimeAsync(60 * M);
    expect(r.sent).toHaveLength(0);
    d.close();
  });
});

describe('dispatcher: routing, inhibition, silences, quiet hours', () => {
  test('routes by severity and labels; continue lets a second route match', async () => {
    const r = recorder();
    const d = createDispatcher({
      notify: r.notify,
      routes: [
        { matchers: [{ name: 'severity', value: 'critical' }], channels: ['email', 'slack'], continue: true },
        { matchers: [{ name: 'team', value: 'core|web', isRegex: true }], channels: ['slack'] },
        { channels: ['log'] },
      ],
      inhibitRules: [],
    });
    d.receive(firing({ alertname: 'X', severity: 'critical', team: 'core' }));
    d.receive(firing({ alertname: 'Y', team: 'web' }));
    d.receive(firing({ alertname: 'Z', team: 'ops' }));
    await vi.advanceTimersByTimeAsync(30 * S);
    const got = r.sent.map((s) => [s.n.groupLabels.alertname, s.channels?.join(',')]);
    expect(got).toEqual(
      expect.arrayContaining([
        ['X', 'email,slack'],
        ['X', 'slack'],
        ['Y', 'slack'],
        ['Z', 'log'],
      ]),
    );
    expect(got).toHaveLength(4);
    d.close();
  });

  test('by default a firing critical alert mutes the warning of the same alertname', async () => {
    const r = recorder();
    const d = createDispatcher({ notify: r.notify, routes: [{ groupBy: ['...'] }] });
    d.receive(firing({ alertname: 'Errors', severity: 'critical', endpoint: '/a' }));
    d.receive(firing({ alertname: 'Errors', severity: 'warning', endpoint: '/a' }));
    d.receive(firing({ alertname: 'Latency', severity: 'warning', endpoint: '/a' }));
    await vi.advanceTimersByTimeAsync(30 * S);
    const names = r.sent.map((s) => `${s.n.alerts[0]?.labels.alertname} ${s.n.alerts[0]?.labels.severity}`).sort();
    expect(names).toEqual(['Errors critical', 'Latency warning']);
    expect(
      d
        .alerts()
        .filter((a) => a.muted)
        .map((a) => a.labels.severity),
    ).toEqual(['warning']);
    d.close();
  });

  test('an inhibit rule with equal labels mutes only the targets that agree on them', async () => {
    const r = recorder();
    const d = createDispatcher({
      notify: r.notify,
      routes: [{ groupBy: ['...'] }],
      inhibitRules: [
        {
          source: [{ name: 'severity', value: 'critical' }],
          target: [{ name: 'severity', value: 'warning' }],
          equal: ['endpoint'],
        },
      ],
    });
    d.receive(firing({ alertname: 'ErrorsCritical', severity: 'critical', endpoint: '/a' }));
    d.receive(firing({ alertname: 'ErrorsWarning', severity: 'warning', endpoint: '/a' }));
    d.receive(firing({ alertname: 'ErrorsWarning', severity: 'warning', endpoint: '/b' }));
    await vi.advanceTimersByTimeAsync(30 * S);
    const names = r.sent.map((s) => `${s.n.alerts[0]?.labels.alertname} ${s.n.alerts[0]?.labels.endpoint}`).sort();
    expect(names).toEqual(['ErrorsCritical /a', 'ErrorsWarning /b']);
    expect(
      d
        .alerts()
        .filter((a) => a.muted)
        .map((a) => a.labels.endpoint),
    ).toEqual(['/a']);
    d.close();
  });

  test('a silence mutes matching alerts until it expires (or is expired)', async () => {
    const r = recorder();
    const d = createDispatcher({ notify: r.notify, routes: [{ groupIntervalMs: M }] });
    const s = d.addSilence({
      matchers: [{ name: 'alertname', value: 'A' }],
      endsAt: Date.now() + 10 * M,
      createdBy: 'ops',
      comment: 'deploy',
    });
    d.receive(firing({ alertname: 'A' }));
    await vi.advanceTimersByTimeAsync(5 * M);
    expect(r.sent).toHaveLength(0);
    expect(d.silences()).toMatchObject([{ id: s.id, state: 'active' }]);
    expect(d.expireSilence(s.id)).toBe(true);
    expect(d.expireSilence(s.id)).toBe(false);
    expect(d.silences()).toMatchObject([{ id: s.id, state: 'expired' }]);
    await vi.advanceTimersByTimeAsync(M);
    expect(r.sent).toHaveLength(1);
    d.close();
  });

  test('quiet hours hold back warnings but let critical alerts through', async () => {
    vi.setSystemTime(Date.UTC(2026, 10, 28, 23, 0, 0));
    const r = recorder();
    const d = createDispatcher({
      notify: r.notify,
      routes: [{ groupBy: ['...'] }],
      inhibitRules: [],
      quietHours: { startHour: 22, endHour: 7 },
    });
    d.receive(firing({ alertname: 'W', severity: 'warning' }));
    d.receive(firing({ alertname: 'C', severity: 'critical' }));
    await vi.advanceTimersByTimeAsync(30 * S);
    expect(r.sent.map((s) => s.n.alerts[0]?.labels.alertname)).toEqual(['C']);
    const names = (): (string | undefined)[] => r.sent.map((s) => s.n.alerts[0]?.labels.alertname);
    await vi.advanceTimersByTimeAsync(7 * 60 * M); // 06:00:30, still quiet
    expect(names()).not.toContain('W');
    await vi.advanceTimersByTimeAsync(60 * M); // 07:00:30
    expect(names().filter((n) => n === 'W')).toHaveLength(1);
    d.close();
  });

  test('quiet hours in a time zone follow its clock', async () => {
    // 21:30 UTC is 22:30 in Paris in November (UTC+1): quiet from 22:00 there, not yet in UTC.
    vi.setSystemTime(Date.UTC(2026, 10, 28, 21, 30, 0));
    const r = recorder();
    const d = createDispatcher({
      notify: r.notify,
      routes: [{ groupBy: ['...'], groupWaitMs: 0 }],
      inhibitRules: [],
      quietHours: { startHour: 22, endHour: 7, timeZone: 'Europe/Paris' },
    });
    d.receive(firing({ alertname: 'W', severity: 'warning' }));
    await vi.advanceTimersByTimeAsync(S);
    expect(r.sent).toHaveLength(0);
    d.close();
    expect(() =>
      createDispatcher({ notify: () => {}, quietHours: { startHour: 1, endHour: 2, timeZone: 'Mars/Base' } }),
    ).toThrow(
      expect.objectContaining({
        issues: [expect.objectContaining({ path: 'quietHours.timeZone' })],
      }) as unknown as Error,
    );
  });

  test('bad silences and routes throw ObsConfigError', () => {
    const d = createDispatcher({ notify: () => {} });
    expect(() => d.addSilence({ matchers: [], endsAt: Date.now() + M, createdBy: 'x', comment: '' })).toThrow(
      ObsConfigError,
    );
    let error: unknown;
    try {
      d.addSilence({ matchers: [{ name: 'a', value: '(', isRegex: true }], endsAt: 0, createdBy: 'x', comment: '' });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'OBS_ERR_CONFIG_INVALID' });
    expect((error as ObsConfigError).issues.map((i) => i.path)).toEqual(['matchers.0.value', 'endsAt']);
    expect(() => createDispatcher({ notify: () => {}, routes: [{ groupWaitMs: -1 }] })).toThrow(ObsConfigError);
    d.close();
  });

  test('close() clears every timer and later alerts are ignored', async () => {
    const r = recorder();
    const d = createDispatcher({ notify: r.notify });
    d.receive(firing({ alertname: 'A' }));
    expect(vi.getTimerCount()).toBe(1);
    d.close();
    expect(vi.getTimerCount()).toBe(0);
    d.receive(firing({ alertname: 'B' }));
    await vi.advanceTimersByTimeAsync(60 * M);
    expect(r.sent).toHaveLength(0);
  });

  test('a restored snapshot keeps silences and does not repeat what was already sent', async () => {
    const first = recorder();
    const d1 = createDispatcher({ notify: first.notify });
    d1.addSilence({
      matchers: [{ name: 'alertname', value: 'B' }],
      endsAt: Date.now() + 24 * 60 * M,
      createdBy: 'ops',
      comment: '',
    });
    const a = firing({ alertname: 'A' });
    d1.receive(a);
    await vi.advanceTimersByTimeAsync(30 * S);
    expect(first.sent).toHaveLength(1);
    const state = JSON.parse(JSON.stringify(d1.snapshot()));
    d1.close();

    await vi.advanceTimersByTimeAsync(10 * M); // the restart
    const second = recorder();
    const d2 = createDispatcher({ notify: second.notify });
    d2.restore(state);
    expect(d2.silences()).toMatchObject([{ matchers: [{ name: 'alertname', value: 'B' }], state: 'active' }]);
    d2.receive(a);
    d2.receive(firing({ alertname: 'B' }));
    await vi.advanceTimersByTimeAsync(30 * M);
    expect(second.sent).toHaveLength(0);
    // The repeat interval still counts from the notification before the restart.
    await vi.advanceTimersByTimeAsync(4 * 60 * M);
    expect(second.sent.map((x) => x.n.groupLabels.alertname)).toEqual(['A']);
    d2.close();
  });
});
