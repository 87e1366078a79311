// Issue #19: no notification is lost. A group counts as notified only once delivered; what a channel failed to
// deliver is tried again at the next group interval, and after a restart, even a kill -9 in the middle of retries.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMonitor, type ObsEvents, silentLogger } from '@obs/core';
import { type LoopbackServer, listenLoopback, readBody } from '@obs/testing';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { alertsPlugin, createWebhookChannel, type WebhookPayload } from '../../src/index.ts';

interface Receiver extends LoopbackServer {
  /** Answer with this status from now on. */
  status: number;
  readonly attempts: number[];
  readonly delivered: WebhookPayload[];
}

async function receiver(status: number): Promise<Receiver> {
  const attempts: number[] = [];
  const delivered: WebhookPayload[] = [];
  let out: Receiver | undefined;
  const server = await listenLoopback(async (req, res) => {
    const body = await readBody(req);
    const answer = out?.status ?? status;
    attempts.push(answer);
    if (answer < 300) delivered.push(JSON.parse(body) as WebhookPayload);
    res.writeHead(answer).end();
  });
  out = Object.assign(server, { attempts, delivered, status });
  return out;
}

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const FIXTURE = join(import.meta.dirname, '../fixtures/notify-process.ts');

async function spawnMonitor(stateFile: string, url: URL, value: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@obs/source', FIXTURE, stateFile, url.href, String(value)],
    { cwd: join(import.meta.dirname, '../..'), stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('started')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the fixture exited (${code}) before it started`)));
  });
  return child;
}

async function stopMonitor(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.stdin?.write('stop\n');
  return exited;
}

function readState(file: string): {
  alerts?: { status: string; labels: Record<string, string> }[];
  groups: { channel?: string; firing: string[] }[];
} {
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { groups: [] };
}

const WAIT = { timeout: 15_000, interval: 50 };

describe('at-least-once notifications across restarts (real child processes)', () => {
  test('kill -9 in the middle of retries: the firing notification arrives after the restart', async () => {
    const hook = await receiver(503);
    cleanup.push(() => hook.close());
    const stateFile = join(mkdtempSync(join(tmpdir(), 'obs-alerts-kill-')), 'state.json');
    const first = await spawnMonitor(stateFile, hook.url, 1);
    // Retrying against the 503s, with the firing alert in the state file but not marked notified.
    await vi.waitFor(() => {
      expect(hook.attempts.length).toBeGreaterThanOrEqual(2);
      expect(readState(stateFile).alerts).toMatchObject([{ status: 'firing', labels: { alertname: 'Queue Stuck' } }]);
    }, WAIT);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    expect(hook.delivered).toEqual([]);
    expect(readState(stateFile).groups).toEqual([]);

    hook.status = 200;
    const second = await spawnMonitor(stateFile, hook.url, 1);
    await vi.waitFor(() => expect(hook.delivered.length).toBeGreaterThanOrEqual(1), WAIT);
    expect(hook.delivered[0]).toMatchObject({ status: 'firing', alerts: [{ labels: { alertname: 'Queue Stuck' } }] });
    expect(await stopMonitor(second)).toBe(0);
    expect(hook.delivered.filter((p) => p.status === 'firing')).toHaveLength(1);
  }, 60_000);

  test('restart while an alert fires, the alert ends after the restart: the receiver gets status resolved', async () => {
    const hook = await receiver(200);
    cleanup.push(() => hook.close());
    const stateFile = join(mkdtempSync(join(tmpdir(), 'obs-alerts-resolve-')), 'state.json');
    const first = await spawnMonitor(stateFile, hook.url, 1);
    await vi.waitFor(() => {
      expect(hook.delivered).toHaveLength(1);
      expect(readState(stateFile).groups).toMatchObject([{ firing: [expect.any(String)] }]);
    }, WAIT);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));

    const second = await spawnMonitor(stateFile, hook.url, 0);
    await vi.waitFor(() => expect(hook.delivered.map((p) => p.status)).toContain('resolved'), WAIT);
    expect(await stopMonitor(second)).toBe(0);
    // Firing once (before the restart), resolved once (after it): nothing repeated, nothing lost.
    expect(hook.delivered.map((p) => p.status)).toEqual(['firing', 'resolved']);
    expect(hook.delivered[1]?.alerts).toMatchObject([
      { status: 'resolved', labels: { alertname: 'Queue Stuck' }, endsAt: expect.not.stringMatching(/^0001/) },
    ]);
    expect(readState(stateFile)).toMatchObject({ alerts: [], groups: [] });
  }, 60_000);

  test('an alert still firing after a restart is not notified again before its repeat interval', async () => {
    const hook = await receiver(200);
    cleanup.push(() => hook.close());
    const stateFile = join(mkdtempSync(join(tmpdir(), 'obs-alerts-dedup-')), 'state.json');
    const first = await spawnMonitor(stateFile, hook.url, 1);
    await vi.waitFor(() => expect(readState(stateFile).groups).toHaveLength(1), WAIT);
    expect(await stopMonitor(first)).toBe(0);
    const second = await spawnMonitor(stateFile, hook.url, 1);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await stopMonitor(second)).toBe(0);
    expect(hook.delivered.map((p) => p.status)).toEqual(['firing']);
  }, 60_000);
});

describe('at-least-once notifications in one process', () => {
  test('a receiver down for more than 3 retry windows gets the firing notification once it is back', async () => {
    const hook = await receiver(503);
    cleanup.push(() => hook.close());
    const plugin = alertsPlugin({
      rules: [{ name: 'Queue Stuck', expr: 'stuck > 0', severity: 'critical' }],
      notifications: {
        log: false,
        http: false,
        channels: [createWebhookChannel({ url: hook.url.href })],
        routes: [{ groupWaitMs: 0, groupIntervalMs: 100 }],
        // One retry window: 3 attempts, 20ms then 40ms apart.
        retry: { maxAttempts: 3, initialBackoffMs: 20, jitter: 0 },
      },
    });
    const monitor = createMonitor({
      config: { metrics_port: 0, health_port: 0, host: '127.0.0.1' },
      plugins: [plugin],
      logger: silentLogger,
    });
    const dropped: ObsEvents['alert:notified'][] = [];
    monitor.bus.on('alert:notified', (e) => {
      if (e.outcome === 'dropped') dropped.push(e);
    });
    await monitor.start();
    cleanup.push(() => monitor.stop());
    plugin.dispatcher.receive({
      labels: { alertname: 'Queue Stuck', severity: 'critical' },
      value: 1,
      status: 'firing',
      startsAt: Date.now(),
    });
    await vi.waitFor(() => expect(dropped.length).toBeGreaterThanOrEqual(4), WAIT);
    expect(hook.delivered).toEqual([]);
    hook.status = 200;
    await vi.waitFor(() => expect(hook.delivered).toHaveLength(1), WAIT);
    expect(hook.delivered[0]).toMatchObject({ status: 'firing', alerts: [{ labels: { alertname: 'Queue Stuck' } }] });
    // Delivered: the group is notified, and not sent again at the next ticks.
    await new Promise((r) => setTimeout(r, 500));
    expect(hook.delivered).toHaveLength(1);
  }, 30_000);
});
