// Issue 23: the seed's own TOML (seed/monitoring-design.md, "Configuration Monitoring"), unchanged but for the
// ports, gives a demo whose shipped rules watch the metrics it really exposes (`subsystem = "exporter"` makes them
// trakt_exporter_*) and fire under --api-outage.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportPrometheusRules, seedRules } from '@obs/alerts';
import { freePort, waitUntil } from '@obs/testing';
import { describe, expect, test } from 'vitest';

const bin = join(import.meta.dirname, '../dist/main.js');
const dir = mkdtempSync(join(tmpdir(), 'demo-seed-config-'));
const ALERT = 'API Error Rate High';

// Verbatim from the seed's design document.
const SEED_TOML = `[monitoring]
enabled = true
metrics_port = 8081
health_port = 8082

[monitoring.prometheus]
enabled = true
endpoint = "/metrics"
namespace = "trakt"
subsystem = "exporter"

[monitoring.tracing]
enabled = true
service_name = "export-trakt-4-letterboxd"
endpoint = "http://jaeger:14268/api/traces"
sample_rate = 0.1

[monitoring.health]
enabled = true
endpoint = "/health"
checks_interval = "30s"

[monitoring.alerts]
enabled = true
smtp_host = "smtp.gmail.com"
smtp_port = 587
webhook_url = "https://hooks.slack.com/services/..."
`;

/**
 * The shipped rules as the plugin builds them for this config (`seedRules` with its namespace and subsystem),
 * written as a Prometheus rule file with their windows and `for` scaled down: 5m becomes 10s, 15m 30s, so that the
 * test takes seconds. Only the timings differ from what the demo evaluates without a rules_file.
 */
function scaledShippedRules(): string {
  const scale = (s: string): string => s.replaceAll('[5m]', '[10s]').replaceAll('15m', '30s');
  const rules = seedRules({ namespace: 'trakt', subsystem: 'exporter' }).map((r) => ({
    ...r,
    expr: scale(r.expr),
    forMs: r.forMs / 150,
  }));
  const file = join(dir, 'scaled-seed.rules.yml');
  writeFileSync(file, exportPrometheusRules(rules));
  return file;
}

function startDemo(config: string, env: Record<string, string>) {
  const child = spawn(
    process.execPath,
    [bin, '--config', config, '--export-dir', join(dir, 'out'), '--api-outage', '20s', '--interval', '500ms'],
    { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir, env: { ...process.env, ...env } },
  );
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, log: () => log, exited };
}

describe("the seed's TOML, loaded unchanged but for the ports", () => {
  const config = join(dir, 'seed.toml');
  writeFileSync(config, SEED_TOML);

  test('starts, says its e-mail channel lacks email_to, and fires "API Error Rate High" under --api-outage on trakt_exporter_*', async () => {
    const metricsPort = await freePort();
    const env = {
      MONITORING_METRICS_PORT: String(metricsPort),
      MONITORING_HEALTH_PORT: String(await freePort()),
      // The seed's 5m windows and `for`, scaled (see scaledShippedRules), evaluated every second.
      MONITORING_ALERTS_RULES_FILE: scaledShippedRules(),
      MONITORING_PROMETHEUS_COLLECT_INTERVAL: '1s',
      MONITORING_ALERTS_EVALUATION_INTERVAL: '1s',
    };
    const demo = startDemo(config, env);
    try {
      const firing = new RegExp(`alert "${ALERT}" is firing`);
      await waitUntil(() => firing.test(demo.log()), {
        what: `"${ALERT}" to fire`,
        timeoutMs: 60_000,
        gaveUp: () => demo.child.exitCode !== null,
      }).catch(() => {});
      expect(demo.log()).toMatch(firing);
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/^trakt_exporter_api_requests_total\{/m);
      expect(metrics).not.toMatch(/^trakt_api_requests_total\{/m);
      // Every rule selects metrics the app exposes: nothing is silently off.
      expect(demo.log()).not.toContain('no metric of this app matches');
      // Nor is the e-mail channel (issue 23, item 5): its smtp_host has no recipients, and the log says which key.
      expect(demo.log()).toMatch(/seed\.toml:\d+:\d+: monitoring\.alerts\.email_to: is not set/);
    } finally {
      if (demo.child.exitCode === null) demo.child.kill('SIGTERM');
      await demo.exited;
    }
  }, 120_000);
});
