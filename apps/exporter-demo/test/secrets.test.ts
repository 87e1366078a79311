import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, listenLoopback, readBody, waitUntil } from '@obs/testing';
import { describe, expect, test } from 'vitest';
import { dir, file, startDemo } from './demo-process.ts';

// Issue #19: no secret of the config may appear on any channel the demo writes to or serves.
const SECRETS = ['PgPass-77', 'QTOK-5', 'WEBHOOK-SECRET-9', 'SMTP-PASS-3', 'HEALTH-BEARER-1', 'TrPass-555', 'otlpuser'];

function expectNoSecret(where: string, text: string): void {
  for (const secret of SECRETS) expect(text.includes(secret), `${secret} in ${where}`).toBe(false);
}

function filesUnder(root: string): string[] {
  return readdirSync(root).flatMap((name) => {
    const path = join(root, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

async function secretConfig(name: string, tracing: string): Promise<string> {
  const [metricsPort, healthPort, closed] = [await freePort(), await freePort(), await freePort()];
  return file(
    `${name}.toml`,
    [
      '[monitoring]',
      `metrics_port = ${metricsPort}`,
      `health_port = ${healthPort}`,
      'host = "127.0.0.1"',
      '[monitoring.prometheus]',
      `pushgateway_url = "http://pg:PgPass-77@127.0.0.1:${closed}/?token=QTOK-5"`,
      '[monitoring.tracing]',
      'sample_rate = 1',
      tracing,
      '[monitoring.alerts]',
      `webhook_url = "http://127.0.0.1:${closed}/hook/WEBHOOK-SECRET-9"`,
      'smtp_host = "127.0.0.1"',
      `smtp_port = ${closed}`,
      'smtp_user = "mailer"',
      'smtp_password = "SMTP-PASS-3"',
      'email_from = "a@example.com"',
      'email_to = ["b@example.com"]',
      '[monitoring.auth.health]',
      'bearer_token = "HEALTH-BEARER-1"',
      '',
    ].join('\n'),
  );
}

const ports = (toml: string): { metrics: URL; health: URL } => ({
  metrics: new URL(`http://127.0.0.1:${/metrics_port = (\d+)/.exec(toml)![1]}/`),
  health: new URL(`http://127.0.0.1:${/health_port = (\d+)/.exec(toml)![1]}/`),
});

describe('issue #19: secrets never leave the demo', () => {
  test('stdout, stderr (debug), /metrics, /health, /traces, /dashboards, /alerts, /silences and the stack files', async () => {
    const config = await secretConfig('secrets', 'endpoint = ""');
    const { metrics, health } = ports(readFileSync(config, 'utf8'));
    const served: string[] = [];
    {
      await using demo = startDemo('secrets', ['--config', config, '--interval', '300ms', '--log-level', 'debug'], {
        MONITORING_PROMETHEUS_PUSH_INTERVAL: '200ms',
      });
      await demo.waitFor('export #2 done');
      const auth = { authorization: 'Bearer HEALTH-BEARER-1' };
      for (const url of [
        new URL('/metrics', metrics),
        new URL('/traces?limit=1000', metrics),
        new URL('/dashboards', metrics),
        new URL('/health?refresh', health),
        new URL('/readyz?verbose', health),
        new URL('/alerts', health),
        new URL('/silences', health),
      ]) {
        const res = await fetch(url, { headers: auth });
        served.push(`${url.pathname} ${res.status}`);
        expectNoSecret(url.pathname, await res.text());
      }
      const index = (await (await fetch(new URL('/dashboards', metrics))).json()) as unknown;
      for (const uid of JSON.stringify(index).match(/[\w-]+\.json/g) ?? []) {
        expectNoSecret(uid, await (await fetch(new URL(`/dashboards/${uid}`, metrics))).text());
      }
      demo.child.kill('SIGTERM');
      await demo.exited;
      expectNoSecret('stdout', demo.stdout());
      expectNoSecret('stderr', demo.stderr());
      // The log really spoke of the config and of the gateway (so the check is not vacuous).
      expect(demo.stderr()).toContain('@obs: starting');
      expect(demo.stderr()).toContain('cannot push to http://127.0.0.1:');
    }
    expect(served.filter((s) => !s.endsWith(' 200'))).toEqual([]);
    // `pnpm stack`: the compose stack generated from the same config.
    const out = join(dir, 'stack');
    const stack = spawnSync(
      process.execPath,
      [join(import.meta.dirname, '../dist/stack.js'), '--config', config, '--out', out],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(stack.status).toBe(0);
    expectNoSecret('stack output', `${stack.stdout}${stack.stderr}`);
    for (const path of filesUnder(out)) expectNoSecret(path, readFileSync(path, 'utf8'));
  }, 90_000);

  test('a tracing endpoint with userinfo: spans reach the collector, the credentials are not printed', async () => {
    const received: string[] = [];
    await using collector = await listenLoopback(async (req, res) => {
      await readBody(req);
      received.push(req.headers.authorization ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    const config = await secretConfig(
      'otlp-secrets',
      `endpoint = "http://otlpuser:TrPass-555@127.0.0.1:${collector.port}/v1/traces"\nscheduled_delay = "100ms"`,
    );
    await using demo = startDemo('otlp-secrets', ['--config', config, '--interval', '300ms', '--log-level', 'debug']);
    await demo.waitFor('export #1 done');
    await waitUntil(() => received.length > 0, { what: 'the collector to receive an export', timeoutMs: 5_000 });
    expect(received[0]).toBe(`Basic ${Buffer.from('otlpuser:TrPass-555').toString('base64')}`);
    demo.child.kill('SIGTERM');
    await demo.exited;
    expectNoSecret('stderr', demo.stderr());
    expectNoSecret('stdout', demo.stdout());
  }, 60_000);

  test('config errors quoting a URL do not print its credentials', async () => {
    await using demo = startDemo('bad-url', [
      '--once',
      '--config',
      file(
        'bad-url.toml',
        '[monitoring]\nmetrics_port = 0\nhealth_port = 0\n[monitoring.tracing]\nendpoint = "ftp://otlpuser:TrPass-555@collector:4318"\n[monitoring.prometheus]\npushgateway_url = "ftp://pg:PgPass-77@gw:9091"\n',
      ),
    ]);
    const { code } = await demo.exited;
    expect(code).toBe(2);
    expect(demo.stderr()).toContain('monitoring.tracing.endpoint: must be an http:// or https:// URL');
    expectNoSecret('stderr', demo.stderr());
  });
});
