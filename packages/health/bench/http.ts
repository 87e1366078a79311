// The HTTP benchmarks: /health under autocannon against a bare express JSON route, and /health latency with
// one hanging check. Everything runs on 127.0.0.1 with ephemeral ports, bounded in time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMonitor, type Monitor, silentLogger } from '@obs/core';
import { listenLoopback } from '@obs/testing';
import autocannon from 'autocannon';
import express from 'express';
import {
  apiConnectivityCheck,
  authStatusCheck,
  cacheCheck,
  databaseCheck,
  diskSpaceCheck,
  healthPlugin,
  memoryCheck,
} from '../src/index.ts';

interface Load {
  readonly rps: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly non2xx: number;
  readonly errors: number;
}

async function load(url: URL, seconds: number, connections = 10): Promise<Load> {
  const result = await autocannon({ url: url.href, connections, duration: seconds, pipelining: 1 });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
};

async function listen(app: express.Express): Promise<{ url: URL; close(): Promise<void> }> {
  const server = await listenLoopback(app);
  return { url: server.url, close: () => server.close() };
}

/** /health with the six built-in checks, results cached, against a bare express route answering the same JSON. */
async function throughput(rounds: number, seconds: number): Promise<boolean> {
  const api = await listenLoopback((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
  });
  const dir = mkdtempSync(join(tmpdir(), 'obs-health-bench-'));
  const monitor: Monitor = createMonitor({
    config: { metrics_port: 0, health_port: 0, host: '127.0.0.1' },
    logger: silentLogger,
    plugins: [
      healthPlugin({
        checks: [
          apiConnectivityCheck({ url: api.url, label: 'Trakt API' }),
          authStatusCheck({ token: () => ({ expiresAt: Date.now() + 8_100_000 }) }),
          databaseCheck({ ping: async () => {} }),
          cacheCheck(),
          diskSpaceCheck({ path: dir, minFreeBytes: 0, minFreePercent: 0, warnFreeBytes: 0, warnFreePercent: 0 }),
          memoryCheck(),
        ],
      }),
    ],
  });
  await monitor.start();
  monitor.updateCacheStats(0.847, 1.2 * 1024 * 1024, 456);
  const healthUrl = new URL('/health', monitor.url('health'));
  const sample = await (await fetch(new URL('/health?refresh', healthUrl))).json();
  const app = express();
  app.disable('x-powered-by');
  app.get('/health', (_req, res) => {
    res.json(sample);
  });
  const bare = await listen(app);
  const bareUrl = new URL('/health', bare.url);
  await load(bareUrl, 1);
  await load(healthUrl, 1);
  const base: number[] = [];
  const cand: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // Alternate which goes first, so neither always runs on a warmer or cooler machine.
    if (round % 2 === 0) {
      base.push((await load(bareUrl, seconds)).rps);
      cand.push((await load(healthUrl, seconds)).rps);
    } else {
      cand.push((await load(healthUrl, seconds)).rps);
      base.push((await load(bareUrl, seconds)).rps);
    }
  }
  await monitor.stop();
  await bare.close();
  await api.close();
  rmSync(dir, { recursive: true, force: true });
  const ratio = median(cand) / median(base);
  const ok = ratio >= 0.9;
  console.log(
    `${'GET /health, 6 checks cached'.padEnd(40)} express ${median(base).toFixed(0)} req/s`.padEnd(72) +
      `@obs/health ${median(cand).toFixed(0)} req/s   ${ratio.toFixed(2)}x   >= 0.9x ${ok ? 'ok' : 'MISSED'}`,
  );
  console.log(
    `  rounds (req/s): express ${base.map((n) => n.toFixed(0)).join(' ')}; health ${cand.map((n) => n.toFixed(0)).join(' ')}`,
  );
  return ok;
}

/** /health?refresh while one check hangs (until its signal aborts): every answer must come within its timeout plus a margin. */
async function hanging(seconds: number): Promise<boolean> {
  const timeoutMs = 500;
  const marginMs = 150;
  const monitor = createMonitor({
    config: { metrics_port: 0, health_port: 0, host: '127.0.0.1', health: { timeout: `${timeoutMs}ms` } },
    logger: silentLogger,
    plugins: [
      healthPlugin({
        checks: [
          { name: 'fast', check: () => ({ status: 'healthy' }) },
          {
            name: 'hangs',
            critical: false,
            check: ({ signal }) =>
              new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
          },
        ],
      }),
    ],
  });
  await monitor.start();
  const refresh = await load(new URL('/health?refresh', monitor.url('health')), seconds);
  const cached = await load(new URL('/health', monitor.url('health')), seconds);
  await monitor.stop();
  const ok = refresh.max <= timeoutMs + marginMs && refresh.errors === 0 && refresh.non2xx === 0;
  const row = (name: string, l: Load) =>
    `${name.padEnd(40)} p50 ${l.p50}ms  p90 ${l.p90}ms  p99 ${l.p99}ms  max ${l.max}ms  (${l.rps.toFixed(0)} req/s)`;
  console.log(
    `${row('GET /health?refresh, 1 check hanging', refresh)}   max <= ${timeoutMs + marginMs}ms ${ok ? 'ok' : 'MISSED'}`,
  );
  console.log(row('GET /health (cached), 1 check hanging', cached));
  return ok;
}

/** Runs both HTTP benchmarks; false when a target is missed. */
export async function runHttpBenchmarks(): Promise<boolean> {
  console.log('\n@obs/health over HTTP (autocannon on loopback, 10 connections)');
  const a = await throughput(5, 3);
  const b = await hanging(4);
  return a && b;
}
