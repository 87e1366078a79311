// Issue #19, the fault cases at the demo level: a trace collector down or hanging, an SMTP server down then up, a
// webhook down for three retry windows, and a kill -9 in the middle of retries. The cases run concurrently: most
// of their time is spent waiting for retries.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { freePort, type LoopbackServer, listenLoopback, readBody } from '@obs/testing';
import { describe, expect, test } from 'vitest';
import { smtpReceiver } from '../demo-process.ts';
import {
  dir,
  fastAlertEnv,
  fastRulesFile,
  latencies,
  PORTS,
  record,
  type ServingDemo,
  sampleWhile,
  serve,
  timedFetch,
  until,
} from './harness.ts';

const fig = (key: string, figures: Record<string, unknown>) => record(import.meta.filename, key, figures);

/** A counter's value on the demo's /metrics (0 when the series does not exist yet). */
async function counter(demo: ServingDemo, series: string): Promise<number> {
  const text = await (await fetch(new URL('/metrics', demo.metrics))).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

interface Receiver extends LoopbackServer {
  status: number;
  readonly attempts: number[];
  readonly delivered: { status: string; alerts: { status: string; labels: Record<string, string> }[] }[];
}

// A webhook receiver answering `status` (changed at will), keeping what it accepted.
async function receiver(status: number): Promise<Receiver> {
  const attempts: number[] = [];
  const delivered: Receiver['delivered'] = [];
  let self: Receiver | undefined;
  const server = await listenLoopback(async (req, res) => {
    const body = await readBody(req);
    const answer = self?.status ?? status;
    attempts.push(answer);
    if (answer < 300) delivered.push(JSON.parse(body) as Receiver['delivered'][number]);
    res.writeHead(answer).end();
  });
  self = Object.assign(server, { status, attempts, delivered });
  return self;
}

const firingApiAlert = (r: Receiver): boolean =>
  r.delivered.some(
    (p) => p.status === 'firing' && p.alerts.some((a) => a.labels['alertname'] === 'API Error Rate High'),
  );

describe.concurrent('issue #19 faults at the demo level', () => {
  test.each([
    ['down (connection refused)', 'down'],
    ['hanging (accepts, never answers)', 'hanging'],
  ] as const)(
    'OTLP collector %s: the demo keeps serving, and SIGTERM ends it within shutdown_timeout',
    async (_label, kind) => {
      let server: Server | undefined;
      const sockets: Socket[] = [];
      let port: number;
      if (kind === 'down') port = await freePort();
      else {
        server = createNetServer((socket) => {
          sockets.push(socket);
          socket.on('error', () => {});
        });
        await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
        port = (server.address() as { port: number }).port;
      }
      try {
        await using demo = await serve(
          `otlp-${kind}`,
          `${PORTS}shutdown_timeout = "2s"\n[monitoring.tracing]\nendpoint = "http://127.0.0.1:${port}/v1/traces"\nsample_rate = 1\nscheduled_delay = "100ms"\nexport_timeout = "30s"\n`,
          ['--interval', '200ms'],
        );
        await demo.waitFor('export #2 done');
        if (kind === 'hanging') await until(() => sockets.length > 0, 10_000, 'the demo to reach the collector');
        const window = new Promise((r) => setTimeout(r, 2_000));
        const [health, metrics] = await Promise.all([
          sampleWhile(window, () => timedFetch(new URL('/livez', demo.health)), 20),
          sampleWhile(window, () => timedFetch(new URL('/metrics', demo.metrics)), 50),
        ]);
        const exports = (demo.stderr().match(/export #\d+ done/g) ?? []).length;
        const { ms, code } = await demo.terminate();
        await fig(`otlp-collector-${kind}`, {
          livezMs: latencies(health.ms),
          metricsMs: latencies(metrics.ms),
          exportsDone: exports,
          connectionsToCollector: sockets.length,
          shutdownTimeoutMs: 2_000,
          sigtermToExitMs: ms,
          exitCode: code,
        });
        expect(health.statuses.every((s) => s === 200)).toBe(true);
        expect(metrics.statuses.every((s) => s === 200)).toBe(true);
        expect(latencies(health.ms).p99).toBeLessThan(1_000);
        expect(ms).toBeLessThan(5_000);
        expect(code).toBe(0);
      } finally {
        for (const s of sockets) s.destroy();
        server?.close();
      }
    },
    60_000,
  );

  test('SMTP server down, then up: the alert fired during the outage is mailed once it is back', async () => {
    const port = await freePort();
    const env = {
      ...fastAlertEnv(fastRulesFile('smtp-rules.yml')),
      MONITORING_ALERTS_SMTP_HOST: '127.0.0.1',
      MONITORING_ALERTS_SMTP_PORT: String(port),
    };
    // smtp_tls = "none" on purpose: the loopback test server has no certificate (the default requires TLS).
    await using demo = await serve(
      'smtp',
      `${PORTS}[monitoring.alerts]\nsmtp_tls = "none"\nemail_from = "demo@example.com"\nemail_to = ["ops@example.com"]\n`,
      ['--api-outage', '120s', '--interval', '500ms'],
      env,
    );
    await demo.waitFor('alert "API Error Rate High" is firing');
    const fired = performance.now();
    await until(
      async () => (await counter(demo, 'obs_alert_notifications_total{channel="email",outcome="failed"}')) > 0,
      20_000,
      'a failed e-mail attempt',
    );
    const failedBeforeUp = await counter(demo, 'obs_alert_notifications_total{channel="email",outcome="failed"}');
    const smtp = await smtpReceiver(port);
    const received = smtp.mails;
    const up = performance.now();
    try {
      await until(() => received.some((m) => m.includes('API Error Rate High')), 40_000, 'the mail');
      const deliveredMs = Math.round(performance.now() - up);
      await fig('smtp-down-then-up', {
        failedAttemptsWhileDown: failedBeforeUp,
        downForMs: Math.round(up - fired),
        upToDeliveredMs: deliveredMs,
        mails: received.length,
        sent: await counter(demo, 'obs_alert_notifications_total{channel="email",outcome="sent"}'),
      });
      expect(received.length).toBeGreaterThanOrEqual(1);
      expect(received.join('\n')).toMatch(/^To: .*ops@example\.com/m);
    } finally {
      await smtp.close();
    }
  }, 90_000);

  test('a webhook down for 3 retry windows, then up: the firing notification is delivered', async () => {
    await using hook = await receiver(503);
    await using demo = await serve('webhook-3-windows', PORTS, ['--api-outage', '300s', '--interval', '500ms'], {
      ...fastAlertEnv(fastRulesFile('webhook-rules.yml')),
      MONITORING_ALERTS_WEBHOOK_URL: hook.url.href,
    });
    await demo.waitFor('alert "API Error Rate High" is firing');
    const fired = performance.now();
    // Each retry window (5 attempts, 1 s backoff doubling) ends in a drop; the group is tried again at the next
    // group interval, for as long as it is not delivered.
    const dropped = 'obs_alert_notifications_total{channel="webhook",outcome="dropped"}';
    await until(async () => (await counter(demo, dropped)) >= 3, 120_000, 'three retry windows to end in a drop');
    const windows = await counter(demo, dropped);
    const attemptsWhileDown = hook.attempts.length;
    hook.status = 200;
    const up = performance.now();
    await until(() => firingApiAlert(hook), 60_000, 'the firing notification');
    await fig('webhook-down-3-windows', {
      windowsDropped: windows,
      attemptsWhileDown,
      downForMs: Math.round(up - fired),
      upToDeliveredMs: Math.round(performance.now() - up),
      deliveries: hook.delivered.length,
    });
    expect(windows).toBeGreaterThanOrEqual(3);
    expect(attemptsWhileDown).toBeGreaterThanOrEqual(3 * 5);
    expect(hook.attempts.slice(0, attemptsWhileDown).every((s) => s === 503)).toBe(true);
  }, 150_000);

  test('SIGKILL in the middle of retries: the firing notification is delivered after the restart (state_file)', async () => {
    await using hook = await receiver(503);
    const stateDir = `${dir}/sigkill-state`;
    mkdirSync(stateDir, { recursive: true });
    const stateFile = `${stateDir}/alerts-state.json`;
    const toml = `${PORTS}[monitoring.alerts]\nstate_file = "${stateFile}"\n`;
    const env = { ...fastAlertEnv(fastRulesFile('sigkill-rules.yml')), MONITORING_ALERTS_WEBHOOK_URL: hook.url.href };
    const readState = (): { alerts?: { status: string; labels: Record<string, string> }[] } =>
      existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as { alerts?: [] }) : {};
    {
      await using first = await serve('sigkill-1', toml, ['--api-outage', '120s', '--interval', '500ms'], env);
      await first.waitFor('alert "API Error Rate High" is firing');
      await until(
        () =>
          hook.attempts.length >= 2 &&
          (readState().alerts ?? []).some(
            (a) => a.status === 'firing' && a.labels['alertname'] === 'API Error Rate High',
          ),
        30_000,
        'retries, with the firing alert in the state file',
      );
      first.child.kill('SIGKILL');
      const { signal } = await first.exited;
      expect(signal).toBe('SIGKILL');
    }
    const attemptsBeforeKill = hook.attempts.length;
    expect(hook.delivered).toEqual([]);
    hook.status = 200;
    const restarted = performance.now();
    await using second = await serve('sigkill-2', toml, ['--api-outage', '120s', '--interval', '500ms'], env);
    await until(() => firingApiAlert(hook), 30_000, 'the firing notification after the restart');
    const deliveredMs = Math.round(performance.now() - restarted);
    const { ms: exitMs, code } = await second.terminate();
    await fig('sigkill-mid-retry', {
      attemptsBeforeKill,
      restartToDeliveredMs: deliveredMs,
      deliveries: hook.delivered.length,
      sigtermToExitMs: exitMs,
    });
    expect(code).toBe(0);
  }, 90_000);
});
