import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, listenLoopback, readBody, waitUntil } from '@obs/testing';
import { describe, expect, test, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import { SEED_ENV } from './seed-env.ts';

const bin = join(import.meta.dirname, '../dist/main.js');
const alertsDir = dirname(createRequire(import.meta.url).resolve('@obs/alerts/package.json'));
const dir = mkdtempSync(join(tmpdir(), 'exporter-demo-'));
const quietPorts = '[monitoring]\nmetrics_port = 0\nhealth_port = 0\nhost = "127.0.0.1"\n';

function configFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

interface RunningDemo extends AsyncDisposable {
  readonly metrics: URL;
  readonly health: URL;
  stderr(): string;
  waitFor(text: string): Promise<void>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

// The demo running in the background on free ports, with its log at hand. A port taken between freePort()
// and the demo's bind (another test's server) is retried with new ports; any other early exit fails at once.
async function runningDemo(name: string, args: string[], env: Record<string, string> = {}): Promise<RunningDemo> {
  for (let attempt = 1; ; attempt++) {
    const demo = await spawnDemo(name, args, env);
    const ready = await demo.ready;
    if (ready) return demo;
    if (attempt === 3 || !demo.stderr().includes('EADDRINUSE'))
      throw new Error(`exporter-demo exited before serving:\n${demo.stderr()}`);
  }
}

async function spawnDemo(
  name: string,
  args: string[],
  env: Record<string, string>,
): Promise<RunningDemo & { ready: Promise<boolean> }> {
  const [metricsPort, healthPort] = [await freePort(), await freePort()];
  const config = configFile(
    `${name}.toml`,
    `[monitoring]\nmetrics_port = ${metricsPort}\nhealth_port = ${healthPort}\nhost = "127.0.0.1"\n`,
  );
  const child = spawn(process.execPath, [bin, ...args, '--config', config, '--export-dir', join(dir, name)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...SEED_ENV, ...env },
  });
  let log = '';
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    }),
  );
  const ready = new Promise<boolean>((resolve) => {
    child.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('exporter-demo: metrics on ')) resolve(true);
    });
    void exited.then(() => resolve(false));
  });
  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  return {
    ready,
    metrics: new URL(`http://127.0.0.1:${metricsPort}/`),
    health: new URL(`http://127.0.0.1:${healthPort}/`),
    stderr: () => log,
    async waitFor(text) {
      await waitUntil(() => log.includes(text), {
        what: `"${text}"`,
        timeoutMs: 30_000,
        gaveUp: () => exitCode !== undefined,
      }).catch(() => {});
      expect(log, exitCode === undefined ? undefined : `the demo exited (${exitCode})`).toContain(text);
    },
    stop,
    [Symbol.asyncDispose]: async () => void (await stop()),
  };
}

function runCli(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    cwd: dir,
    env: { ...process.env, ...SEED_ENV },
  });
}

describe('exporter-demo CLI', () => {
  test('--once runs one export, writes Letterboxd CSVs and exits 0', () => {
    const out = join(dir, 'once');
    const result = runCli([
      '--once',
      '--config',
      configFile('ok.toml', quietPorts),
      '--export-dir',
      out,
      '--seed',
      '7',
    ]);
    expect(result.stderr).toContain('export #1 done');
    expect(result.status).toBe(0);
    const diary = readFileSync(join(out, 'diary.csv'), 'utf8').split('\r\n');
    expect(diary[0]).toBe('Title,Year,imdbID,tmdbID,WatchedDate,Rating10,Rewatch');
    expect(diary.filter((line) => line !== '')).toHaveLength(601);
    expect(diary[1]).toMatch(/^("[^"]*"|[^,"]+),\d{4},tt\d{7},\d+,\d{4}-\d{2}-\d{2},\d*,(true|false)$/);
    expect(readFileSync(join(out, 'ratings.csv'), 'utf8')).toMatch(/^Title,Year,imdbID,tmdbID,Rating10\r\n/);
    expect(readFileSync(join(out, 'watchlist.csv'), 'utf8')).toMatch(/^Title,Year,imdbID,tmdbID\r\n/);
  });

  test('the default config.toml (the seed configuration) loads, with ports from the environment', () => {
    const result = spawnSync(process.execPath, [bin, '--once', '--export-dir', join(dir, 'default')], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, MONITORING_METRICS_PORT: '0', MONITORING_HEALTH_PORT: '0', MONITORING_HOST: '127.0.0.1' },
    });
    expect(result.stderr).toContain('export #1 done');
    expect(result.status).toBe(0);
    const help = runCli(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--once');
  });

  test('bad config: every problem named with where it is, exit 2, no stack trace', () => {
    const path = configFile(
      'bad.toml',
      [
        '[monitoring]',
        'metrics_port = 70000',
        'health_port = "8082"',
        'enabeld = true',
        '[monitoring.tracing]',
        'sample_rate = 1.5',
        '[monitoring.health]',
        'checks_interval = "-30s"',
      ].join('\n'),
    );
    const result = runCli(['--once', '--config', path]);
    expect(result.status).toBe(2);
    const err = result.stderr;
    expect(err).toContain('invalid configuration (5 problems)');
    expect(err).toContain(`${path}:2:1: monitoring.metrics_port: must be at most 65535 (got 70000)`);
    expect(err).toContain(`${path}:3:1: monitoring.health_port: must be a number (got "8082")`);
    expect(err).toContain(`${path}:4:1: monitoring.enabeld: unknown key; did you mean "enabled"?`);
    expect(err).toContain(`${path}:6:1: monitoring.tracing.sample_rate: must be at most 1 (got 1.5)`);
    expect(err).toContain(`${path}:8:1: monitoring.health.checks_interval: must be positive (got "-30s")`);
    expect(err).not.toMatch(/\n\s+at /);
  });

  test('a TOML syntax error names line and column', () => {
    const path = configFile('syntax.toml', '[monitoring]\nmetrics_port = = 8081\n');
    const result = runCli(['--once', '--config', path]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`${path.replaceAll('/', '\\/')}:2:\\d+: TOML syntax error`));
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  test('a bad environment override names the variable', () => {
    const result = spawnSync(process.execPath, [bin, '--once', '--config', configFile('env.toml', quietPorts)], {
      encoding: 'utf8',
      env: { ...process.env, ...SEED_ENV, MONITORING_TRACING_SAMPLE_RATE: '2' },
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      'env MONITORING_TRACING_SAMPLE_RATE: monitoring.tracing.sample_rate: must be at most 1 (got 2)',
    );
  });

  test('a missing config file and a bad flag are short errors', () => {
    const missing = runCli(['--config', join(dir, 'nope.toml')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('nope.toml: cannot read the config file: file not found');
    const flag = runCli(['--workers', 'many']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain('--workers must be an integer');
    expect(`${missing.stderr}${flag.stderr}`).not.toMatch(/\n\s+at /);
  });

  test('/metrics serves the seed set, and it moves as the job runs', async () => {
    await using demo = await runningDemo('moving', ['--interval', '300ms', '--cache-ttl', '100ms']);
    const requests = async () => {
      const body = await (await fetch(new URL('/metrics', demo.metrics))).text();
      expect(body).toContain('# TYPE trakt_api_duration_seconds histogram');
      expect(body).toContain('# TYPE trakt_worker_pool_active gauge');
      return Number(/^trakt_api_requests_total\{endpoint="watched_movies",status="200"\} (\d+)$/m.exec(body)?.[1] ?? 0);
    };
    await demo.waitFor('export #1 done');
    const first = await requests();
    await demo.waitFor('export #3 done');
    expect(await requests()).toBeGreaterThan(first);
  });

  test("/health shows the seed's shape with the six checks' live values", async () => {
    await using demo = await runningDemo('health', ['--interval', '1h']);
    await demo.waitFor('export #1 done');
    const res = await fetch(new URL('/health?refresh', demo.health));
    const body = (await res.json()) as {
      status: string;
      timestamp: string;
      uptime: string;
      checks: Record<string, { status: string; latency: string }>;
    };
    expect(Object.keys(body)).toEqual(['status', 'timestamp', 'uptime', 'checks']);
    expect(body.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(body.uptime).toMatch(/^(\d+h)?(\d+m)?(\d+(\.\d+)?s)?$/);
    expect(Object.keys(body.checks).sort()).toEqual([
      'api_connectivity',
      'auth_status',
      'cache',
      'database',
      'disk_space',
      'memory',
    ]);
    for (const check of Object.values(body.checks)) expect(check.latency).toMatch(/^[\d.]+(µs|ms|s)$/);
    expect(body.checks['auth_status']).toMatchObject({ status: 'healthy', details: { token_valid: true } });
    // A cold cache's misses are not judged: the service is not degraded just after it starts.
    expect(body.checks['cache']).toMatchObject({ status: 'healthy', details: { lookups: expect.any(Number) } });
    expect(res.status).toBe(body.status === 'unhealthy' ? 503 : 200);
    expect((await fetch(new URL('/livez', demo.health))).status).toBe(200);
    const metrics = await (await fetch(new URL('/metrics', demo.metrics))).text();
    expect(metrics).toMatch(/^trakt_health_status\{check="overall"\} (1|0\.5|0)$/m);
    const index = (await (await fetch(new URL('/dashboards', demo.metrics))).json()) as unknown;
    expect(JSON.stringify(index)).toContain('export-trakt-4-letterboxd');
  });

  test("issue #20: at the seed's sample_rate 0.1, the first export's API calls are in /traces and exemplars", async () => {
    await using demo = await runningDemo('traces', ['--interval', '1h']);
    await demo.waitFor('export #1 done');
    const runs = (await (await fetch(new URL('/traces?name=export.run', demo.metrics))).json()) as { spans: unknown[] };
    expect(runs.spans.length).toBe(1);
    const calls = (await (await fetch(new URL('/traces?name=api.*&limit=1000', demo.metrics))).json()) as {
      spans: { name: string }[];
    };
    expect(new Set(calls.spans.map((s) => s.name))).toEqual(
      new Set(['api.watched_movies', 'api.ratings', 'api.watchlist', 'api.history']),
    );
    const accept = { accept: 'application/openmetrics-text;version=1.0.0' };
    const open = await (await fetch(new URL('/metrics', demo.metrics), { headers: accept })).text();
    expect(open).toMatch(
      /^trakt_api_requests_total\{endpoint="history",status="200"\} \d+ # \{trace_id="[0-9a-f]{32}",span_id="[0-9a-f]{16}"\} 1 \d/m,
    );
  });

  test("evaluates the seed's alert rules on its live metrics: ALERTS on /metrics", async () => {
    await using demo = await runningDemo('alerts', ['--interval', '1h'], {
      MONITORING_PROMETHEUS_COLLECT_INTERVAL: '100ms',
      MONITORING_ALERTS_EVALUATION_INTERVAL: '100ms',
    });
    await demo.waitFor('export #1 done');
    // One run, then nothing: every lookup so far was a miss, so "Cache Hit Ratio Low" (< 0.5 for 10m) is pending.
    await demo.waitFor('alert "Cache Hit Ratio Low" is pending');
    const text = await (await fetch(new URL('/metrics', demo.metrics))).text();
    expect(text).toMatch(/^ALERTS\{alertname="Cache Hit Ratio Low",alertstate="pending",severity="info"\} 1$/m);
  });

  test('--api-outage makes the simulated API fail for a while: errors and failed exports show, then it recovers', async () => {
    await using demo = await runningDemo('outage', [
      '--api-outage',
      '3s',
      '--interval',
      '300ms',
      '--cache-ttl',
      '100ms',
    ]);
    await demo.waitFor('movies export failed');
    await demo.waitFor('the simulated Trakt API has recovered');
    const text = await (await fetch(new URL('/metrics', demo.metrics))).text();
    expect(
      Number(/^trakt_export_operations_total\{type="movies",status="error"\} (\d+)$/m.exec(text)?.[1]),
    ).toBeGreaterThan(0);
    expect(text).toMatch(/^trakt_api_requests_total\{endpoint="history",status="50[234]"\} [1-9]/m);
    // Issue #20: a failed export is logged as failed, with only what it did write (never `done ... "movies":0`),
    // and the gateway's 502/503/504 pages carry their own reason phrases.
    const log = demo.stderr();
    expect(log).toMatch(/ERROR exporter-demo: export #\d+ failed in \S+ \([a-z, ]*movies[a-z, ]*\)/);
    expect(log).not.toMatch(/export #\d+ done .*"movies":0[,}]/);
    expect(log).toMatch(
      /HTTP 50[234]: <html><body><h1>(502 Bad Gateway|503 Service Unavailable|504 Gateway Timeout)<\/h1>/,
    );
    expect(log).not.toMatch(/50[34] Bad Gateway/);
    const runs = [...log.matchAll(/export #(\d+) (?:done|failed)/g)].map((m) => Number(m[1]));
    await demo.waitFor(`export #${Math.max(0, ...runs) + 2} done`);
    expect(demo.stderr().slice(demo.stderr().lastIndexOf('recovered'))).toMatch(/export #\d+ done .*"movies":\d{3}/);
  });

  test('an API outage fires the seed\'s "API Error Rate High", notifies the configured webhook, and resolves', async () => {
    // The seed's rule as shipped, its windows scaled down (5m -> 10s, for 5m -> 2s) so the test takes seconds.
    const seed = parse(readFileSync(join(alertsDir, 'rules/seed.yml'), 'utf8')) as {
      alerts: { name: string; condition: string; duration?: string }[];
    };
    const rule = seed.alerts.find((r) => r.name === 'API Error Rate High');
    expect(rule?.condition).toContain('[5m]');
    const rules = configFile(
      'fast-rules.yml',
      stringify({ alerts: [{ ...rule, condition: rule!.condition.replace('[5m]', '[10s]'), duration: '2s' }] }),
    );
    const received: { status: string; alerts: { status: string; labels: Record<string, string> }[] }[] = [];
    await using hook = await listenLoopback(async (req, res) => {
      received.push(JSON.parse(await readBody(req)) as (typeof received)[number]);
      res.writeHead(200).end();
    });
    await using demo = await runningDemo('alert-fires', ['--api-outage', '6s', '--interval', '500ms'], {
      MONITORING_PROMETHEUS_COLLECT_INTERVAL: '500ms',
      MONITORING_ALERTS_EVALUATION_INTERVAL: '500ms',
      MONITORING_ALERTS_RULES_FILE: rules,
      MONITORING_ALERTS_WEBHOOK_URL: hook.url.href,
      MONITORING_ALERTS_GROUP_WAIT: '1s',
      MONITORING_ALERTS_GROUP_INTERVAL: '2s',
    });
    await demo.waitFor('alert "API Error Rate High" is firing');
    await vi.waitFor(() => expect(received.some((n) => n.status === 'firing')).toBe(true), { timeout: 10_000 });
    const firing = received.find((n) => n.status === 'firing')!;
    expect(firing.alerts[0]!.labels).toMatchObject({ alertname: 'API Error Rate High', severity: 'warning' });
    // The health listener lists what is being notified.
    const listed = (await (await fetch(new URL('/alerts', demo.health))).json()) as {
      labels: Record<string, string>;
      status: { state: string };
    }[];
    expect(listed.some((a) => a.labels.alertname === 'API Error Rate High' && a.status.state === 'active')).toBe(true);
    await demo.waitFor('the simulated Trakt API has recovered');
    await vi.waitFor(() => expect(received.some((n) => n.alerts.every((a) => a.status === 'resolved'))).toBe(true), {
      timeout: 30_000,
      interval: 200,
    });
    expect(demo.stderr()).toMatch(/alert "API Error Rate High" is inactive/);
    // Issue #20: an inactive alert's value is its last one while active, not the current value: not logged as one.
    const inactive = demo
      .stderr()
      .split('\n')
      .filter((l) => l.includes('is inactive'));
    expect(inactive.length).toBeGreaterThan(0);
    expect(inactive.every((l) => l.includes(' INFO ') && !l.includes('"value"'))).toBe(true);
    expect(demo.stderr()).not.toContain(hook.url.href);
  }, 60_000);

  test('without --once it keeps syncing until SIGTERM, then stops cleanly', async () => {
    const demo = await runningDemo('loop', ['--interval', '200ms']);
    await demo.waitFor('export #2 done');
    expect(await demo.stop()).toBe(0);
    expect(demo.stderr()).toContain('SIGTERM received, stopping');
  });
});
