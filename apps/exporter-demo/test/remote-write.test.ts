// The demo writes to a real Prometheus 2.42 with remote write (#21): a --once batch run, then a long run.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debianTool, type RunningPrometheus, startPrometheus } from '@obs/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SEED_ENV } from './seed-env.ts';

const bin = join(import.meta.dirname, '../dist/main.js');
const prometheus = debianTool('prometheus');
const dir = mkdtempSync(join(tmpdir(), 'demo-remote-write-'));
let server: RunningPrometheus | undefined;
let promUrl = '';

type Vector = { metric: Record<string, string>; value: [number, string] }[];
async function query(expr: string): Promise<Vector> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return ((await res.json()) as { data: { result: Vector } }).data.result;
}

function config(name: string, extra: string): string {
  const path = join(dir, `${name}.toml`);
  writeFileSync(
    path,
    [
      '[monitoring]',
      'metrics_port = 0',
      'health_port = 0',
      'host = "127.0.0.1"',
      '[monitoring.prometheus]',
      `remote_write_url = "${promUrl}/api/v1/write"`,
      `push_instance = "${name}"`,
      extra,
      '',
    ].join('\n'),
  );
  return path;
}

// Runs the demo; resolves with its stderr once `until` is seen in it (then stops it) or it exits.
function runDemo(args: string[], until?: string): Promise<{ code: number | null; log: string }> {
  const child = spawn(process.execPath, [bin, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...SEED_ENV },
  });
  let log = '';
  let signalled = false;
  child.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
    // One SIGTERM: a second one, while the demo stops, would end it at once (before the final flush).
    if (until !== undefined && !signalled && log.includes(until)) {
      signalled = true;
      child.kill('SIGTERM');
    }
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, log })));
}

// The items of one kind the demo logged for its export #n (`movies=600` in the log line's fields).
function logged(log: string, run: number, kind: string): number {
  const line = log.split('\n').find((l) => l.includes(`export #${run} done`)) ?? '';
  return Number(new RegExp(`"?${kind}"?[=:](\\d+)`).exec(line)?.[1]);
}

beforeAll(async () => {
  if (prometheus === undefined) return;
  server = await startPrometheus(prometheus, {
    dir,
    scrapeInterval: '1m',
    flags: ['--web.enable-remote-write-receiver'],
  });
  promUrl = server.url;
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(prometheus === undefined)('the demo writes to a real Prometheus with remote write', () => {
  test('--once: the batch run exits 0 and its final values are in Prometheus', async () => {
    const { code, log } = await runDemo([
      '--once',
      '--config',
      config('once', 'remote_write_interval = "1h"'),
      '--export-dir',
      join(dir, 'once'),
      '--seed',
      '7',
    ]);
    expect(log).toContain('export #1 done');
    expect(code).toBe(0);
    expect(log).not.toContain('OBS_ERR_METRICS_REMOTE_WRITE');
    const movies = logged(log, 1, 'movies');
    expect(movies).toBeGreaterThan(0);
    const items = await query('trakt_export_items_total{instance="once",type="movies",status="success"}');
    expect(items).toHaveLength(1);
    expect(Number(items[0]!.value[1])).toBe(movies);
    expect(items[0]!.metric['job']).toBeDefined();
    const ops = await query('trakt_export_operations_total{instance="once",type="movies"}');
    expect(Object.fromEntries(ops.map((r) => [r.metric['status'], r.value[1]]))).toEqual({ success: '1', error: '0' });
    // Every API call the demo made is counted, and Prometheus has the histogram too.
    const calls = await query('sum(trakt_api_requests_total{instance="once"})');
    const observed = await query('sum(trakt_api_duration_seconds_count{instance="once"})');
    expect(Number(calls[0]?.value[1])).toBeGreaterThan(0);
    expect(calls[0]?.value[1]).toBe(observed[0]?.value[1]);
  }, 90_000);

  test('a long run: each export shows up in Prometheus while the demo runs', async () => {
    const { log } = await runDemo(
      [
        '--config',
        config('long', 'collect_interval = "500ms"\nremote_write_interval = "500ms"'),
        '--interval',
        '1s',
        '--export-dir',
        join(dir, 'long'),
        '--seed',
        '7',
      ],
      'export #3 done',
    );
    expect(log).toContain('export #3 done');
    const ops = await query('trakt_export_operations_total{instance="long",type="movies",status="success"}');
    // The third export, recorded just before the stop, arrives with the final flush.
    expect(Number(ops[0]?.value[1])).toBeGreaterThanOrEqual(3);
    // Many collections arrived over the run, not only the final one.
    const points = await query(
      'count_over_time(trakt_export_operations_total{instance="long",type="movies",status="success"}[10m])',
    );
    expect(Number(points[0]?.value[1])).toBeGreaterThan(3);
    const sent = await query('obs_remote_write_samples_total{instance="long",outcome="sent"}');
    expect(Number(sent[0]?.value[1])).toBeGreaterThan(0);
  }, 120_000);
});
