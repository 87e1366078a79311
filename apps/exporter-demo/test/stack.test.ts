import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { debianTool } from '@obs/testing';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';

const app = join(import.meta.dirname, '..');
const stack = join(app, 'stack');
const stackBin = join(app, 'dist/stack.js');

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.endsWith('.md'))
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('the compose stack in stack/', () => {
  test('is what `pnpm stack` generates from config.toml today (regenerate with pnpm stack)', () => {
    const fresh = mkdtempSync(join(tmpdir(), 'demo-stack-'));
    execFileSync(process.execPath, [stackBin, '--config', join(app, 'config.toml'), '--out', fresh], { stdio: 'pipe' });
    expect(files(stack)).toEqual(files(fresh));
    for (const file of files(fresh))
      expect(readFileSync(join(stack, file), 'utf8'), file).toBe(readFileSync(join(fresh, file), 'utf8'));
  });

  test('promtool accepts prometheus.yml', (ctx) => {
    const promtool = debianTool('promtool');
    if (promtool === undefined) return ctx.skip();
    expect(execFileSync(promtool, ['check', 'config', join(stack, 'prometheus.yml')], { encoding: 'utf8' })).toContain(
      'SUCCESS',
    );
  });

  test('amtool accepts alertmanager.yml', (ctx) => {
    const amtool = debianTool('amtool');
    if (amtool === undefined) return ctx.skip();
    expect(execFileSync(amtool, ['check-config', join(stack, 'alertmanager.yml')], { encoding: 'utf8' })).toContain(
      'SUCCESS',
    );
  });

  test('issue #20: its first lines say every port, URL and credential it gives, and only those', () => {
    const compose = readFileSync(join(stack, 'docker-compose.yml'), 'utf8');
    const header = compose.slice(0, compose.indexOf('\nname:'));
    const { services } = parse(compose) as { services: Record<string, { ports?: string[] }> };
    const published = Object.values(services).flatMap((s) => (s.ports ?? []).map((p) => p.split(':')[0]!));
    const said = [...header.matchAll(/localhost:(\d+)|\b(\d{4,5}) \((?:gRPC|HTTP)\)/g)].map((m) => m[1] ?? m[2]!);
    expect([...new Set(said)].sort()).toEqual([...new Set(published)].sort());
    expect(header).toContain('Grafana: user admin, password $GRAFANA_ADMIN_PASSWORD');
    expect(compose).toContain(`GF_SECURITY_ADMIN_PASSWORD=\${GRAFANA_ADMIN_PASSWORD:-admin}`);
  });

  test('holds the seed dashboard and the generated overview', () => {
    expect(files(join(stack, 'grafana/dashboards'))).toEqual(['export-trakt-4-letterboxd.json', 'obs-overview.json']);
  });
});

describe('pnpm stack with another config', () => {
  test("follows the app's config: subsystem, ports, alert channels, rules_file; secrets listed, not written", () => {
    const dir = mkdtempSync(join(tmpdir(), 'demo-stack-config-'));
    // buckets is a key @obs/metrics adds: the stack composes the plugins, so their keys are known.
    writeFileSync(
      join(dir, 'config.toml'),
      `[monitoring]\nmetrics_port = 9181\n[monitoring.prometheus]\nnamespace = "trakt"\nsubsystem = "exporter"\nbuckets = [0.1, 1]\n[monitoring.alerts]\nwebhook_url = "https://hooks.slack.com/services/T0/B0/SECRET"\nrules_file = "mine.yml"\n`,
    );
    writeFileSync(
      join(dir, 'mine.yml'),
      'groups:\n  - name: mine\n    rules:\n      - alert: Slow\n        expr: trakt_exporter_cache_hit_ratio < 0.3\n',
    );
    const out = join(dir, 'out');
    const printed = execFileSync(process.execPath, [stackBin, '--config', join(dir, 'config.toml'), '--out', out], {
      encoding: 'utf8',
    });
    expect(readFileSync(join(out, 'prometheus.yml'), 'utf8')).toContain(':9181');
    expect(readFileSync(join(out, 'grafana/dashboards/obs-overview.json'), 'utf8')).toContain(
      'trakt_exporter_api_requests_total',
    );
    expect(readFileSync(join(out, 'rules/obs.rules.yml'), 'utf8')).toContain('alert: Slow');
    expect(readFileSync(join(out, 'alertmanager.yml'), 'utf8')).toContain('api_url_file');
    expect(printed).toContain('secret to provide: secrets/');
    for (const file of files(out)) expect(readFileSync(join(out, file), 'utf8'), file).not.toContain('SECRET');
  });

  test('a bad config exits 2 naming the key, without a stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'demo-stack-bad-'));
    writeFileSync(join(dir, 'config.toml'), '[monitoring]\nmetrics_port = "x"\n');
    const run = spawnSync(process.execPath, [stackBin, '--config', join(dir, 'config.toml'), '--out', join(dir, 'o')], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('metrics_port');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
