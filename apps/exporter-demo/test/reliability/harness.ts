// The reliability suite's tools: the demo on ephemeral ports, raw HTTP, latencies, RSS, and the figures file
// that docs/reliability.md is regenerated from (`pnpm --filter exporter-demo reliability:report`).
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { availableParallelism, platform, release } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { waitUntil } from '@obs/testing';
import { parse, stringify } from 'yaml';
import { type Demo, file, startDemo } from '../demo-process.ts';

export { dir, file } from '../demo-process.ts';

/** Where each test file writes its figures (`<file>.json`); the folder ignores itself in git. */
export const FIGURES_DIR = join(import.meta.dirname, '../../.reliability');

/** Merges `figures` under `key` into `.reliability/<suite>.json`. */
export async function record(suite: string, key: string, figures: Record<string, unknown>): Promise<void> {
  await mkdir(FIGURES_DIR, { recursive: true });
  await writeFile(join(FIGURES_DIR, '.gitignore'), '*\n');
  const path = join(FIGURES_DIR, `${basename(suite).replace(/\.test\.ts$/, '')}.json`);
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch {}
  all[key] = { ...figures, measuredAt: new Date().toISOString() };
  all['_machine'] = { node: process.version, cpus: availableParallelism(), platform: `${platform()} ${release()}` };
  await writeFile(path, `${JSON.stringify(all, null, 2)}\n`);
}

/** A demo that is serving, with the URLs of both listeners (port 0: read back from its log). */
export interface ServingDemo extends Demo {
  readonly metrics: URL;
  readonly health: URL;
  /** SIGTERM, then how long the exit took (ms) and the exit code. */
  terminate(): Promise<{ ms: number; code: number | null }>;
}

/** The `[monitoring]` head every config of the suite starts with: loopback, ephemeral ports. */
export const PORTS = '[monitoring]\nmetrics_port = 0\nhealth_port = 0\nhost = "127.0.0.1"\n';

/** Starts the demo with `toml` as its config (written to the test folder) and waits until it serves. */
export async function serve(
  name: string,
  toml: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<ServingDemo> {
  const demo = startDemo(name, ['--config', file(`${name}.toml`, toml), ...args], env);
  await demo.waitFor('exporter-demo: metrics on ');
  const m = /metrics on (http:\S+?), health on (http:\S+)/.exec(demo.stderr());
  if (m === null) throw new Error(`no listener URLs in the log:\n${demo.stderr()}`);
  return Object.assign(demo, {
    metrics: new URL('/', m[1]),
    health: new URL('/', m[2]),
    async terminate() {
      const sent = performance.now();
      demo.child.kill('SIGTERM');
      const { code, at } = await demo.exited;
      return { ms: Math.round(at - sent), code };
    },
  });
}

/** Resident set size of a process in MB (Linux /proc). */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/** p50, p99 and max of `ms`, rounded to 0.1 ms. */
export function latencies(ms: number[]): { n: number; p50: number; p99: number; max: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
  const r = (x: number): number => Math.round(x * 10) / 10;
  return { n: sorted.length, p50: r(at(0.5)), p99: r(at(0.99)), max: r(sorted.at(-1) ?? Number.NaN) };
}

/** Fetches `url` and returns its status and how long it took, body read. */
export async function timedFetch(url: URL, init: RequestInit = {}): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - started };
}

/** Calls `probe` every `everyMs` until `until` settles; returns each call's latency. */
export async function sampleWhile(
  until: Promise<unknown>,
  probe: () => Promise<{ ms: number; status: number }>,
  everyMs = 20,
): Promise<{ ms: number[]; statuses: number[] }> {
  let done = false;
  void until.finally(() => {
    done = true;
  });
  const ms: number[] = [];
  const statuses: number[] = [];
  while (!done) {
    const r = await probe();
    ms.push(r.ms);
    statuses.push(r.status);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return { ms, statuses };
}

/** What the server answers to the bytes `send` writes on a bare socket, up to its close (or `timeoutMs`). */
export function rawExchange(
  base: URL,
  send: (write: (text: string) => void) => void,
  timeoutMs = 15_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: base.hostname, port: Number(base.port) });
    let text = '';
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
    });
    socket.once('close', () => resolve(text));
    socket.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve(text) : reject(err)));
    socket.once('connect', () => send((t) => socket.write(t)));
  });
}

/** One request with the path sent byte for byte (fetch would normalize it); status and body. */
export async function rawRequest(
  base: URL,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${base.host}`, 'Connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  const text = await rawExchange(base, (write) => write(`${lines.join('\r\n')}\r\n\r\n`));
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  return { status, body: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` at once. */
export async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

const alertsDir = dirname(createRequire(import.meta.url).resolve('@obs/alerts/package.json'));

/**
 * The seed's "API Error Rate High" as shipped, its windows scaled down (5m -> 10s, for 5m -> 2s), as cli.test.ts
 * does: with `--api-outage` it fires within seconds.
 */
export function fastRulesFile(name = 'fast-rules.yml'): string {
  const seed = parse(readFileSync(join(alertsDir, 'rules/seed.yml'), 'utf8')) as {
    alerts: { name: string; condition: string; duration?: string }[];
  };
  const rule = seed.alerts.find((r) => r.name === 'API Error Rate High');
  if (rule === undefined) throw new Error('the seed has no "API Error Rate High"');
  return file(
    name,
    stringify({ alerts: [{ ...rule, condition: rule.condition.replace('[5m]', '[10s]'), duration: '2s' }] }),
  );
}

/** Fast sampling, evaluation and grouping, for a demo whose alert must fire and notify quickly. */
export function fastAlertEnv(rules: string): Record<string, string> {
  return {
    MONITORING_PROMETHEUS_COLLECT_INTERVAL: '500ms',
    MONITORING_ALERTS_EVALUATION_INTERVAL: '500ms',
    MONITORING_ALERTS_RULES_FILE: rules,
    MONITORING_ALERTS_GROUP_WAIT: '1s',
    MONITORING_ALERTS_GROUP_INTERVAL: '2s',
  };
}

/** Polls `check` every 100 ms until it returns true, for at most `timeoutMs` (@obs/testing's waitUntil). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  await waitUntil(check, { what, timeoutMs, intervalMs: 100 });
}

/** The number of sample lines (series) in a Prometheus text exposition. */
export function seriesCount(text: string): number {
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
}
