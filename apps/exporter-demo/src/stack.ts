#!/usr/bin/env node
// `pnpm --filter exporter-demo stack`: writes stack/ (docker-compose.yml, prometheus.yml with the rules the demo
// evaluates, alertmanager.yml and Grafana provisioning with the demo's dashboards) from config.toml.
// It lives in the app because only the app knows what it composes: which plugins, which rules, which metrics.
// The plugins meet here as in main.ts; none of them imports another.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { alertmanagerConfig, alertsPlugin, exportPrometheusRules, loadRuleGroups, seedRules } from '@obs/alerts';
import { createMonitor, loadConfig, ObsConfigError, ObsError, silentLogger } from '@obs/core';
import { composeStack, dashboardsPlugin } from '@obs/dashboards';
import { healthPlugin } from '@obs/health';
import { metricsPlugin } from '@obs/metrics';
import { tracingPlugin } from '@obs/tracing';

const USAGE = `Usage: stack [--config <file>] [--out <dir>]

Writes the demo's Docker Compose stack (the app, Prometheus with the demo's alert rules, Alertmanager,
Grafana with the demo's dashboards, Jaeger) from its config.

  --config <file>   TOML config with a [monitoring] table (default: the demo's config.toml)
  --out <dir>       where to write (default: the demo's stack/)
`;

/** The dashboards' links in the stack: the ports it publishes on the Docker host. */
export const STACK_LINKS: readonly { title: string; url: string }[] = [
  { title: 'Jaeger', url: 'http://localhost:16686' },
  { title: 'Prometheus alerts', url: 'http://localhost:9090/alerts' },
  { title: 'Alertmanager', url: 'http://localhost:9093' },
];

const RULES_FILE = 'rules/obs.rules.yml';

/**
 * What a user of the stack gets, in one place: the top of docker-compose.yml (#20). The root README's table says
 * the same for `npm run demo` and the stack; a test checks that every port the compose file publishes is here.
 */
export function stackAccess(config: {
  metrics_port: number;
  health_port: number;
  auth: { metrics?: unknown; health?: unknown };
}): string {
  const demoAuth = (listener: 'metrics' | 'health') =>
    config.auth[listener] === undefined ? 'no credentials' : `the credentials of [monitoring.auth.${listener}]`;
  const rows: [string, string][] = [
    [
      `http://localhost:${config.metrics_port}/metrics`,
      `the demo: /metrics, /dashboards, /api/v1/* (its traces go to Jaeger); ${demoAuth('metrics')}`,
    ],
    [
      `http://localhost:${config.health_port}/health`,
      `the demo: /health, /livez, /readyz, /alerts, /silences, the console at /; ${demoAuth('health')}`,
    ],
    ['http://localhost:9090', 'Prometheus (alerts at /alerts); no credentials'],
    ['http://localhost:9093', 'Alertmanager; no credentials'],
    ['http://localhost:3000', 'Grafana: user admin, password $GRAFANA_ADMIN_PASSWORD (admin when unset: set it)'],
    ['http://localhost:16686', 'Jaeger UI; no credentials. OTLP in on 4317 (gRPC) and 4318 (HTTP)'],
  ];
  const width = Math.max(...rows.map(([url]) => url.length));
  return [
    '# Ports, URLs and credentials of this stack (`docker compose up` in this folder):',
    ...rows.map(([url, what]) => `#   ${url.padEnd(width)}  ${what}`),
    '',
  ].join('\n');
}

/** The stack's files for a config file, by path relative to the output folder; secrets are listed, never written. */
export async function stackFiles(configFile: string): Promise<{ files: Record<string, string>; secrets: string[] }> {
  const dashboards = dashboardsPlugin({ links: STACK_LINKS });
  const sections = [metricsPlugin(), tracingPlugin(), healthPlugin(), alertsPlugin(), dashboards];
  const config = loadConfig({ file: configFile, plugins: sections });
  // The metric set, the rules and the dashboards exist once their plugins are set up: compose just those,
  // on ephemeral loopback ports, with no notification and no evaluation worth the name, then stop.
  const alerts = alertsPlugin({ notifications: false });
  const monitor = createMonitor({
    config: loadConfig({
      file: configFile,
      plugins: sections,
      overrides: { metrics_port: 0, health_port: 0, host: '127.0.0.1' },
    }),
    plugins: [metricsPlugin(), alerts, dashboards],
    logger: silentLogger,
  });
  await monitor.start();
  try {
    const { namespace, subsystem } = config.prometheus;
    const rules =
      config.alerts.rules_file === ''
        ? seedRules({ namespace, subsystem })
        : loadRuleGroups(resolve(dirname(configFile), config.alerts.rules_file)); // recording rules kept
    const stack = composeStack({
      config,
      // The demo's image, built from the monorepo root by its Dockerfile; the context is relative to the demo's
      // stack/ (apps/exporter-demo/stack), whatever --out says, so that the generated files stay comparable.
      // The demo listens on the metrics and health ports only: no seed app port 8080.
      build: { context: '../../..', dockerfile: 'apps/exporter-demo/Dockerfile' },
      images: { app: 'obs/exporter-demo' },
      appPorts: [],
      dashboards: dashboards.dashboards(),
      alertmanager: alertmanagerConfig({ config: config.alerts }),
    });
    const compose = stack.files['docker-compose.yml'];
    return {
      files: {
        ...stack.files,
        ...(compose === undefined ? {} : { 'docker-compose.yml': stackAccess(config) + compose }),
        [RULES_FILE]: exportPrometheusRules(rules),
      },
      secrets: stack.secrets.map((s) => `${s.path} (${s.content})`),
    };
  } finally {
    await monitor.stop();
  }
}

async function main(argv: string[]): Promise<number> {
  let values: { config?: string | undefined; out?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: { config: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    process.stderr.write(`stack: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const app = join(dirname(fileURLToPath(import.meta.url)), '..');
  const out = resolve(values.out ?? join(app, 'stack'));
  try {
    const { files, secrets } = await stackFiles(resolve(values.config ?? join(app, 'config.toml')));
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(out, path)), { recursive: true });
      await writeFile(join(out, path), content);
    }
    process.stdout.write(`stack: wrote ${Object.keys(files).length} files to ${out}\n`);
    for (const path of Object.keys(files)) process.stdout.write(`  ${path}\n`);
    for (const s of secrets) process.stdout.write(`  secret to provide: ${s}, not written\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`stack: ${err instanceof ObsError ? err.message : String(err)}\n`);
    return err instanceof ObsConfigError ? 2 : 1;
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
