import type { ChildProcess } from 'node:child_process';
import { waitUntil } from '@obs/testing';

// The demo's listener URLs, read from its startup log (`@obs: metrics listening on 127.0.0.1:39211 (http://…/)`).
// A test that starts the demo on port 0 and reads the port here cannot lose it to another process, as a port
// found free beforehand (freePort) can be taken by a parallel test before the demo binds it.

/** The URL of the `name` listener in `log`, or undefined before the demo has logged it. */
export function loggedListener(log: string, name: 'metrics' | 'health'): URL | undefined {
  const m = new RegExp(`@obs: ${name}(?: and \\w+)? listening on \\S+ \\((http://[^ )]+)`).exec(log);
  return m === null ? undefined : new URL(m[1]!);
}

/** The URL of the `name` listener in `log`; throws with the log when it is not there. */
export function listenerUrl(log: string, name: 'metrics' | 'health'): URL {
  const url = loggedListener(log, name);
  if (url === undefined) throw new Error(`no ${name} listener in the demo's log:\n${log}`);
  return url;
}

/** Waits (up to 30 s) until `ready` holds of the demo's log; fails at once, with the log, if the demo exits first. */
export async function untilLogged(
  demo: ChildProcess,
  log: () => string,
  what: string,
  ready: (log: string) => boolean,
): Promise<void> {
  await waitUntil(() => ready(log()), { what, timeoutMs: 30_000, gaveUp: () => demo.exitCode !== null }).catch(
    (error: Error) => {
      throw new Error(`${error.message}\n${log()}`);
    },
  );
}

/** Stops a demo still running (SIGTERM) and waits for it to exit. */
export async function stopDemo(demo: ChildProcess | undefined): Promise<void> {
  if (demo === undefined || demo.exitCode !== null || demo.signalCode !== null) return;
  const exited = new Promise((resolve) => demo.once('exit', resolve));
  demo.kill('SIGTERM');
  await exited;
}
