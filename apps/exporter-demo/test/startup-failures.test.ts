import { createServer as createNetServer, type Server } from 'node:net';
import { listenLoopback, waitUntil } from '@obs/testing';
import { describe, expect, test } from 'vitest';
import { file, startDemo } from './demo-process.ts';

// Issue #19: a failed start used to leave the simulated API and the signal handlers running: the process never
// exited and then ignored SIGTERM. Every failure at start now ends the process at once, with a short message.
const ports = '[monitoring]\nmetrics_port = 0\nhealth_port = 0\nhost = "127.0.0.1"\n';

async function failedStart(name: string, toml: string) {
  await using demo = startDemo(name, ['--once', '--config', file(`${name}.toml`, toml)]);
  const started = performance.now();
  const { code, at } = await demo.exited;
  const stderr = demo.stderr();
  expect(stderr).not.toMatch(/\n\s+at /);
  return { code, ms: at - started, stderr };
}

describe('issue #19: every failure at start exits at once, with a code and a message naming the cause', () => {
  test('rules_file = "nope.yml": exit 2', async () => {
    const { code, ms, stderr } = await failedStart('nope', `${ports}[monitoring.alerts]\nrules_file = "nope.yml"\n`);
    expect(code).toBe(2);
    expect(ms).toBeLessThan(5_000);
    expect(stderr).toContain('nope.yml');
    expect(stderr).toMatch(/ENOENT|not found|no such file/);
  });

  test('bad PromQL in a rules file: exit 2, naming the rule file problem', async () => {
    const rules = file(
      'bad-promql.yml',
      'alerts:\n  - name: "Broken"\n    condition: "rate(trakt_api_requests_total[5m] >"\n    duration: "1m"\n    severity: "warning"\n',
    );
    const { code, ms, stderr } = await failedStart(
      'bad-promql',
      `${ports}[monitoring.alerts]\nrules_file = "${rules}"\n`,
    );
    expect(code).toBe(2);
    expect(ms).toBeLessThan(5_000);
    expect(stderr).toContain('Broken');
  });

  test('bad YAML in a rules file: exit 2', async () => {
    const rules = file('bad-yaml.yml', 'alerts: [ {name: "x", condition: \n  - :::\n');
    const { code, ms, stderr } = await failedStart(
      'bad-yaml',
      `${ports}[monitoring.alerts]\nrules_file = "${rules}"\n`,
    );
    expect(code).toBe(2);
    expect(ms).toBeLessThan(5_000);
    expect(stderr).toContain('bad-yaml.yml');
  });

  test('missing smtp_ca_file: exit 2, naming the key', async () => {
    const { code, ms, stderr } = await failedStart(
      'ca',
      `${ports}[monitoring.alerts]\nsmtp_host = "127.0.0.1"\nemail_from = "a@example.com"\nemail_to = ["b@example.com"]\nsmtp_ca_file = "missing-ca.pem"\n`,
    );
    expect(code).toBe(2);
    expect(ms).toBeLessThan(5_000);
    expect(stderr).toContain('smtp_ca_file');
    expect(stderr).toContain('missing-ca.pem');
  });

  test('a bad config key: exit 2, with file and line', async () => {
    const path = file('bad-key.toml', `${ports}[monitoring.tracing]\nsampel_rate = 1\n`);
    await using demo = startDemo('bad-key', ['--once', '--config', path]);
    const { code } = await demo.exited;
    expect(code).toBe(2);
    expect(demo.stderr()).toContain(
      `${path}:6:1: monitoring.tracing.sampel_rate: unknown key; did you mean "sample_rate"?`,
    );
  });

  test('a port in use: exit 1 (a run-time failure), naming the port', async () => {
    await using taken = await listenLoopback((_req, res) => void res.end());
    const { code, ms, stderr } = await failedStart(
      'port',
      `[monitoring]\nmetrics_port = ${taken.port}\nhealth_port = 0\nhost = "127.0.0.1"\n`,
    );
    expect(code).toBe(1);
    expect(ms).toBeLessThan(5_000);
    expect(stderr).toContain(`127.0.0.1:${taken.port}`);
    expect(stderr).toContain('the port is in use');
  });
});

// A collector that accepts the connection and never answers.
async function hangingCollector(): Promise<{ server: Server; port: number; connections: () => number }> {
  let count = 0;
  const server = createNetServer((socket) => {
    count++;
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { server, port, connections: () => count };
}

test('issue #19: SIGTERM with an OTLP collector that never answers ends the process within shutdown_timeout', async () => {
  const collector = await hangingCollector();
  try {
    const config = file(
      'hanging-otlp.toml',
      `${ports}shutdown_timeout = "2s"\n[monitoring.tracing]\nendpoint = "http://127.0.0.1:${collector.port}/v1/traces"\nsample_rate = 1\nscheduled_delay = "100ms"\nexport_timeout = "30s"\n`,
    );
    await using demo = startDemo('hanging-otlp', ['--config', config, '--interval', '200ms']);
    await demo.waitFor('export #1 done');
    await waitUntil(() => collector.connections() > 0, { what: 'the demo to reach the collector' });
    const sent = performance.now();
    demo.child.kill('SIGTERM');
    const { code, at } = await demo.exited;
    // shutdown_timeout is 2s; export_timeout (30s) must not matter.
    expect(at - sent).toBeLessThan(5_000);
    expect(code).toBe(0);
    expect(demo.stderr()).not.toMatch(/export failed/);
  } finally {
    collector.server.close();
  }
}, 60_000);

test('issue #19: SIGTERM in the middle of a --once export is not a failed export (exit 0)', async () => {
  await using demo = startDemo('cut-short', ['--once', '--config', file('cut-short.toml', ports)]);
  await demo.waitFor('exporter-demo: metrics on ');
  demo.child.kill('SIGTERM');
  const { code } = await demo.exited;
  expect(code).toBe(0);
  expect(demo.stderr()).not.toMatch(/export failed/);
}, 30_000);
