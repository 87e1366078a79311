import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { debianTool } from '@obs/testing';
import { describe, expect, test } from 'vitest';

const app = join(import.meta.dirname, '..');
const stack = join(app, 'stack');
const dashboards = join(app, 'node_modules/.bin/obs-dashboards');
const alerts = join(app, 'node_modules/.bin/obs-alerts');

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.endsWith('.md'))
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('the compose stack in stack/', () => {
  test('is what obs-dashboards generates from config.toml today (regenerate with pnpm stack)', () => {
    const fresh = mkdtempSync(join(tmpdir(), 'demo-stack-'));
    const rules = join(fresh, 'rules/obs.rules.yml');
    mkdirSync(join(fresh, 'rules'));
    execFileSync(alerts, ['export', '-o', rules], { stdio: 'pipe' });
    execFileSync(dashboards, ['stack', '--config', join(app, 'config.toml'), '--out', fresh, '--rules', rules], {
      stdio: 'pipe',
    });
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

  test('holds the seed dashboard and the generated overview', () => {
    expect(files(join(stack, 'grafana/dashboards'))).toEqual(['export-trakt-4-letterboxd.json', 'obs-overview.json']);
  });
});
