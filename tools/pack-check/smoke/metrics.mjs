// Runs against @obs/metrics and @obs/core installed from their tarballs, alone, with plain npm.
import assert from 'node:assert/strict';
import { createMonitor, silentLogger } from '@obs/core';
import { createMetrics, metricsPlugin } from '@obs/metrics';

const standalone = createMetrics({ namespace: 'trakt', defaultMetrics: false });
standalone.recordApiCall('watched_movies', 200, 145);
assert.match(await standalone.render(), /trakt_api_requests_total\{endpoint="watched_movies",status="200"\} 1/);

const monitor = createMonitor({
  config: { metrics_port: 0, health_port: 0, host: '127.0.0.1' },
  plugins: [metricsPlugin()],
  logger: silentLogger,
});
await monitor.start();
monitor.recordExport('movies', 'success', 150);
const res = await fetch(new URL('/metrics', monitor.url('metrics')));
const text = await res.text();
assert.match(text, /^export_items_total\{type="movies",status="success"\} 150/m);
assert.match(text, /process_cpu_user_seconds_total/);
await monitor.stop();
console.log('smoke ok');
