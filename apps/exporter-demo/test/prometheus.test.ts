import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debianTool, freePort, type RunningPrometheus, startPrometheus, startTool, waitUntil } from '@obs/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { listenerUrl, stopDemo, untilLogged } from './listeners.ts';
import { SEED_ENV } from './seed-env.ts';

const bin = join(import.meta.dirname, '../dist/main.js');
const prometheus = debianTool('prometheus');
const dir = mkdtempSync(join(tmpdir(), 'demo-prometheus-'));
let demo: ChildProcess | undefined;
let server: RunningPrometheus | undefined;
let metricsUrl = '';
let promUrl = '';
let demoLog = '';

async function query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as {
    status: string;
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  return body.data.result;
}

beforeAll(async () => {
  if (prometheus === undefined) return;
  // Port 0: the demo binds a free port itself and logs it (a port found free beforehand can be taken meanwhile).
  const config = join(dir, 'demo.toml');
  writeFileSync(config, '[monitoring]\nmetrics_port = 0\nhealth_port = 0\nhost = "127.0.0.1"\n');
  // One export, then a long wait: the values stay put while Prometheus scrapes them.
  demo = spawn(process.execPath, [bin, '--config', config, '--interval', '1h', '--export-dir', join(dir, 'out')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...SEED_ENV },
  });
  demo.stderr?.on('data', (d: Buffer) => {
    demoLog += d.toString();
  });
  await untilLogged(
    demo,
    () => demoLog,
    'the first export',
    (log) => log.includes('export #1 done'),
  );
  const metrics = listenerUrl(demoLog, 'metrics');
  metricsUrl = new URL('/metrics', metrics).href;

  server = await startPrometheus(prometheus, {
    dir,
    targets: [metrics.host],
    job: 'exporter-demo',
    flags: ['--enable-feature=exemplar-storage'],
  });
  promUrl = server.url;
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await stopDemo(demo);
});

describe.skipIf(prometheus === undefined)('the real Prometheus scraping the demo', () => {
  test('reads back the seed metrics with the values the job produced', async () => {
    const up = await waitUntil(
      async () => {
        const found = await query('trakt_export_items_total{type="movies",status="success"}');
        return found.length > 0 ? found : undefined;
      },
      { what: 'Prometheus to scrape the first export', timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(up).toHaveLength(1);
    expect(up[0]!.metric).toMatchObject({ job: 'exporter-demo', type: 'movies', status: 'success' });
    expect(up[0]!.value[1]).toBe('600');

    const exposed = await (await fetch(metricsUrl)).text();
    const ours = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(exposed)?.[1]);
    const history = await query('sum(trakt_api_requests_total{endpoint="history",status="200"})');
    expect(Number(history[0]!.value[1])).toBe(ours('trakt_api_requests_total\\{endpoint="history",status="200"\\}'));
    expect(Number(history[0]!.value[1])).toBeGreaterThanOrEqual(12);
    const errors = await query('trakt_export_operations_total{status="error"}');
    expect(errors.map((r) => r.metric['type']).sort()).toEqual(['movies', 'ratings', 'watchlist']);
    expect(errors.every((r) => r.value[1] === '0')).toBe(true);
    const hitRatio = await query('trakt_cache_hit_ratio');
    expect(Number(hitRatio[0]!.value[1])).toBe(ours('trakt_cache_hit_ratio'));
    const buckets = await query('trakt_api_duration_seconds_bucket{endpoint="watched_movies",le="+Inf"}');
    expect(Number(buckets[0]!.value[1])).toBeGreaterThanOrEqual(1);
    const memory = await query('trakt_system_memory_bytes{type="rss"}');
    expect(Number(memory[0]!.value[1])).toBeGreaterThan(10_000_000);
    const scrapes = await query('up{job="exporter-demo"}');
    expect(scrapes[0]!.value[1]).toBe('1');
  });
});

const pushgateway = debianTool('prometheus-pushgateway');

describe.skipIf(pushgateway === undefined)('a --once batch run with a Pushgateway', () => {
  test('pushes its final metrics when it exits', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    await using _gateway = await startTool(
      pushgateway!,
      // Debian's build persists to /var/lib/prometheus/pushgateway.data by default, shared by every gateway started.
      [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file='],
      async () => (await fetch(`${url}/-/ready`)).ok,
    );
    const config = join(dir, 'push.toml');
    writeFileSync(
      config,
      `[monitoring]\nmetrics_port = 0\nhealth_port = 0\nhost = "127.0.0.1"\n[monitoring.prometheus]\npushgateway_url = "${url}"\npush_instance = "nightly"\n`,
    );
    const run = spawn(process.execPath, [bin, '--once', '--config', config, '--export-dir', join(dir, 'push-out')], {
      stdio: 'ignore',
      env: { ...process.env, ...SEED_ENV, MONITORING_PROMETHEUS_PUSH_JOB: 'export-trakt-4-letterboxd' },
    });
    expect(await new Promise((resolve) => run.once('exit', resolve))).toBe(0);
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toContain(
      'trakt_export_items_total{instance="nightly",job="export-trakt-4-letterboxd",status="success",type="movies"} 600',
    );
  });
});
