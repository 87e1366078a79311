// Runs against @obs/tracing installed from its tarball (with @obs/core), alone, with plain npm.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createMonitor, ObsConfigError, silentLogger } from '@obs/core';
import { initTracing, traceApiCall, tracingPlugin, withSpan } from '@obs/tracing';

// The embedded default: spans in memory, served at /traces.
const monitor = createMonitor({
  config: { metrics_port: 0, health_port: 0, host: '127.0.0.1', tracing: { sample_rate: 1 } },
  logger: silentLogger,
  plugins: [tracingPlugin()],
});
const calls = [];
monitor.bus.on('api:called', (event) => calls.push(event));
await monitor.start();
await withSpan('export.run', { 'export.kind': 'movies' }, () =>
  traceApiCall(monitor, 'watched_movies', async () => ({ status: 200 })),
);
const body = await (await fetch(new URL('/traces?name=api.*', monitor.url('metrics')))).json();
assert.equal(body.spans.length, 1);
assert.equal(body.spans[0].name, 'api.watched_movies');
assert.equal(body.spans[0].attributes['api.endpoint'], 'watched_movies');
assert.equal(calls.length, 1);
await monitor.stop();

// OTLP/HTTP JSON to a loopback collector, through the lazily loaded exporter.
const received = [];
const collector = createServer((req, res) => {
  let text = '';
  req.on('data', (chunk) => {
    text += chunk;
  });
  req.on('end', () => {
    received.push(JSON.parse(text));
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
await new Promise((resolve) => collector.listen(0, '127.0.0.1', resolve));
const tracing = await initTracing({
  endpoint: `http://127.0.0.1:${collector.address().port}`,
  otlp_protocol: 'http/json',
  sample_rate: 1,
  service_name: 'smoke',
});
assert.equal(tracing.exporter, 'otlp');
withSpan('smoke.span', undefined, () => {});
await tracing.shutdown();
collector.close();
const span = received[0]?.resourceSpans?.[0]?.scopeSpans?.[0]?.spans?.[0];
assert.equal(span?.name, 'smoke.span');

// The legacy Jaeger exporter loads from the installed dependencies.
const jaeger = await initTracing({ endpoint: 'http://127.0.0.1:9/api/traces' }, { registerGlobals: false });
assert.equal(jaeger.exporter, 'jaeger');
await jaeger.shutdown();

assert.throws(() => tracingPlugin({ serviceVersion: '' }), ObsConfigError);
console.log('smoke ok');
