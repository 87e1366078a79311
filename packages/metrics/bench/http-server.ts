// One variant of the benchmark app, in its own process (see http.ts for the list). Prints its port on
// stdout, answers its CPU time at /__cpu, stops on SIGTERM. `both` and `tracing` take @obs/tracing from its
// sources and `bundle-otel` OTel's auto-instrumentation from @obs/tracing's dev dependencies: @obs/metrics
// does not depend on them, the benchmark only compares against them.
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Express, RequestHandler } from 'express';
import promBundle from 'express-prom-bundle';
import { createMetrics } from '../src/index.ts';

const variant = process.argv[2];
const SAMPLE_RATE = 0.1;
const tracingDir = join(import.meta.dirname, '..', '..', 'tracing');
const fromTracing = createRequire(join(tracingDir, 'package.json'));

interface TracingModule {
  initTracing(config: { sample_rate: number; exporter?: string }): Promise<unknown>;
  tracingMiddleware(): RequestHandler;
}
let tracing: TracingModule | undefined;
if (variant === 'both' || variant === 'tracing' || variant === 'bundle-otel') {
  tracing = (await import(join(tracingDir, 'src', 'index.ts'))) as TracingModule;
  // The same provider and sampler for ours and OTel's auto-instrumentation: spans kept in memory.
  await tracing.initTracing({ sample_rate: SAMPLE_RATE });
}
if (variant === 'bundle-otel') {
  const { registerInstrumentations } = fromTracing('@opentelemetry/instrumentation') as {
    registerInstrumentations(o: { instrumentations: unknown[] }): void;
  };
  const { HttpInstrumentation } = fromTracing('@opentelemetry/instrumentation-http') as {
    HttpInstrumentation: new () => unknown;
  };
  const { ExpressInstrumentation } = fromTracing('@opentelemetry/instrumentation-express') as {
    ExpressInstrumentation: new () => unknown;
  };
  registerInstrumentations({ instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation()] });
}
// Required after the instrumentations are registered, so that they can patch http and express.
const require = createRequire(import.meta.url);
const express = require('express') as () => Express;
const http = require('node:http') as typeof import('node:http');

const app = express();
app.disable('x-powered-by');
app.get('/__cpu', (_req, res) => {
  const { user, system } = process.cpuUsage();
  res.json({ micros: user + system });
});
if (variant === 'obs' || variant === 'both') app.use(createMetrics({ defaultMetrics: false }).httpMiddleware());
if (variant === 'both' || variant === 'tracing') app.use(tracing!.tracingMiddleware());
if (variant === 'bundle' || variant === 'bundle-otel')
  app.use(promBundle({ includeMethod: true, includePath: true, includeStatusCode: true }));
if (variant === 'noop') app.use((_req, _res, next) => next());
app.get('/movies/:id', (req, res) => void res.json({ id: req.params['id'], title: 'The Silent River', year: 1987 }));
const server = http.createServer(app);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
