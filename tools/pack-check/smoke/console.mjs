// Runs against @obs/console installed from its tarball, with @obs/core, using plain npm: the built page ships.
import assert from 'node:assert/strict';
import { consoleErrorCodes, consolePlugin } from '@obs/console';
import { createMonitor, silentLogger } from '@obs/core';

const plugin = consolePlugin({ refreshInterval: '5s' });
const monitor = createMonitor({
  config: { metrics_port: 0, health_port: 0, host: '127.0.0.1' },
  logger: silentLogger,
  plugins: [plugin],
});
await monitor.start();
const page = await fetch(new URL('/', monitor.url('health')));
assert.equal(page.status, 200);
assert.match(page.headers.get('content-security-policy'), /script-src 'self'/);
assert.match(await page.text(), /<script type="module" src="console.js"><\/script>/);
const js = await fetch(new URL('/console.js', monitor.url('health')));
assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
assert.ok((await js.text()).length > 10_000);
const settings = await (await fetch(new URL('/console.json', monitor.url('health')))).json();
assert.equal(settings.refreshMs, 5_000);
assert.equal(plugin.url.href, new URL('/', monitor.url('health')).href);
await monitor.stop();
assert.ok('OBS_ERR_CONSOLE_ASSETS_MISSING' in consoleErrorCodes);
console.log('smoke ok');
