// One server of the HTTP benchmark, in its own process: `bare` express, `ctx` (see below), express with our
// `tracingMiddleware` at sample_rate 0.1 (OBS_BENCH_SAMPLE_RATE sets another), or express under OpenTelemetry's auto-instrumentation
// (instrumentation-http + instrumentation-express) with the same provider and sampler.
// Prints the bound port on stdout.
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import type { Express } from 'express';
import { initTracing, tracingMiddleware } from '../src/index.ts';

const variant = process.argv[2] ?? 'bare';
const require = createRequire(import.meta.url);

if (variant !== 'bare') await initTracing({ sample_rate: Number(process.env['OBS_BENCH_SAMPLE_RATE'] ?? 0.1) });
// `ctx`: the context manager alone, its AsyncLocalStorage switched on (node 20 enables its async
// hooks on first use), no spans: the share of the cost that any context propagation pays.
if (variant === 'ctx') context.with(ROOT_CONTEXT, () => {});
if (variant === 'otel') {
  const { registerInstrumentations } = await import('@opentelemetry/instrumentation');
  const { HttpInstrumentation } = await import('@opentelemetry/instrumentation-http');
  const { ExpressInstrumentation } = await import('@opentelemetry/instrumentation-express');
  registerInstrumentations({ instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation()] });
}
// Required after the instrumentations are registered, so that they can patch http and express.
const express = require('express') as () => Express;
const http = require('node:http') as typeof import('node:http');

const app = express();
app.disable('x-powered-by');
if (variant === 'obs') app.use(tracingMiddleware());
app.get('/users/:id', (req, res) => {
  res.json({ id: req.params['id'], name: 'Ada', watched: 42 });
});
const server = http.createServer(app);
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
