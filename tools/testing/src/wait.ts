// One polling helper for the tests that wait for something another process or a timer brings about.
import { setTimeout as sleep } from 'node:timers/promises';

/** Options of {@link waitUntil}. */
export interface WaitOptions {
  /** What is awaited, for the error: "the demo to serve /metrics". */
  readonly what: string;
  /** Longest wait, in ms. @default 10_000 */
  readonly timeoutMs?: number;
  /** Time between two checks, in ms. @default 50 */
  readonly intervalMs?: number;
  /** Checked before each wait: once it is true, waiting further is pointless (the process exited). */
  readonly gaveUp?: () => boolean;
}

/**
 * Resolves with the first truthy value of `check` (sync or async), polled every `intervalMs`. Rejects naming
 * `what` after `timeoutMs`, or at once when `gaveUp()` is true. A bound on waiting, never a timed assertion:
 * tests assert on what came, not on how fast.
 * @throws Error when `timeoutMs` passes or `gaveUp()` is true first.
 */
export async function waitUntil<T>(check: () => T | Promise<T>, options: WaitOptions): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false && value !== 0 && value !== '')
      return value as NonNullable<T>;
    if (options.gaveUp?.() === true) throw new Error(`gave up waiting for ${options.what}`);
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${options.what}`);
    await sleep(options.intervalMs ?? 50);
  }
}
