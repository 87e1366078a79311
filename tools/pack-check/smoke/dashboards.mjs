// Runs against @obs/dashboards, @obs/core and @obs/promql installed from their tarballs, alone, with plain npm.
import assert from 'node:assert/strict';
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
assert.deepEqual(validateDashboard(seedDashboard({ namespace: 'trakt' }), { metrics }), []);

const monitor = createMonitor({
  config: { metrics_port: 0, health_port: 0, host: '127.0.0.1', dashboards: { seed_dashboard: true } },
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

// The panels' PromQL is checked by @obs/promql, installed with it.
const broken = validateDashboard(
  {
    ...seedDashboard({ namespace: 'trakt' }),
    panels: [{ ...seedDashboard({ namespace: 'trakt' }).panels[0], targets: [{ refId: 'A', expr: 'rate(x' }] }],
  },
  { metrics },
);
assert.ok(
  broken.some((i) => i.message.includes('PromQL does not parse')),
  JSON.stringify(broken),
);
console.log('smoke ok');
