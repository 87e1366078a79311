// Issue #19: nobody can mute the alerts. Silences over HTTP are protected by core (same origin, auth, JSON
// only), bounded (count, size, duration, body, retention), matched in linear time, and cheap to persist.
import { mkdtempSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMonitor, loadConfig, ObsConfigError, silentLogger } from '@obs/core';
import { afterEach, describe, expect, test } from 'vitest';
import { type AlertsPluginOptions, alertsPlugin } from '../../src/index.ts';
import { createDispatcher } from '../../src/notify/dispatcher.ts';

const TOKEN = 'test-token-123456';
const auth = { authorization: `Bearer ${TOKEN}` };
const json = { ...auth, 'content-type': 'application/json' };
const HOUR = 3_600_000;

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const m of running.splice(0)) await m.stop();
});

async function start(alerts: Record<string, unknown> = {}, notifications: AlertsPluginOptions['notifications'] = {}) {
  const plugin = alertsPlugin({
    rules: [{ name: 'API Error Rate High', expr: 'errors > 0.1', severity: 'warning' }],
    notifications: { log: false, ...notifications },
  });
  const monitor = createMonitor({
    config: {
      metrics_port: 0,
      health_port: 0,
      host: '127.0.0.1',
      auth: { health: { bearer_token: TOKEN } },
      alerts,
    },
    plugins: [plugin],
    logger: silentLogger,
  });
  await monitor.start();
  running.push(monitor);
  return { plugin, monitor, url: (path: string) => new URL(path, monitor.url('health')) };
}

function silence(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    matchers: [{ name: 'alertname', value: 'API Error Rate High' }],
    endsAt: new Date(Date.now() + HOUR).toISOString(),
    createdBy: 'ops',
    comment: 'deploy',
    ...extra,
  });
}

describe('issue #19: /silences cannot be used to mute every alert', () => {
  const attack = JSON.stringify({
    matchers: [{ name: 'alertname', value: '.*', isRegex: true }],
    endsAt: '9999-12-31T00:00:00Z',
  });

  test('the cross-site POST (text/plain, foreign Origin) creates no silence', async () => {
    const { plugin, url } = await start();
    const attempts: Record<string, string>[] = [
      { 'content-type': 'text/plain', origin: 'http://evil.example' },
      { ...auth, 'content-type': 'text/plain', origin: 'http://evil.example' },
      { ...auth, 'content-type': 'text/plain' },
    ];
    for (const headers of attempts) {
      const res = await fetch(url('/silences'), { method: 'POST', headers, body: attack });
      expect(res.status, JSON.stringify(headers)).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    expect(plugin.dispatcher.silences()).toEqual([]);
    // Even with the right auth and JSON, a silence until the year 9999 is refused (max_silence_duration).
    const res = await fetch(url('/silences'), { method: 'POST', headers: json, body: attack });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { issues: { path: string; message: string }[] };
    expect(body.issues).toMatchObject([{ path: 'endsAt', message: expect.stringContaining('max_silence_duration') }]);
    expect(plugin.dispatcher.silences()).toEqual([]);
  });

  test('DELETE without the listener’s auth expires nothing', async () => {
    const { plugin, url } = await start();
    const created = await fetch(url('/silences'), { method: 'POST', headers: json, body: silence() });
    const { silenceID } = (await created.json()) as { silenceID: string };
    const attempts: Record<string, string>[] = [
      {},
      { origin: 'http://evil.example' },
      { authorization: 'Bearer wrong' },
    ];
    for (const headers of attempts) {
      const res = await fetch(url(`/silences/${silenceID}`), { method: 'DELETE', headers });
      expect(res.status).toBe(401);
    }
    expect(plugin.dispatcher.silences()).toMatchObject([{ id: silenceID, state: 'active' }]);
  });

  test('a malformed percent-encoding in DELETE /silences/<id> is a 400', async () => {
    const { url } = await start();
    const res = await fetch(url('/silences/%E0%A4%A'), { method: 'DELETE', headers: auth });
    expect(res.status).toBe(400);
  });
});

describe('silence limits', () => {
  test('max_silences active or pending: the next one is a 400 with OBS_ERR_ALERTS_SILENCE_LIMIT', async () => {
    const { plugin, url } = await start({ max_silences: 3 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(url('/silences'), { method: 'POST', headers: json, body: silence() });
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { silenceID: string }).silenceID);
    }
    const over = await fetch(url('/silences'), { method: 'POST', headers: json, body: silence() });
    expect(over.status).toBe(400);
    expect(await over.json()).toMatchObject({
      code: 'OBS_ERR_ALERTS_SILENCE_LIMIT',
      error: expect.stringContaining('max_silences'),
    });
    // Replacing one by its id is not a new one; expiring one makes room.
    const replace = await fetch(url('/silences'), { method: 'POST', headers: json, body: silence({ id: ids[0] }) });
    expect(replace.status).toBe(201);
    expect((await fetch(url(`/silences/${ids[1]}`), { method: 'DELETE', headers: auth })).status).toBe(200);
    expect((await fetch(url('/silences'), { method: 'POST', headers: json, body: silence() })).status).toBe(201);
    expect(plugin.dispatcher.silences().filter((s) => s.state !== 'expired')).toHaveLength(3);
  });

  test('a silence over max_silence_bytes is a 400 naming the limit; a body over 64 KiB is a 413', async () => {
    const { plugin, url } = await start();
    const big = await fetch(url('/silences'), {
      method: 'POST',
      headers: json,
      body: silence({ comment: 'x'.repeat(5000) }),
    });
    expect(big.status).toBe(400);
    expect(await big.json()).toMatchObject({
      issues: [{ path: 'silence', message: expect.stringContaining('max_silence_bytes') }],
    });
    const huge = await fetch(url('/silences'), {
      method: 'POST',
      headers: json,
      body: silence({ comment: 'x'.repeat(200 * 1024) }),
    });
    expect(huge.status).toBe(413);
    expect(plugin.dispatcher.silences()).toEqual([]);
  });

  test('the limits are [monitoring.alerts] keys with documented defaults', () => {
    const alerts = loadConfig({ env: {}, plugins: [alertsPlugin()] }).alerts;
    expect(alerts).toMatchObject({
      max_silences: 1000,
      max_silence_bytes: 4096,
      max_silence_duration: 8760 * HOUR,
      silence_retention: 120 * HOUR,
    });
  });

  test('expired silences are kept for the retention, then collected; expired ones never hold memory past max', () => {
    let now = Date.UTC(2026, 0, 1);
    const d = createDispatcher({
      notify: () => {},
      now: () => now,
      silenceLimits: { maxSilences: 5, retentionMs: 120 * HOUR },
    });
    const add = () =>
      d.addSilence({ matchers: [{ name: 'a', value: 'b' }], endsAt: now + HOUR, createdBy: 'x', comment: '' });
    const first = add();
    expect(d.expireSilence(first.id)).toBe(true);
    now += 119 * HOUR;
    expect(d.silences()).toMatchObject([{ id: first.id, state: 'expired' }]);
    now += 2 * HOUR;
    expect(d.silences()).toEqual([]);
    // Create and expire far more than the limit: what is stored stays bounded.
    for (let i = 0; i < 50; i++) d.expireSilence(add().id);
    expect(d.silences().length).toBeLessThanOrEqual(5);
    d.close();
  });

  test('1,000 POSTs do not make 1,000 state-file writes; every silence is in the file after stop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'obs-alerts-writes-'));
    const stateFile = join(dir, 'state.json');
    writeFileSync(stateFile, JSON.stringify({ version: 1, silences: [], groups: [] }));
    let writes = 0;
    const watcher = watch(dir, (_event, name) => {
      if (name === 'state.json') writes++;
    });
    try {
      const { monitor, url } = await start({}, { stateFile });
      const post = async (): Promise<void> => {
        const res = await fetch(url('/silences'), { method: 'POST', headers: json, body: silence() });
        expect(res.status).toBe(201);
      };
      for (let i = 0; i < 100; i++) await Promise.all(Array.from({ length: 10 }, post));
      await monitor.stop();
      await new Promise((r) => setTimeout(r, 200));
      const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { silences: unknown[] };
      expect(state.silences).toHaveLength(1000);
      // One write per second at most, plus the one at stop (each rename may show up as a couple of events).
      expect(writes).toBeGreaterThan(0);
      expect(writes).toBeLessThan(100);
    } finally {
      watcher.close();
    }
  }, 60_000);
});

describe('user regexes run in linear time (RE2)', () => {
  const LONG = `API E${'rror '.repeat(20_000)}`;
  const catastrophic: [string, string][] = [
    ['API E(.*.*)*Z', LONG],
    ['(a+)+$', `${'a'.repeat(32)}!`],
    ['(a|aa)+$', `${'a'.repeat(40)}!`],
    ['(.*a){12}', 'a'.repeat(30)],
  ];

  test.each(catastrophic)('a silence %s matches %# in time, and the listener stays responsive', async (re, text) => {
    const { plugin, url } = await start();
    const res = await fetch(url('/silences'), {
      method: 'POST',
      headers: json,
      body: silence({ matchers: [{ name: 'endpoint', value: re, isRegex: true }] }),
    });
    expect(res.status).toBe(201);
    const started = performance.now();
    plugin.dispatcher.receive({
      labels: { alertname: 'API Error Rate High', endpoint: text },
      value: 1,
      status: 'firing',
      startsAt: Date.now(),
    });
    const alerts = (await (await fetch(url('/alerts'), { headers: auth })).json()) as unknown[];
    expect(alerts).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  test('a pattern RE2 refuses is a 400 naming the matcher; in a route it is a config error', async () => {
    const { url } = await start();
    for (const value of ['(a)\\1', 'a(?=b)', '(?<!x)y']) {
      const res = await fetch(url('/silences'), {
        method: 'POST',
        headers: json,
        body: silence({ matchers: [{ name: 'endpoint', value, isRegex: true }] }),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        issues: [{ path: 'matchers.0.value', message: expect.stringContaining('matcher "endpoint"') }],
      });
    }
    const dir = mkdtempSync(join(tmpdir(), 'obs-alerts-re2-'));
    const file = join(dir, 'app.toml');
    writeFileSync(file, `[monitoring.alerts]\n\n[[monitoring.alerts.routes]]\nmatchers = ['endpoint=~"(a)\\\\1"']\n`);
    let thrown: unknown;
    try {
      loadConfig({ file, env: {}, plugins: [alertsPlugin()] });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ObsConfigError);
    expect((thrown as ObsConfigError).issues).toMatchObject([
      { path: 'monitoring.alerts.routes.0.matchers.0', file, line: 4, message: expect.stringContaining('RE2') },
    ]);
    expect(() =>
      createDispatcher({
        notify: () => {},
        inhibitRules: [{ source: [{ name: 'a', value: '(x)\\1', isRegex: true }], target: [], equal: [] }],
      }),
    ).toThrow(ObsConfigError);
  });
});
