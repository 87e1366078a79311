// pnpm bench: @obs/tracing's hot paths against their baselines, measured in the same run, then the
// HTTP comparison (bench/http.ts) under autocannon.

import { EventEmitter } from 'node:events';
import { createMonitor, type Monitor, silentLogger } from '@obs/core';
import { type BenchCase, middlewareSides, runBenchmarks } from '@obs/testing/bench';
import type { Tracer } from '@opentelemetry/api';
import { tracingMiddleware, tracingPlugin, withSpan } from '../src/index.ts';

let sink = 0;

// The traced work: small, so that tracing overhead shows.
function work(i: number): number {
  let x = i;
  for (let k = 0; k < 20; k++) x = (x * 31 + k) | 0;
  return x;
}

async function started(sampleRate: number): Promise<{ monitor: Monitor; tracer: Tracer }> {
  const monitor = createMonitor({
    config: { metrics_port: 0, health_port: 0, host: '127.0.0.1', tracing: { sample_rate: sampleRate } },
    plugins: [tracingPlugin()],
    logger: silentLogger,
  });
  await monitor.start();
  return { monitor, tracer: monitor.service('tracing.tracer') };
}

const untraced = {
  name: 'untraced',
  run(n: number) {
    for (let i = 0; i < n; i++) sink += work(i);
  },
};

const traced = (rate: number) => ({
  name: `withSpan @${rate}`,
  run(n: number) {
    for (let i = 0; i < n; i++) sink += withSpan('work', undefined, () => work(i));
  },
});

const raw = (tracer: Tracer, rate: number) => ({
  name: `startActiveSpan @${rate}`,
  run(n: number) {
    for (let i = 0; i < n; i++) {
      sink += tracer.startActiveSpan('work', (span) => {
        try {
          return work(i);
        } finally {
          span.end();
        }
      });
    }
  },
});

function versusUntraced(rate: number): () => Promise<BenchCase> {
  return async () => {
    const { monitor } = await started(rate);
    return {
      name: `withSpan @${rate} vs untraced`,
      baseline: untraced,
      candidate: traced(rate),
      teardown: async () => {
        await monitor.stop();
        if (sink === 0.5) console.log(sink);
      },
    };
  };
}

function versusRaw(rate: number): () => Promise<BenchCase> {
  return async () => {
    const { monitor, tracer } = await started(rate);
    return {
      name: `withSpan @${rate} vs startActiveSpan`,
      baseline: raw(tracer, rate),
      candidate: traced(rate),
      // Same provider, same processor: the helper may cost at most a fifth more than the raw API.
      maxRatio: 1.2,
      teardown: async () => {
        await monitor.stop();
        if (sink === 0.5) console.log(sink);
      },
    };
  };
}

// The middleware's own cost per request, without the HTTP stack around it: a fake request and a
// response that closes at once, against the same dispatch with no middleware.
function middlewareCase(rate: number): () => Promise<BenchCase> {
  return async () => {
    const { monitor } = await started(rate);
    const middleware = tracingMiddleware();
    const req = {
      method: 'GET',
      url: '/users/7',
      headers: { host: '127.0.0.1:8080', 'user-agent': 'bench' },
      httpVersion: '1.1',
      socket: { remoteAddress: '127.0.0.1' },
      route: { path: '/users/:id' },
      baseUrl: '',
    } as unknown as Parameters<typeof middleware>[0];
    const response = () =>
      Object.assign(new EventEmitter(), { statusCode: 200, writableFinished: true }) as unknown as Parameters<
        typeof middleware
      >[1];
    return {
      name: `tracingMiddleware @${rate}, per request`,
      ...middlewareSides(`middleware @${rate}`, middleware, req, response),
      teardown: () => monitor.stop(),
    };
  };
}

await runBenchmarks('@obs/tracing', {
  'withSpan @0.1 vs untraced': versusUntraced(0.1),
  'withSpan @1 vs untraced': versusUntraced(1),
  'withSpan @0.1 vs startActiveSpan': versusRaw(0.1),
  'withSpan @1 vs startActiveSpan': versusRaw(1),
  'tracingMiddleware @0.1, per request': middlewareCase(0.1),
  'tracingMiddleware @1, per request': middlewareCase(1),
});

if (process.env['OBS_BENCH_CASE'] === undefined && process.env['OBS_BENCH_SKIP_HTTP'] === undefined) {
  await import('./http.ts');
}
