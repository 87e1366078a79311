import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenLoopback, readBody } from '@obs/testing';
import { describe, expect, test } from 'vitest';
import { SEED_ENV } from './seed-env.ts';

const bin = join(import.meta.dirname, '../dist/main.js');
const dir = mkdtempSync(join(tmpdir(), 'demo-tracing-'));
const config = join(dir, 'demo.toml');
writeFileSync(config, '[monitoring]\nmetrics_port = 0\nhealth_port = 0\nhost = "127.0.0.1"\n');

interface Received {
  readonly path: string;
  readonly type: string;
  readonly body: string;
}

async function runOnceSendingTo(
  endpoint: (base: URL) => string,
  env: Record<string, string> = {},
): Promise<Received[]> {
  const received: Received[] = [];
  await using collector = await listenLoopback(async (req, res) => {
    received.push({ path: req.url ?? '', type: req.headers['content-type'] ?? '', body: await readBody(req) });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  const child = spawn(process.execPath, [bin, '--once', '--config', config, '--export-dir', join(dir, 'out')], {
    stdio: 'ignore',
    env: {
      ...process.env,
      ...SEED_ENV,
      MONITORING_TRACING_ENDPOINT: endpoint(collector.url),
      MONITORING_TRACING_SAMPLE_RATE: '1',
      ...env,
    },
  });
  expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(0);
  return received;
}

describe('the demo sends its traces where tracing is configured', () => {
  test('OTLP: every API call and the export run, flushed before a --once run exits', async () => {
    const received = await runOnceSendingTo((base) => new URL('/v1/traces', base).href, {
      MONITORING_TRACING_OTLP_PROTOCOL: 'http/json',
    });
    expect(received.length).toBeGreaterThan(0);
    expect(received.every((r) => r.path === '/v1/traces' && r.type.startsWith('application/json'))).toBe(true);
    const names = new Set<string>();
    let service = '';
    for (const r of received) {
      const body = JSON.parse(r.body) as {
        resourceSpans: {
          resource: { attributes: { key: string; value: { stringValue?: string } }[] };
          scopeSpans: { spans: { name: string }[] }[];
        }[];
      };
      for (const rs of body.resourceSpans) {
        service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? service;
        for (const ss of rs.scopeSpans) for (const span of ss.spans) names.add(span.name);
      }
    }
    expect(service).toBe('export-trakt-4-letterboxd');
    expect(names).toContain('export.run');
    for (const name of ['api.watched_movies', 'api.history', 'api.ratings', 'api.watchlist'])
      expect(names).toContain(name);
  });

  test("Jaeger: the seed's /api/traces endpoint gets thrift", async () => {
    const received = await runOnceSendingTo((base) => new URL('/api/traces', base).href);
    expect(received.length).toBeGreaterThan(0);
    expect(received.every((r) => r.path.startsWith('/api/traces') && r.type.includes('thrift'))).toBe(true);
  });
});
