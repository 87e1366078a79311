import { type ConfigIssue, ObsConfigError } from '@obs/core';
import { sleep } from '../internal/sleep.ts';
import { type Notification, type NotificationChannel, NotificationError } from './notification.ts';

/** How a notifier retries one notification on one channel. */
export interface RetryOptions {
  /** Attempts in all, the first included. @default 5 */
  readonly maxAttempts?: number;
  /** Wait before the second attempt. @default 1000 */
  readonly initialBackoffMs?: number;
  /** Longest wait between two attempts (a longer Retry-After still wins). @default 60000 */
  readonly maxBackoffMs?: number;
  /** Growth of the wait per attempt. @default 2 */
  readonly multiplier?: number;
  /** Each wait is scaled by a random factor in [1 - jitter, 1 + jitter]. @default 0.2 */
  readonly jitter?: number;
}

/** What happened to a notification on a channel; `failed` is one failed attempt, `dropped` is the end of it. */
export interface DeliveryEvent {
  readonly channel: string;
  readonly outcome: 'sent' | 'failed' | 'dropped';
  /** Attempts made so far for this notification. */
  readonly attempts: number;
  /** Why an attempt failed, or why the notification was dropped. */
  readonly error?: NotificationError;
  /** Why it was dropped. */
  readonly reason?: 'retries-exhausted' | 'not-retryable' | 'queue-full' | 'closed';
}

/** Counts of one channel since the notifier started. */
export interface ChannelStats {
  readonly sent: number;
  readonly failed: number;
  readonly dropped: number;
  /** Waiting, the one in flight included. */
  readonly queued: number;
}

/** Options of {@link createNotifier}. */
export interface NotifierOptions {
  readonly channels: readonly NotificationChannel[];
  readonly retry?: RetryOptions;
  /** Each attempt is aborted after this long. @default 10000 */
  readonly timeoutMs?: number;
  /** Notifications waiting per channel; the oldest is dropped when a new one does not fit. @default 100 */
  readonly queueSize?: number;
  /** Called for every send, failed attempt and drop; a throwing callback is ignored. @default none */
  readonly onDelivery?: (event: DeliveryEvent) => void;
  /** Source of jitter, in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/** Queues notifications per channel and delivers them with retries; never throws into the caller. */
export interface Notifier {
  /**
   * Enqueues `notification` on the named channels (default: all); unknown names are ignored. Resolves, once every
   * one of them is done with it, to the names of those that delivered it; never rejects.
   */
  notify(notification: Notification, channels?: readonly string[]): Promise<readonly string[]>;
  /** Counts per channel name. */
  stats(): Readonly<Record<string, ChannelStats>>;
  /** Resolves when every queue is empty (delivered or dropped). */
  idle(): Promise<void>;
  /**
   * Gives the queues up to `drainMs` to empty, then aborts attempts and waits and closes the channels. What was
   * not delivered is dropped (counted), or with `keepUnsent` returned instead, to be sent after a restart.
   * Idempotent: later calls return the first call's result.
   */
  close(options?: CloseOptions): Promise<readonly UnsentNotification[]>;
}

/** Options of {@link Notifier.close}. */
export interface CloseOptions {
  /** Longest wait for the queues to empty before aborting. @default 0 */
  readonly drainMs?: number;
  /** Return what was not delivered instead of dropping it. @default false */
  readonly keepUnsent?: boolean;
}

/** A notification not delivered on one channel when the notifier closed. */
export interface UnsentNotification {
  readonly channel: string;
  readonly notification: Notification;
}

type Resolved = Readonly<Required<RetryOptions>>;

/** The wait before attempt `attempt + 1` (attempt counts from 1): exponential, capped, jittered. */
export function backoffDelay(
  attempt: number,
  retry: Readonly<Required<RetryOptions>>,
  random: () => number = Math.random,
): number {
  const base = Math.min(retry.maxBackoffMs, retry.initialBackoffMs * retry.multiplier ** (attempt - 1));
  const factor = 1 - retry.jitter + 2 * retry.jitter * random();
  return Math.max(0, Math.round(base * factor));
}

function positive(issues: ConfigIssue[], path: string, v: number | undefined, integer = false, zero = false): void {
  if (v === undefined) return;
  const ok = Number.isFinite(v) && (zero ? v >= 0 : v > 0) && (!integer || Number.isInteger(v));
  if (!ok) issues.push({ path, message: `must be a ${integer ? 'whole' : ''} number ${zero ? '>= 0' : '> 0'}` });
}

function resolveRetryOptions(retry: RetryOptions, issues: ConfigIssue[]): Resolved {
  positive(issues, 'retry.maxAttempts', retry.maxAttempts, true);
  positive(issues, 'retry.initialBackoffMs', retry.initialBackoffMs, false, true);
  positive(issues, 'retry.maxBackoffMs', retry.maxBackoffMs, false, true);
  if (retry.multiplier !== undefined && !(Number.isFinite(retry.multiplier) && retry.multiplier >= 1))
    issues.push({ path: 'retry.multiplier', message: 'must be a number >= 1' });
  if (retry.jitter !== undefined && !(Number.isFinite(retry.jitter) && retry.jitter >= 0 && retry.jitter <= 1))
    issues.push({ path: 'retry.jitter', message: 'must be a number in 0..1' });
  return Object.freeze({
    maxAttempts: retry.maxAttempts ?? 5,
    initialBackoffMs: retry.initialBackoffMs ?? 1000,
    maxBackoffMs: retry.maxBackoffMs ?? 60_000,
    multiplier: retry.multiplier ?? 2,
    jitter: retry.jitter ?? 0.2,
  });
}

interface Queued {
  readonly notification: Notification;
  /** Told whether the channel delivered it, once it is sent, dropped or kept for after a restart. */
  readonly done: (delivered: boolean) => void;
}

interface Lane {
  readonly channel: NotificationChannel;
  readonly queue: Queued[];
  sent: number;
  failed: number;
  dropped: number;
  running: Promise<void> | undefined;
  inFlight: boolean;
}

function asNotificationError(channel: string, error: unknown): NotificationError {
  if (error instanceof NotificationError) return error;
  // A custom channel's error may carry anything; keep it only as the cause.
  return new NotificationError(channel, 'delivery failed', { cause: error });
}

/**
 * Delivers notifications: one queue and one worker per channel, so a slow or failing channel never delays
 * the others or the caller. Retries with exponential backoff and jitter, honouring Retry-After.
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` for bad options or duplicate channel names
 */
export function createNotifier(options: NotifierOptions): Notifier {
  const issues: ConfigIssue[] = [];
  const retry = resolveRetryOptions(options.retry ?? {}, issues);
  positive(issues, 'timeoutMs', options.timeoutMs);
  positive(issues, 'queueSize', options.queueSize, true);
  const lanes = new Map<string, Lane>();
  for (const [i, channel] of options.channels.entries()) {
    if (typeof channel?.send !== 'function' || typeof channel.name !== 'string' || channel.name === '')
      issues.push({ path: `channels.${i}`, message: 'must have a name and a send() method' });
    else if (lanes.has(channel.name))
      issues.push({ path: `channels.${i}`, message: `duplicate channel name "${channel.name}"` });
    else
      lanes.set(channel.name, {
        channel,
        queue: [],
        sent: 0,
        failed: 0,
        dropped: 0,
        running: undefined,
        inFlight: false,
      });
  }
  if (issues.length > 0) throw new ObsConfigError('@obs/alerts', issues);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const queueSize = options.queueSize ?? 100;
  const random = options.random ?? Math.random;
  const closing = new AbortController();
  let closed: Promise<readonly UnsentNotification[]> | undefined;
  let unsent: UnsentNotification[] | undefined;

  function report(event: DeliveryEvent): void {
    try {
      options.onDelivery?.(event);
    } catch {
      // The callback is the plugin's or the user's; a delivery never fails because of it.
    }
  }

  function drop(lane: Lane, attempts: number, reason: DeliveryEvent['reason'], error?: NotificationError): void {
    lane.dropped++;
    report({ channel: lane.channel.name, outcome: 'dropped', attempts, reason, ...(error ? { error } : {}) });
  }

  async function attempt(lane: Lane, n: Notification): Promise<void> {
    // Waiting for the channel's own pacing is not part of the attempt's time budget.
    await sleep(lane.channel.readyIn?.() ?? 0, closing.signal);
    // close() may have run while this attempt waited: its abort would not reach the listener below.
    if (closing.signal.aborted) throw closing.signal.reason;
    const controller = new AbortController();
    const onClose = (): void => controller.abort(closing.signal.reason);
    closing.signal.addEventListener('abort', onClose, { once: true });
    const timer = setTimeout(
      () => controller.abort(new NotificationError(lane.channel.name, `attempt timed out after ${timeoutMs}ms`)),
      timeoutMs,
    );
    try {
      // A send that ignores its signal is still abandoned at the timeout.
      await Promise.race([
        Promise.resolve().then(() => lane.channel.send(n, controller.signal)),
        new Promise<never>((_, reject) => {
          controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
        }),
      ]);
    } finally {
      clearTimeout(timer);
      closing.signal.removeEventListener('abort', onClose);
    }
  }

  // Closing: the notification is kept for after a restart when asked, else dropped.
  function closedOn(lane: Lane, q: Queued, attempts: number): void {
    if (unsent !== undefined) unsent.push({ channel: lane.channel.name, notification: q.notification });
    else drop(lane, attempts, 'closed');
    q.done(false);
  }

  async function deliver(lane: Lane, q: Queued): Promise<void> {
    const n = q.notification;
    for (let attempts = 1; ; attempts++) {
      if (closing.signal.aborted) return closedOn(lane, q, attempts - 1);
      try {
        await attempt(lane, n);
        lane.sent++;
        report({ channel: lane.channel.name, outcome: 'sent', attempts });
        q.done(true);
        return;
      } catch (caught) {
        if (closing.signal.aborted) return closedOn(lane, q, attempts);
        const error = asNotificationError(lane.channel.name, caught);
        lane.failed++;
        report({ channel: lane.channel.name, outcome: 'failed', attempts, error });
        if (!error.retryable || attempts >= retry.maxAttempts) {
          drop(lane, attempts, error.retryable ? 'retries-exhausted' : 'not-retryable', error);
          return q.done(false);
        }
        const wait = Math.max(backoffDelay(attempts, retry, random), error.retryAfterMs ?? 0);
        try {
          await sleep(wait, closing.signal);
        } catch {
          return closedOn(lane, q, attempts);
        }
      }
    }
  }

  async function work(lane: Lane): Promise<void> {
    for (let q = lane.queue[0]; q !== undefined; q = lane.queue[0]) {
      lane.inFlight = true;
      await deliver(lane, q);
      lane.queue.shift();
      lane.inFlight = false;
    }
    lane.running = undefined;
  }

  async function idle(): Promise<void> {
    for (;;) {
      const running = [...lanes.values()].map((l) => l.running).filter((r) => r !== undefined);
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  return {
    notify(notification, channels) {
      const outcomes: Promise<string | undefined>[] = [];
      for (const lane of lanes.values()) {
        if (channels !== undefined && !channels.includes(lane.channel.name)) continue;
        if (closing.signal.aborted) {
          drop(lane, 0, 'closed');
          continue;
        }
        let done!: (delivered: boolean) => void;
        outcomes.push(
          new Promise<boolean>((resolve) => {
            done = resolve;
          }).then((ok) => (ok ? lane.channel.name : undefined)),
        );
        lane.queue.push({ notification, done });
        if (lane.queue.length > queueSize) {
          // The oldest waiting one goes: a newer notification carries the newer state.
          const [oldest] = lane.queue.splice(lane.inFlight ? 1 : 0, 1);
          drop(lane, 0, 'queue-full');
          oldest?.done(false);
        }
        lane.running ??= work(lane);
      }
      return Promise.all(outcomes).then((names) => names.filter((n) => n !== undefined));
    },
    stats() {
      const out: Record<string, ChannelStats> = {};
      for (const [name, l] of lanes)
        out[name] = { sent: l.sent, failed: l.failed, dropped: l.dropped, queued: l.queue.length };
      return out;
    },
    idle,
    close(closeOptions = {}) {
      closed ??= (async () => {
        const drainMs = closeOptions.drainMs ?? 0;
        if (drainMs > 0) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            idle(),
            new Promise<void>((resolve) => {
              timer = setTimeout(resolve, drainMs);
            }),
          ]);
          clearTimeout(timer);
        }
        if (closeOptions.keepUnsent === true) unsent = [];
        closing.abort(new NotificationError('*', 'notifier closed'));
        await Promise.all([...lanes.values()].map((l) => l.running));
        for (const lane of lanes.values()) {
          // The one in flight has been handled by its worker.
          for (const q of lane.queue.slice(lane.inFlight ? 1 : 0)) closedOn(lane, q, 0);
          lane.queue.length = 0;
        }
        await Promise.all([...lanes.values()].map((l) => Promise.resolve(l.channel.close?.()).catch(() => undefined)));
        return Object.freeze(unsent ?? []);
      })();
      return closed;
    },
  };
}
