// Runs against @obs/core installed from its tarball, alone, with plain npm.
import assert from 'node:assert/strict';
import { createMonitor, loadConfig, ObsConfigError, parseDuration, silentLogger } from '@obs/core';

assert.equal(parseDuration('2h34m12s'), 9_252_000);
const config = loadConfig({ env: {}, overrides: { metrics_port: 0, health_port: 0, host: '127.0.0.1' } });
const calls = [];
const monitor = createMonitor({
  config,
  logger: silentLogger,
  plugins: [
    {
      name: 'smoke',
      setup(ctx) {
        ctx.bus.on('api:called', (event) => calls.push(event));
        ctx.endpoints.mount('metrics', '/ping', (_req, res) => res.send('pong'));
      },
    },
  ],
});
await monitor.start();
monitor.recordApiCall('watched_movies', 200, 12);
assert.equal(await (await fetch(new URL('/ping', monitor.url('metrics')))).text(), 'pong');
assert.deepEqual(calls, [{ endpoint: 'watched_movies', status: 200, durationMs: 12, method: 'GET' }]);
await monitor.stop();
assert.throws(() => loadConfig({ env: {}, overrides: { tracing: { sample_rate: 1.5 } } }), ObsConfigError);
console.log('smoke ok');
