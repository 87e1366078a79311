// Runs against @obs/alerts and @obs/core installed from their tarballs, alone, with plain npm.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { alertsPlugin, createAlertEngine, seedRules } from '@obs/alerts';
import { createMonitor, silentLogger } from '@obs/core';
import { createSampleStore } from '@obs/promql';

assert.equal(seedRules().length, 3);
const store = createSampleStore();
store.append({ __name__: 'trakt_cache_hit_ratio' }, 0, 0.2);
const engine = createAlertEngine({ rules: [{ name: 'Low', expr: 'trakt_cache_hit_ratio < 0.5' }], source: store });
assert.equal(engine.evaluate(1000)[0]?.state, 'firing');

const monitor = createMonitor({
  config: { metrics_port: 0, health_port: 0, host: '127.0.0.1' },
  plugins: [alertsPlugin()],
  logger: silentLogger,
});
await monitor.start();
assert.equal(monitor.service('alerts.rules')().length, 3);
await monitor.stop();
// The bin, through the symlink npm made.
const exported = execFileSync('node_modules/.bin/obs-alerts', ['export'], { encoding: 'utf8' });
assert.match(exported, /alert: Export Failures/);
console.log('smoke ok');
