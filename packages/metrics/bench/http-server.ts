// One variant of the benchmark app, in its own process: `bare`, `obs` (our middleware), `bundle`
// (express-prom-bundle) or `noop` (an empty middleware, to show the method's noise). Prints its port
// on stdout, answers its CPU time at /__cpu, stops on SIGTERM.
import type { AddressInfo } from 'node:net';
import express from 'express';
import promBundle from 'express-prom-bundle';
import { createMetrics } from '../src/index.ts';

const variant = process.argv[2];
const app = express();
app.disable('x-powered-by');
app.get('/__cpu', (_req, res) => {
  const { user, system } = process.cpuUsage();
  res.json({ micros: user + system });
});
if (variant === 'obs') app.use(createMetrics({ defaultMetrics: false }).httpMiddleware());
if (variant === 'bundle') app.use(promBundle({ includeMethod: true, includePath: true, includeStatusCode: true }));
if (variant === 'noop') app.use((_req, _res, next) => next());
app.get('/movies/:id', (req, res) => void res.json({ id: req.params.id, title: 'The Silent River', year: 1987 }));
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
