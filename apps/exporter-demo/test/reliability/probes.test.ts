// Issue #19, the attacker's view: the probes of the issue, run again against the real demo process (its health
// and metrics listeners), with the figures recorded for docs/reliability.md.
import { watch } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  dir,
  fastAlertEnv,
  fastRulesFile,
  latencies,
  PORTS,
  pool,
  rawExchange,
  rawRequest,
  record,
  rssMb,
  type ServingDemo,
  sampleWhile,
  seriesCount,
  serve,
  timedFetch,
  until,
} from './harness.ts';

const TOKEN = 'probe-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const json = { ...auth, 'content-type': 'application/json' };
const HOUR = 3_600_000;
const fig = (key: string, figures: Record<string, unknown>) => record(import.meta.filename, key, figures);

function silence(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    matchers: [{ name: 'alertname', value: 'API Error Rate High' }],
    endsAt: new Date(Date.now() + HOUR).toISOString(),
    createdBy: 'ops',
    comment: 'probe',
    ...extra,
  });
}

// One demo for every probe: health auth set (as an operator who exposes it would), short header timeout (so
// slow headers are cut in seconds), a state file, and an API outage so that "API Error Rate High" fires.
let demo: ServingDemo;
const stateDir = `${dir}/probe-state`;
const stateFile = `${stateDir}/alerts-state.json`;

beforeAll(async () => {
  const { mkdirSync } = await import('node:fs');
  mkdirSync(stateDir, { recursive: true });
  demo = await serve(
    'probes',
    `${PORTS}headers_timeout = "2s"\nrequest_timeout = "5s"\n[monitoring.auth.health]\nbearer_token = "${TOKEN}"\n[monitoring.alerts]\nstate_file = "${stateFile}"\n`,
    ['--api-outage', '120s', '--interval', '500ms'],
    fastAlertEnv(fastRulesFile('probe-rules.yml')),
  );
}, 30_000);

afterAll(async () => {
  if (demo !== undefined) await demo[Symbol.asyncDispose]();
});

const url = (path: string, base: 'health' | 'metrics' = 'health') => new URL(path, demo[base]);
// Alertmanager's API shape: { id, status: { state } }.
const silences = async (): Promise<{ id: string; state: string }[]> =>
  (
    (await (await fetch(url('/silences'), { headers: auth })).json()) as { id: string; status: { state: string } }[]
  ).map((s) => ({ id: s.id, state: s.status.state }));

describe('issue #19 probes against the demo: nobody can mute the alerts', () => {
  test('a cross-origin text/plain POST /silences and an unauthenticated DELETE are refused', async () => {
    const attack = JSON.stringify({
      matchers: [{ name: 'alertname', value: '.*', isRegex: true }],
      endsAt: '9999-12-31T00:00:00Z',
    });
    const posts: Record<string, string>[] = [
      { 'content-type': 'text/plain', origin: 'http://evil.example' },
      { 'content-type': 'text/plain' },
      { ...auth, 'content-type': 'text/plain', origin: 'http://evil.example' },
      { ...auth, 'content-type': 'text/plain' },
      { 'content-type': 'application/json' },
      { ...json, 'sec-fetch-site': 'cross-site' },
    ];
    const statuses: number[] = [];
    for (const headers of posts) {
      statuses.push((await fetch(url('/silences'), { method: 'POST', headers, body: attack })).status);
    }
    // A legitimate silence to try to delete.
    const created = await fetch(url('/silences'), { method: 'POST', headers: json, body: silence() });
    expect(created.status).toBe(201);
    const { silenceID } = (await created.json()) as { silenceID: string };
    const deletes: Record<string, string>[] = [
      {},
      { origin: 'http://evil.example' },
      { authorization: 'Bearer wrong' },
    ];
    for (const headers of deletes) {
      statuses.push((await fetch(url(`/silences/${silenceID}`), { method: 'DELETE', headers })).status);
    }
    statuses.push(
      (
        await fetch(url(`/silences/${silenceID}`), {
          method: 'DELETE',
          headers: { ...auth, origin: 'http://evil.example' },
        })
      ).status,
    );
    await fig('cross-origin-and-unauthenticated-writes', { attempts: statuses.length, statuses });
    for (const s of statuses) expect([401, 403, 415]).toContain(s);
    const listed = await silences();
    expect(listed.filter((s) => s.state !== 'expired').map((s) => s.id)).toEqual([silenceID]);
    expect((await fetch(url(`/silences/${silenceID}`), { method: 'DELETE', headers: auth })).status).toBe(200);
    expect((await silences()).find((s) => s.id === silenceID)?.state).toBe('expired');
  });

  test('with health auth set, /livez and /readyz still answer without credentials; /health asks for them', async () => {
    const livez = (await fetch(url('/livez'))).status;
    const readyz = (await fetch(url('/readyz'))).status;
    const health = (await fetch(url('/health'))).status;
    await fig('probes-without-auth', { livez, readyz, health });
    expect(livez).toBe(200);
    expect([200, 503]).toContain(readyz);
    expect(health).toBe(401);
  });

  test('a catastrophic silence regex (API E(.*.*)*Z) does not stall /livez while alerts are matched against it', async () => {
    const patterns = ['API E(.*.*)*Z', '(a|aa)+$', '(.*a){12}', '((A|P|I| |E|r|o)+)+Z'];
    for (const value of patterns) {
      const res = await fetch(url('/silences'), {
        method: 'POST',
        headers: json,
        body: silence({ matchers: [{ name: 'alertname', value, isRegex: true }] }),
      });
      expect(res.status, value).toBe(201);
    }
    await demo.waitFor('alert "API Error Rate High" is firing');
    // Each GET /alerts matches every alert against every silence; /livez is timed meanwhile.
    const reads = (async () => {
      for (let i = 0; i < 60; i++) await (await fetch(url('/alerts'), { headers: auth })).arrayBuffer();
    })();
    const livez = await sampleWhile(reads, () => timedFetch(url('/livez')), 10);
    const stats = latencies(livez.ms);
    await fig('catastrophic-regex', { patterns, livezMs: stats, alertsReads: 60 });
    expect(livez.statuses.every((s) => s === 200)).toBe(true);
    expect(stats.max).toBeLessThan(1_000);
    const alerts = (await (await fetch(url('/alerts'), { headers: auth })).json()) as {
      labels: Record<string, string>;
    }[];
    expect(alerts.some((a) => a.labels['alertname'] === 'API Error Rate High')).toBe(true);
  }, 30_000);

  test('1,000 silence POSTs of 60 KB are refused, 1,000 more small ones stop at max_silences, memory stays bounded and state-file writes are coalesced', async () => {
    let writes = 0;
    const watcher = watch(stateDir, (_event, name) => {
      if (name === 'alerts-state.json') writes++;
    });
    try {
      const before = rssMb(demo.child.pid!);
      const big: Record<number, number> = {};
      const started = performance.now();
      await pool(1_000, 10, async () => {
        const res = await fetch(url('/silences'), {
          method: 'POST',
          headers: json,
          body: silence({ comment: 'x'.repeat(60_000) }),
        });
        await res.arrayBuffer();
        big[res.status] = (big[res.status] ?? 0) + 1;
      });
      const afterBig = rssMb(demo.child.pid!);
      const active = (await silences()).filter((s) => s.state !== 'expired').length;
      const small: Record<number, number> = {};
      let limitCode = '';
      await pool(1_000, 10, async () => {
        const res = await fetch(url('/silences'), {
          method: 'POST',
          headers: json,
          body: silence({ comment: 'y'.repeat(3_500) }),
        });
        const body = (await res.json()) as { code?: string };
        small[res.status] = (small[res.status] ?? 0) + 1;
        if (res.status === 400 && body.code !== undefined) limitCode = body.code;
      });
      const seconds = (performance.now() - started) / 1000;
      await new Promise((r) => setTimeout(r, 1_500)); // the coalesced write of the last batch
      const after = rssMb(demo.child.pid!);
      const figures = {
        posts: 2_000,
        seconds: Math.round(seconds * 10) / 10,
        statuses60KB: big,
        statuses3_5KB: small,
        activeBeforeSmall: active,
        limitCode,
        rssMb: { before, after60KB: afterBig, after },
        rssGrowthMb: Math.round((after - before) * 10) / 10,
        stateFileWriteEvents: writes,
      };
      await fig('silence-flood', figures);
      expect(big[400]).toBe(1_000);
      expect((small[201] ?? 0) + active).toBe(1_000);
      expect(limitCode).toBe('OBS_ERR_ALERTS_SILENCE_LIMIT');
      expect(after - before).toBeLessThan(100);
      expect(writes).toBeGreaterThan(0);
      expect(writes).toBeLessThan(200);
    } finally {
      watcher.close();
    }
  }, 90_000);
});

describe('issue #19 probes against the demo: client errors are 4xx, never a 500 or a file', () => {
  test('oversized headers get 431, an oversized body 413, slow headers 408', async () => {
    const results: Record<string, string> = {};
    for (const listener of ['health', 'metrics'] as const) {
      const big = await rawExchange(demo[listener], (write) =>
        write(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`),
      );
      results[`${listener} oversized headers`] = big.slice(0, 12);
      const started = performance.now();
      const slow = await rawExchange(demo[listener], (write) => write('GET /health HTTP/1.1\r\nHost: x\r\n'));
      results[`${listener} slow headers`] = `${slow.slice(0, 12)} after ${Math.round(performance.now() - started)}ms`;
    }
    const huge = await fetch(url('/silences'), {
      method: 'POST',
      headers: json,
      body: silence({ comment: 'x'.repeat(200 * 1024) }),
    });
    results['POST /silences 200 KiB'] = String(huge.status);
    await fig('oversized-and-slow', results);
    expect(results['health oversized headers']).toMatch(/^HTTP\/1\.1 431/);
    expect(results['metrics oversized headers']).toMatch(/^HTTP\/1\.1 431/);
    expect(results['health slow headers']).toMatch(/^HTTP\/1\.1 408/);
    expect(results['metrics slow headers']).toMatch(/^HTTP\/1\.1 408/);
    expect(huge.status).toBe(413);
  });

  test('malformed percent-encoding is a 400 (DELETE /silences/%E0%A4%A), never a 500', async () => {
    const del = await rawRequest(demo.health, 'DELETE', '/silences/%E0%A4%A', auth);
    const others = [
      await rawRequest(demo.health, 'GET', '/silences/%E0%A4%A', auth),
      await rawRequest(demo.health, 'GET', '/%E0%A4%A'),
      await rawRequest(demo.metrics, 'GET', '/dashboards/%E0%A4%A'),
      await rawRequest(demo.metrics, 'GET', '/traces/%ZZ'),
    ];
    await fig('malformed-percent-encoding', { delete: del.status, others: others.map((r) => r.status) });
    expect(del.status).toBe(400);
    for (const r of others) expect([400, 404]).toContain(r.status);
  });

  test('15 path-traversal variants on both listeners answer 404 or 400, never a file', async () => {
    const variants = [
      '/dashboards/../../../../etc/passwd',
      '/dashboards/..%2f..%2f..%2f..%2fetc%2fpasswd',
      '/dashboards/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      '/dashboards/%252e%252e%252fetc%252fpasswd',
      '/dashboards/..%5c..%5c..%5cetc%5cpasswd',
      '/dashboards/....//....//....//etc/passwd',
      '/dashboards/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd',
      '/dashboards/..%00/etc/passwd',
      '/dashboards/%2fetc%2fpasswd',
      '/dashboards//etc/passwd',
      '/dashboards/.%2e/.%2e/.%2e/package.json',
      '/dashboards/..;/..;/package.json',
      '/../../../../etc/passwd',
      '/static/../../config.toml',
      '/dashboards/..%2f..%2fconfig.toml',
    ];
    const statuses: Record<string, number[]> = {};
    for (const path of variants) {
      statuses[path] = [];
      for (const listener of ['health', 'metrics'] as const) {
        const r = await rawRequest(demo[listener], 'GET', path, auth);
        statuses[path].push(r.status);
        expect(r.body, path).not.toMatch(/root:.*:0:0:|"name": "exporter-demo"|\[monitoring\]/);
      }
    }
    await fig('path-traversal', { variants: variants.length, statuses });
    expect(variants).toHaveLength(15);
    for (const [path, s] of Object.entries(statuses))
      for (const status of s) expect([400, 404], path).toContain(status);
  });

  test('400 slowloris connections do not stop /health and /livez answering', async () => {
    const { connect } = await import('node:net');
    const sockets = Array.from({ length: 400 }, () => connect({ host: '127.0.0.1', port: Number(demo.health.port) }));
    let closedByServer = 0;
    let answered408 = 0;
    for (const s of sockets) {
      s.on('error', () => {});
      s.on('data', (c: Buffer) => {
        if (c.toString().startsWith('HTTP/1.1 408')) answered408++;
      });
      s.on('close', () => closedByServer++);
      s.on('connect', () => s.write('GET /health HTTP/1.1\r\nHost: x\r\n'));
    }
    // One more header line every 300 ms: never the end of the headers.
    const drip = setInterval(() => {
      for (const s of sockets) if (!s.destroyed) s.write(`X-Drip-${Math.random().toString(36).slice(2, 6)}: 1\r\n`);
    }, 300);
    try {
      const window = new Promise((r) => setTimeout(r, 1_800));
      const health = await sampleWhile(window, () => timedFetch(url('/health'), { headers: auth }), 20);
      const livez = await sampleWhile(new Promise((r) => setTimeout(r, 300)), () => timedFetch(url('/livez')), 20);
      await until(() => closedByServer === sockets.length, 10_000, 'the server to close the slow connections');
      const figures = {
        connections: sockets.length,
        healthMs: latencies(health.ms),
        livezMs: latencies(livez.ms),
        healthStatuses: [...new Set(health.statuses)],
        closedByServer,
        answered408,
      };
      await fig('slowloris', figures);
      expect(health.statuses.every((s) => s === 200 || s === 503)).toBe(true);
      expect(livez.statuses.every((s) => s === 200)).toBe(true);
      expect(figures.healthMs.p99).toBeLessThan(1_000);
    } finally {
      clearInterval(drip);
      for (const s of sockets) s.destroy();
    }
  }, 30_000);

  test('20,000 random paths do not grow the /metrics series past the cardinality limit', async () => {
    const scrape = async () => (await fetch(url('/metrics', 'metrics'))).text();
    const before = seriesCount(await scrape());
    const tokens: string[] = [];
    const statuses: Record<number, number> = {};
    const started = performance.now();
    await pool(20_000, 32, async (i) => {
      const token = `r${i.toString(36)}x${Math.random().toString(36).slice(2, 10)}`;
      if (i % 500 === 0) tokens.push(token);
      const listener = i % 2 === 0 ? 'health' : 'metrics';
      const res = await fetch(url(`/${token}/${i % 7 === 0 ? 'a/b' : 'c'}?q=${token}`, listener));
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    });
    const seconds = (performance.now() - started) / 1000;
    const text = await scrape();
    const after = seriesCount(text);
    await fig('random-paths', {
      requests: 20_000,
      seconds: Math.round(seconds * 10) / 10,
      statuses,
      seriesBefore: before,
      seriesAfter: after,
      cardinalityLimit: 2000,
    });
    for (const token of tokens) expect(text).not.toContain(token);
    // The job itself adds a few series as it runs; 20,000 distinct paths add none of theirs.
    expect(after - before).toBeLessThan(200);
  }, 90_000);
});
