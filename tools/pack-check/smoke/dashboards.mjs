// Runs against @obs/dashboards and @obs/core installed from their tarballs, alone, with plain npm
// (@obs/metrics, an optional peer used only by the CLI, is absent).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMonitor, silentLogger } from '@obs/core';
import { dashboardsPlugin, defaultDashboard, seedDashboard, validateDashboard } from '@obs/dashboards';

const metrics = [
  { name: 'trakt_api_requests_total', type: 'counter', help: 'API requests', labelNames: ['endpoint', 'status'] },
  {
    name: 'trakt_api_duration_seconds',
    type: 'histogram',
    help: 'API duration',
    labelNames: ['endpoint'],
    unit: 'seconds',
  },
  { name: 'trakt_cache_hit_ratio', type: 'gauge', help: 'Cache hit ratio', labelNames: [], unit: 'ratio' },
  { name: 'trakt_export_operations_total', type: 'counter', help: 'Exports', labelNames: ['type', 'status'] },
];
assert.deepEqual(validateDashboard(defaultDashboard({ metrics }), { metrics }), []);
assert.deepEqual(validateDashboard(seedDashboard(), { metrics }), []);

const monitor = createMonitor({
  config: { metrics_port: 0, health_port: 0, host: '127.0.0.1' },
  plugins: [dashboardsPlugin()],
  logger: silentLogger,
});
await monitor.start();
const index = await (await fetch(new URL('/dashboards', monitor.url('metrics')))).json();
assert.deepEqual(
  index.dashboards.map((d) => d.uid),
  ['export-trakt-4-letterboxd'],
);
const seed = await (await fetch(new URL('/dashboards/export-trakt-4-letterboxd.json', monitor.url('metrics')))).json();
assert.equal(seed.panels[0].type, 'timeseries');
await monitor.stop();

const bin = join(process.cwd(), 'node_modules/.bin/obs-dashboards');
const help = spawnSync(bin, ['--help'], { encoding: 'utf8' });
assert.equal(help.status, 0, help.stderr);
assert.match(help.stdout, /obs-dashboards <build\|stack>/);
const build = spawnSync(bin, ['build', '--out', mkdtempSync(join(tmpdir(), 'obs-dash-'))], { encoding: 'utf8' });
assert.equal(build.status, 1);
assert.match(build.stderr, /needs @obs\/metrics/);
console.log('smoke ok');
