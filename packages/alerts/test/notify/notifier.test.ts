import { ObsConfigError } from '@obs/core';
import { afterEach, describe, expect, test, vi } from 'vitest';
import {
  createSlackChannel,
  createWebhookChannel,
  type Notification,
  type NotificationChannel,
  NotificationError,
} from '../../src/index.ts';
import { backoffDelay, createNotifier, type DeliveryEvent } from '../../src/notify/notifier.ts';
import { type Recorder, type Reply, scriptedServer } from '../fixtures/http.ts';
import { notification } from '../fixtures/notifications.ts';

const open: Recorder[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const s of open.splice(0)) await s.close();
});
async function server(...script: Reply[]): Promise<Recorder> {
  const s = await scriptedServer(script);
  open.push(s);
  return s;
}
const fast = { initialBackoffMs: 1, jitter: 0 };

describe('backoff', () => {
  const retry = { maxAttempts: 5, initialBackoffMs: 1000, maxBackoffMs: 5000, multiplier: 2, jitter: 0.2 };
  test('grows exponentially up to the cap, jittered within ±jitter', () => {
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, { ...retry, jitter: 0 }))).toEqual([1000, 2000, 4000, 5000]);
    expect(backoffDelay(2, retry, () => 0)).toBe(1600);
    expect(backoffDelay(2, retry, () => 0.999_999)).toBe(2400);
  });

  test('waits between attempts are the backoff delays (fake timers)', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const flaky: NotificationChannel = {
      name: 'flaky',
      async send() {
        calls++;
        if (calls < 3) throw new NotificationError('flaky', 'not yet');
      },
    };
    const notifier = createNotifier({
      channels: [flaky],
      retry: { initialBackoffMs: 1000, multiplier: 3, jitter: 0 },
    });
    notifier.notify(notification());
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(2999);
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(3);
    await notifier.idle();
    expect(notifier.stats().flaky).toEqual({ sent: 1, failed: 2, dropped: 0, queued: 0 });
    await notifier.close();
  });
});

describe('channel pacing', () => {
  test('the wait a channel asks for (readyIn) is not counted in the attempt timeout (fake timers)', async () => {
    vi.useFakeTimers();
    let readyAt = Date.now() + 5000;
    let calls = 0;
    const paced: NotificationChannel = {
      name: 'paced',
      readyIn: () => Math.max(0, readyAt - Date.now()),
      async send() {
        calls++;
        readyAt = Date.now() + 5000;
      },
    };
    const notifier = createNotifier({ channels: [paced], timeoutMs: 1000 });
    notifier.notify(notification());
    notifier.notify(notification());
    await vi.advanceTimersByTimeAsync(4999);
    expect(calls).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toBe(2);
    expect(notifier.stats().paced).toEqual({ sent: 2, failed: 0, dropped: 0, queued: 0 });
    await notifier.close();
  });
});

describe('notifier against loopback servers', () => {
  test('500s are retried until delivered, exactly once', async () => {
    const s = await server(500, 500);
    const notifier = createNotifier({ channels: [createWebhookChannel({ url: s.url.href })], retry: fast });
    notifier.notify(notification());
    await notifier.idle();
    expect(s.requests).toHaveLength(3);
    expect(s.delivered).toHaveLength(1);
    expect(notifier.stats().webhook).toEqual({ sent: 1, failed: 2, dropped: 0, queued: 0 });
    await notifier.close();
  });

  test('when the retry budget runs out the notification is dropped and counted', async () => {
    const s = await server(500, 502, 503, 504);
    const events: DeliveryEvent[] = [];
    const notifier = createNotifier({
      channels: [createWebhookChannel({ url: s.url.href })],
      retry: { ...fast, maxAttempts: 3 },
      onDelivery: (e) => events.push(e),
    });
    notifier.notify(notification());
    await notifier.idle();
    expect(s.requests).toHaveLength(3);
    expect(events.map((e) => e.outcome)).toEqual(['failed', 'failed', 'failed', 'dropped']);
    expect(events[3]).toMatchObject({ reason: 'retries-exhausted', attempts: 3 });
    expect(events[3]?.error).toBeInstanceOf(NotificationError);
    expect(events[3]?.error?.code).toBe('OBS_ERR_ALERTS_NOTIFY');
    expect(notifier.stats().webhook).toEqual({ sent: 0, failed: 3, dropped: 1, queued: 0 });
    await notifier.close();
  });

  test('a 4xx other than 429 is not retried', async () => {
    const s = await server(404);
    const notifier = createNotifier({ channels: [createWebhookChannel({ url: s.url.href })], retry: fast });
    notifier.notify(notification());
    await notifier.idle();
    expect(s.requests).toHaveLength(1);
    expect(notifier.stats().webhook).toMatchObject({ sent: 0, failed: 1, dropped: 1 });
    await notifier.close();
  });

  test('a 429 with Retry-After is retried and delivered once (Slack and webhook)', async () => {
    const slack = await server({ status: 429, headers: { 'retry-after': '0' } });
    const hook = await server({ status: 429, headers: { 'retry-after': '0' } });
    const notifier = createNotifier({
      channels: [
        createSlackChannel({ url: slack.url.href, minIntervalMs: 0 }),
        createWebhookChannel({ url: hook.url.href }),
      ],
      retry: fast,
    });
    notifier.notify(notification());
    await notifier.idle();
    expect([slack.requests.length, slack.delivered.length]).toEqual([2, 1]);
    expect([hook.requests.length, hook.delivered.length]).toEqual([2, 1]);
    await notifier.close();
  });

  test('a slow answer is cut off by the attempt timeout and retried', async () => {
    const s = await server('hang');
    const events: DeliveryEvent[] = [];
    const notifier = createNotifier({
      channels: [createWebhookChannel({ url: s.url.href })],
      retry: fast,
      timeoutMs: 200,
      onDelivery: (e) => events.push(e),
    });
    notifier.notify(notification());
    await notifier.idle();
    expect(events.map((e) => e.outcome)).toEqual(['failed', 'sent']);
    expect(events[0]?.error?.message).toContain('timed out');
    expect(s.delivered).toHaveLength(1);
    await notifier.close();
  });

  test('a hanging channel does not delay another one; close() drops and counts what it held', async () => {
    const stuck = await server('hang', 'hang', 'hang');
    const good = await server();
    const events: DeliveryEvent[] = [];
    let bothSent: () => void = () => {};
    const goodDone = new Promise<void>((r) => {
      bothSent = r;
    });
    const notifier = createNotifier({
      channels: [
        createWebhookChannel({ url: stuck.url.href, name: 'stuck' }),
        createWebhookChannel({ url: good.url.href, name: 'good' }),
      ],
      timeoutMs: 60_000,
      onDelivery: (e) => {
        events.push(e);
        if (e.channel === 'good' && e.outcome === 'sent' && good.delivered.length === 2) bothSent();
      },
    });
    notifier.notify(notification());
    notifier.notify(notification());
    await goodDone;
    expect(notifier.stats().stuck).toMatchObject({ sent: 0, queued: 2 });
    await notifier.close();
    expect(notifier.stats()).toEqual({
      stuck: { sent: 0, failed: 0, dropped: 2, queued: 0 },
      good: { sent: 2, failed: 0, dropped: 0, queued: 0 },
    });
    expect(events.filter((e) => e.outcome === 'dropped').every((e) => e.reason === 'closed')).toBe(true);
    expect(good.delivered).toHaveLength(2);
  });

  test('a full queue drops its oldest waiting notification and counts it', async () => {
    const s = await server('hang');
    const events: DeliveryEvent[] = [];
    const notifier = createNotifier({
      channels: [createWebhookChannel({ url: s.url.href })],
      queueSize: 2,
      timeoutMs: 60_000,
      onDelivery: (e) => events.push(e),
    });
    for (let i = 0; i < 4; i++) notifier.notify(notification());
    expect(events.map((e) => e.reason)).toEqual(['queue-full', 'queue-full']);
    expect(notifier.stats().webhook).toMatchObject({ dropped: 2, queued: 2 });
    await notifier.close();
    expect(notifier.stats().webhook).toEqual({ sent: 0, failed: 0, dropped: 4, queued: 0 });
  });

  test('a channel that throws synchronously or with a foreign error is retried, then dropped', async () => {
    const bad: NotificationChannel = {
      name: 'bad',
      send(_n: Notification): Promise<void> {
        throw new TypeError('boom');
      },
    };
    const events: DeliveryEvent[] = [];
    const notifier = createNotifier({
      channels: [bad],
      retry: { ...fast, maxAttempts: 2 },
      onDelivery: (e) => {
        events.push(e);
        throw new Error('a throwing callback is ignored');
      },
    });
    expect(() => notifier.notify(notification())).not.toThrow();
    await notifier.idle();
    expect(events.map((e) => e.outcome)).toEqual(['failed', 'failed', 'dropped']);
    expect(events[0]?.error).toBeInstanceOf(NotificationError);
    expect(events[0]?.error?.cause).toBeInstanceOf(TypeError);
    await notifier.close();
  });

  test('close({ drainMs }) lets queued notifications go out first; keepUnsent returns what is left, not dropped', async () => {
    const slow = await server('hang');
    const later = await server();
    const events: DeliveryEvent[] = [];
    const notifier = createNotifier({
      channels: [
        createWebhookChannel({ url: slow.url.href, name: 'slow' }),
        createWebhookChannel({ url: later.url.href, name: 'later' }),
      ],
      timeoutMs: 60_000,
      onDelivery: (e) => {
        events.push(e);
      },
    });
    const first = notification();
    notifier.notify(first);
    notifier.notify(first, ['slow']);
    const unsent = await notifier.close({ drainMs: 200, keepUnsent: true });
    // `later` delivered within the drain; `slow` hung on its first and never started its second.
    expect(later.delivered).toHaveLength(1);
    expect(unsent).toEqual([
      { channel: 'slow', notification: first },
      { channel: 'slow', notification: first },
    ]);
    expect(events.filter((e) => e.outcome === 'dropped')).toEqual([]);
    expect(notifier.stats().slow).toMatchObject({ sent: 0, dropped: 0, queued: 0 });
    expect(await notifier.close()).toBe(unsent);
  });

  test('routes to the named channels only; after close() nothing is sent and drops are counted', async () => {
    const a = await server();
    const b = await server();
    const notifier = createNotifier({
      channels: [
        createWebhookChannel({ url: a.url.href, name: 'a' }),
        createWebhookChannel({ url: b.url.href, name: 'b' }),
      ],
    });
    notifier.notify(notification(), ['b']);
    await notifier.idle();
    expect([a.delivered.length, b.delivered.length]).toEqual([0, 1]);
    await notifier.close();
    await notifier.close();
    notifier.notify(notification());
    expect(notifier.stats()).toMatchObject({ a: { dropped: 1 }, b: { sent: 1, dropped: 1 } });
    expect([a.requests.length, b.requests.length]).toEqual([0, 1]);
  });

  test('bad options throw ObsConfigError with every issue', () => {
    const ch: NotificationChannel = { name: 'x', send: async () => {} };
    let error: unknown;
    try {
      createNotifier({ channels: [ch, ch], queueSize: 0, timeoutMs: -1, retry: { maxAttempts: 1.5, jitter: 2 } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ObsConfigError);
    expect(error).toMatchObject({ code: 'OBS_ERR_CONFIG_INVALID' });
    expect((error as ObsConfigError).issues.map((i) => i.path).sort()).toEqual(
      ['channels.1', 'queueSize', 'retry.jitter', 'retry.maxAttempts', 'timeoutMs'].sort(),
    );
  });
});
