// Runs against @obs/health installed from its tarball, with @obs/core, using plain npm.
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { createMonitor, silentLogger } from '@obs/core';
import {
  authStatusCheck,
  cacheCheck,
  createHealthChecker,
  diskSpaceCheck,
  healthPlugin,
  memoryCheck,
} from '@obs/health';

const plugin = healthPlugin({
  checks: [
    { name: 'database', check: async () => ({ status: 'healthy', message: 'ok' }) },
    authStatusCheck({ token: () => ({ expiresAt: Date.now() + 3_600_000 * 3 }) }),
    cacheCheck(),
    diskSpaceCheck({ path: tmpdir(), minFreeBytes: 0, minFreePercent: 0, warnFreeBytes: 0, warnFreePercent: 0 }),
    memoryCheck(),
  ],
});
const monitor = createMonitor({
  config: { metrics_port: 0, health_port: 0, host: '127.0.0.1' },
  logger: silentLogger,
  plugins: [plugin],
});
await monitor.start();
monitor.updateCacheStats(0.847, 1.2 * 1024 * 1024, 456);
const res = await fetch(new URL('/health?refresh', monitor.url('health')));
assert.equal(res.status, 200);
const body = await res.json();
assert.deepEqual(Object.keys(body), ['status', 'timestamp', 'uptime', 'checks']);
assert.equal(body.status, 'healthy');
assert.match(body.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
assert.deepEqual(body.checks.cache.details, { hit_ratio: 0.847, size: '1.2MB', entries: 456 });
assert.equal(body.checks.auth_status.details.token_valid, true);
assert.equal(await (await fetch(new URL('/livez', monitor.url('health')))).text(), 'ok\n');
assert.equal((await fetch(new URL('/readyz', monitor.url('health')))).status, 200);
assert.equal(monitor.service('health.checker'), plugin.checker);
await monitor.stop();

const checker = createHealthChecker({
  checks: [{ name: 'x', critical: false, check: () => ({ status: 'unhealthy' }) }],
});
assert.equal((await checker.report()).status, 'degraded');
assert.throws(() => checker.register({ name: 'x', check: () => ({ status: 'healthy' }) }), {
  code: 'OBS_ERR_HEALTH_CHECK_DUPLICATE',
});
console.log('smoke ok');
