import { createMonitor, silentLogger } from '@obs/core';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { alertsPlugin } from '../../src/index.ts';

afterEach(() => {
  vi.useRealTimers();
});

const TOKEN = 'test-token-123456';

async function start() {
  const plugin = alertsPlugin({
    rules: [{ name: 'High', expr: 'errors > 0.1', severity: 'warning' }],
    notifications: { log: false },
  });
  const monitor = createMonitor({
    config: {
      metrics_port: 0,
      health_port: 0,
      host: '127.0.0.1',
      auth: { health: { bearer_token: TOKEN } },
    },
    plugins: [plugin],
    logger: silentLogger,
  });
  await monitor.start();
  return { plugin, monitor, base: monitor.url('health') };
}

const auth = { authorization: `Bearer ${TOKEN}` };
const json = { ...auth, 'content-type': 'application/json' };

describe('/alerts and /silences on the health listener', () => {
  test('need the listener’s auth', async () => {
    const { monitor, base } = await start();
    try {
      for (const path of ['/alerts', '/silences']) expect((await fetch(new URL(path, base))).status).toBe(401);
    } finally {
      await monitor.stop();
    }
  });

  test('create, list, expire a silence; list alerts with their silenced state', async () => {
    const { monitor, base, plugin } = await start();
    try {
      plugin.engine.store?.ingest(Date.now(), [{ name: 'errors', labels: { endpoint: '/a' }, value: 1 }]);
      plugin.engine.evaluate(Date.now());
      const post = await fetch(new URL('/silences', base), {
        method: 'POST',
        headers: json,
        body: JSON.stringify({
          matchers: [{ name: 'endpoint', value: '/a' }],
          endsAt: new Date(Date.now() + 3_600_000).toISOString(),
          createdBy: 'ops',
          comment: 'deploy',
        }),
      });
      expect(post.status).toBe(201);
      const { silenceID } = (await post.json()) as { silenceID: string };
      const list = (await (await fetch(new URL('/silences', base), { headers: auth })).json()) as unknown[];
      expect(list).toMatchObject([
        {
          id: silenceID,
          matchers: [{ name: 'endpoint', value: '/a', isRegex: false, isEqual: true }],
          status: { state: 'active' },
        },
      ]);
      const alerts = (await (await fetch(new URL('/alerts', base), { headers: auth })).json()) as unknown[];
      expect(alerts).toMatchObject([
        { labels: { alertname: 'High', endpoint: '/a' }, status: { state: 'suppressed' } },
      ]);
      const del = await fetch(new URL(`/silences/${silenceID}`, base), { method: 'DELETE', headers: auth });
      expect(del.status).toBe(200);
      const again = await fetch(new URL(`/silences/${silenceID}`, base), { method: 'DELETE', headers: auth });
      expect(again.status).toBe(404);
      const after = (await (await fetch(new URL('/alerts', base), { headers: auth })).json()) as unknown[];
      expect(after).toMatchObject([{ status: { state: 'active' } }]);
      expect(plugin.dispatcher.silences()).toMatchObject([{ id: silenceID, state: 'expired' }]);
    } finally {
      await monitor.stop();
    }
  });

  test('a bad silence is a 400 listing the issues; bad JSON is a 400', async () => {
    const { monitor, base } = await start();
    try {
      const bad = await fetch(new URL('/silences', base), {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ matchers: [], endsAt: 'never' }),
      });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual([
        'matchers',
        'endsAt',
      ]);
      const junk = await fetch(new URL('/silences', base), { method: 'POST', headers: json, body: '{' });
      expect(junk.status).toBe(400);
      const put = await fetch(new URL('/alerts', base), {
        method: 'PUT',
        headers: json,
        body: '{}',
      });
      expect(put.status).toBe(405);
    } finally {
      await monitor.stop();
    }
  });
});
