import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { alertmanagerConfig, alertsPlugin } from '@obs/alerts';
import { type ConfigInput, loadConfig, type ObsConfig } from '@obs/core';
import { debianTool } from '@obs/testing';
import { afterAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { composeStack, type Dashboard, dashboardsSection, seedDashboard } from '../src/index.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'obs-dashboards-'));
  dirs.push(d);
  return d;
};
const write = (root: string, files: Record<string, string>): void => {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
};
// The app's config as an app with @obs/alerts loads it: [monitoring.alerts] is that plugin's section.
const configOf = (overrides: ConfigInput) =>
  loadConfig({ env: {}, overrides, plugins: [alertsPlugin()], sections: [dashboardsSection] });
// The stack's Alertmanager config is the one @obs/alerts generates.
const stackOf = (config: ObsConfig) => ({ config, alertmanager: alertmanagerConfig({ config: config.alerts }) });

// What @obs/alerts will export (packages/alerts is not published yet): the seed's three rules.
const RULES = `groups:
  - name: obs
    rules:
      - alert: APIErrorRateHigh
        expr: rate(trakt_api_requests_total{status!="200"}[5m]) > 0.1
        for: 5m
        labels: { severity: warning }
      - alert: CacheHitRatioLow
        expr: trakt_cache_hit_ratio < 0.5
        for: 10m
        labels: { severity: info }
      - alert: ExportFailures
        expr: increase(trakt_export_operations_total{status="error"}[15m]) > 0
        labels: { severity: critical }
`;

const full: ConfigInput = {
  alerts: {
    smtp_host: 'smtp.example.com',
    smtp_port: 587,
    smtp_user: 'exporter',
    smtp_password: 'hunter2-secret',
    email_from: 'exporter@example.com',
    email_to: ['ops@example.com'],
    webhook_url: 'https://hooks.slack.com/services/T000/B000/very-secret-token',
  },
  auth: { metrics: { bearer_token: 'scrape-secret-token' } },
} as ConfigInput;

const run = (tool: string, args: string[]) => spawnSync(tool, args, { encoding: 'utf8' });

describe('the compose stack', () => {
  const dashboards: Dashboard[] = [seedDashboard()];

  test('Grafana gets a second data source on the app itself, obs-embedded (#16)', () => {
    const sources = (config: ObsConfig) =>
      (
        parse(
          composeStack({ config, alertmanager: { yaml: '', secrets: [] }, dashboards }).files[
            'grafana/provisioning/datasources/prometheus.yml'
          ]!,
        ) as { datasources: { uid: string; url: string; isDefault: boolean; jsonData: Record<string, unknown> }[] }
      ).datasources;
    const plain = sources(configOf({ metrics_port: 9464, prometheus: { collect_interval: '5s' } }));
    expect(plain.map((d) => d.uid)).toEqual(['prometheus', 'obs-embedded']);
    expect(plain[1]).toMatchObject({
      type: 'prometheus',
      url: 'http://export-trakt:9464',
      isDefault: false,
      jsonData: { httpMethod: 'POST', timeInterval: '5s' },
    });
    // Behind [monitoring.auth.metrics], Grafana reads the token from the stack's secret file, as Prometheus does.
    const secured = sources(configOf(full));
    expect(secured.map((d) => d.uid)).toEqual(['prometheus', 'obs-embedded']);
    expect(secured[1]).toMatchObject({
      jsonData: { httpHeaderName1: 'Authorization' },
      secureJsonData: { httpHeaderValue1: 'Bearer $__file{/etc/grafana/secrets/metrics_token}' },
    });
    const basic = sources(configOf({ auth: { metrics: { username: 'grafana', password: 'pw-not-in-files' } } }));
    expect(basic[1]).toMatchObject({
      basicAuth: true,
      basicAuthUser: 'grafana',
      secureJsonData: { basicAuthPassword: '$__file{/etc/grafana/secrets/metrics_password}' },
    });
    const compose = parse(
      composeStack({ config: configOf(full), alertmanager: { yaml: '', secrets: [] }, dashboards }).files[
        'docker-compose.yml'
      ]!,
    ) as { services: { grafana: { volumes: string[] } } };
    expect(compose.services.grafana.volumes).toContain('./secrets:/etc/grafana/secrets:ro');
  });

  test('writes no secret, and lists the secret files it references', () => {
    const stack = composeStack({ ...stackOf(configOf(full)), dashboards });
    const all = Object.values(stack.files).join('\n');
    for (const secret of ['hunter2-secret', 'very-secret-token', 'scrape-secret-token'])
      expect(all).not.toContain(secret);
    expect(stack.secrets.map((s) => s.path).sort()).toEqual([
      'secrets/metrics_token',
      'secrets/smtp_password',
      'secrets/webhook_url',
    ]);
    const compose = parse(stack.files['docker-compose.yml']!) as { services: Record<string, { ports?: string[] }> };
    expect(Object.keys(compose.services).sort()).toEqual([
      'alertmanager',
      'export-trakt',
      'grafana',
      'jaeger',
      'prometheus',
    ]);
    expect(compose.services['export-trakt']!.ports).toEqual(['8080:8080', '8081:8081', '8082:8082']);
    expect(compose.services['jaeger']!.ports).toContain('4318:4318');
    const prom = parse(stack.files['prometheus.yml']!) as {
      rule_files: string[];
      scrape_configs: { static_configs: { targets: string[] }[] }[];
    };
    expect(prom.scrape_configs[0]!.static_configs[0]!.targets).toEqual(['export-trakt:8081']);
    expect(prom.rule_files).toEqual(['rules/*.yml']);
  });

  test('prometheus.yml passes promtool check config, with the exported rules loaded', (ctx) => {
    const promtool = debianTool('promtool');
    if (promtool === undefined) return ctx.skip();
    for (const overrides of [{}, full]) {
      const dir = tempDir();
      const stack = composeStack({ ...stackOf(configOf(overrides)), dashboards, ruleFiles: ['rules/obs.rules.yml'] });
      write(dir, stack.files);
      write(dir, { 'rules/obs.rules.yml': RULES });
      for (const s of stack.secrets) write(dir, { [s.path]: 'placeholder\n' });
      const result = run(promtool, ['check', 'config', join(dir, 'prometheus.yml')]);
      expect(result.stdout + result.stderr).toContain('SUCCESS: 3 rules found');
      expect(result.status, result.stdout + result.stderr).toBe(0);
    }
  });

  test('a broken rule file fails promtool (the check is real)', (ctx) => {
    const promtool = debianTool('promtool');
    if (promtool === undefined) return ctx.skip();
    const dir = tempDir();
    write(dir, composeStack({ ...stackOf(configOf({})), dashboards }).files);
    write(dir, { 'rules/bad.yml': 'groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: rate(\n' });
    expect(run(promtool, ['check', 'config', join(dir, 'prometheus.yml')]).status).not.toBe(0);
  });

  test('alertmanager.yml passes amtool check-config, for every combination of channels', (ctx) => {
    const amtool = debianTool('amtool');
    if (amtool === undefined) return ctx.skip();
    const variants: ConfigInput[] = [
      {},
      full,
      { alerts: { smtp_host: 'smtp.example.com', email_to: ['a@example.com', 'b@example.com'] } } as ConfigInput,
    ];
    for (const overrides of variants) {
      const dir = tempDir();
      write(dir, composeStack({ ...stackOf(configOf(overrides)), dashboards }).files);
      const result = run(amtool, ['check-config', join(dir, 'alertmanager.yml')]);
      expect(result.status, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toContain('SUCCESS');
    }
  });

  test("a generic webhook's URL is read from a file (webhook url_file: Alertmanager >= 0.26)", (ctx) => {
    const amtool = debianTool('amtool');
    if (amtool === undefined) return ctx.skip();
    const dir = tempDir();
    const overrides = { alerts: { webhook_url: 'https://example.com/hook?token=secret' } } as ConfigInput;
    write(dir, composeStack({ ...stackOf(configOf(overrides)), dashboards }).files);
    expect(readFileSync(join(dir, 'alertmanager.yml'), 'utf8')).not.toContain('token=secret');
    const result = run(amtool, ['check-config', join(dir, 'alertmanager.yml')]);
    const version = /version (\d+)\.(\d+)/.exec(run(amtool, ['--version']).stdout + run(amtool, ['--version']).stderr);
    const minor = Number(version?.[2] ?? 99);
    // Debian's amtool is 0.25, which predates url_file: then the only complaint must be that field.
    if (minor < 26) expect(result.stdout + result.stderr).toMatch(/line \d+: field url_file not found/);
    else expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  test("builds the app's image from a Dockerfile when given one, publishing only the app's ports (issue 23)", () => {
    const pulled = parse(composeStack({ ...stackOf(configOf(full)), dashboards }).files['docker-compose.yml']!);
    expect(pulled.services['export-trakt'].image).toBe('johandevl/export-trakt-4-letterboxd:latest');
    expect(pulled.services['export-trakt'].build).toBeUndefined();
    const built = parse(
      composeStack({
        ...stackOf(configOf(full)),
        dashboards,
        build: { context: '../../..', dockerfile: 'apps/exporter-demo/Dockerfile' },
        appPorts: [],
        images: { app: 'obs/exporter-demo' },
      }).files['docker-compose.yml']!,
    );
    expect(built.services['export-trakt']).toMatchObject({
      image: 'obs/exporter-demo',
      build: { context: '../../..', dockerfile: 'apps/exporter-demo/Dockerfile' },
    });
    expect(built.services['export-trakt'].ports).not.toContain('8080:8080');
  });

  test('docker-compose.yml passes `docker compose config` where that client works', (ctx) => {
    const version = run('docker', ['compose', 'version']);
    if (version.status !== 0) {
      console.warn('skipping: `docker compose` is not available here (no compose plugin)');
      return ctx.skip();
    }
    const dir = tempDir();
    write(dir, composeStack({ ...stackOf(configOf(full)), dashboards }).files);
    const result = run('docker', ['compose', '-f', join(dir, 'docker-compose.yml'), 'config', '--quiet']);
    expect(result.status, result.stderr).toBe(0);
  });
});
