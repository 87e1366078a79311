import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { debianTool, listenLoopback } from '@obs/testing';
import { context, trace } from '@opentelemetry/api';
import { AsyncHooksContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import express from 'express';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createMetrics, negotiateFormat } from '../src/index.ts';

// The same data recorded through our metric set and through plain prom-client metrics.
function twins() {
  const ours = createMetrics({ namespace: 'trakt', defaultMetrics: false, exemplars: false, exportKinds: [] });
  const reg = new Registry();
  const requests = new Counter({
    name: 'trakt_api_requests_total',
    help: 'Total API requests',
    labelNames: ['endpoint', 'status'],
    registers: [reg],
  });
  const duration = new Histogram({
    name: 'trakt_api_duration_seconds',
    help: 'API request duration',
    labelNames: ['endpoint'],
    registers: [reg],
  });
  const calls: [string, number, number][] = [
    ['watched_movies', 200, 145],
    ['watched_movies', 200, 12],
    ['watched_movies', 429, 3],
    ['ratings', 200, 1200],
    ['history "quoted"\\n', 503, 20_000],
  ];
  for (const [endpoint, status, ms] of calls) {
    ours.recordApiCall(endpoint, status, ms);
    requests.inc({ endpoint, status: `${status}` });
    duration.observe({ endpoint }, ms / 1000);
  }
  return { ours, reg };
}

function block(text: string, name: string, separator = '\n\n'): string {
  return (text.split(separator).find((b) => b.startsWith(`# HELP ${name} `)) ?? '').trimEnd();
}

describe('exposition', () => {
  test("the text format is prom-client's, to the byte", async () => {
    const { ours, reg } = twins();
    const mine = await ours.render();
    const theirs = await reg.metrics();
    for (const name of ['trakt_api_requests_total', 'trakt_api_duration_seconds']) {
      expect(block(mine, name)).not.toBe('');
      expect(block(mine, name)).toBe(block(theirs, name));
    }
    expect(mine.endsWith('\n') && !mine.endsWith('\n\n')).toBe(true);
  });

  test("the OpenMetrics format is prom-client's, and ends with # EOF", async () => {
    const { ours, reg } = twins();
    reg.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
    const mine = await ours.render('openmetrics');
    const theirs = await reg.metrics();
    const cut = (text: string, name: string) => {
      const start = text.indexOf(`# HELP ${name} `);
      const end = text.indexOf('\n# HELP', start + 1);
      return text.slice(start, end === -1 ? text.indexOf('\n# EOF') : end);
    };
    expect(cut(mine, 'trakt_api_requests')).toContain('trakt_api_requests_total{endpoint="ratings",status="200"} 1');
    expect(cut(mine, 'trakt_api_requests')).toBe(cut(theirs, 'trakt_api_requests'));
    expect(cut(mine, 'trakt_api_duration_seconds')).toBe(cut(theirs, 'trakt_api_duration_seconds'));
    expect(mine.endsWith('\n# EOF\n')).toBe(true);
  });

  test("the app's own prom-client metrics in the registry render as prom-client renders them", async () => {
    const metrics = createMetrics({ namespace: 'trakt', defaultMetrics: false, exportKinds: [] });
    const g = new Gauge({
      name: 'app_queue_depth',
      help: 'Queue\ndepth',
      labelNames: ['queue'],
      registers: [metrics.registry],
    });
    g.set({ queue: 'a' }, 3);
    const h = new Histogram({ name: 'app_job_seconds', help: 'Jobs', buckets: [1, 2], registers: [metrics.registry] });
    h.observe(1.5);
    const c = new Counter({ name: 'app_jobs_total', help: 'Jobs', registers: [metrics.registry] });
    c.inc(2);
    const mine = await metrics.render();
    const alone = new Registry();
    for (const m of [g, h, c]) alone.registerMetric(m);
    const theirs = await alone.metrics();
    for (const name of ['app_queue_depth', 'app_job_seconds', 'app_jobs_total'])
      expect(block(mine, name)).toBe(block(theirs, name));
    const open = await metrics.render('openmetrics');
    expect(open).toContain('# TYPE app_jobs counter\napp_jobs_total 2');
    // Rendering OpenMetrics must not rename the app's counter for the next text scrape (prom-client does).
    expect(await metrics.render()).toContain('# TYPE app_jobs_total counter\napp_jobs_total 2');
  });

  test('promtool check metrics accepts the whole output', async (ctx) => {
    const promtool = debianTool('promtool');
    if (promtool === undefined) return ctx.skip();
    const metrics = createMetrics({ namespace: 'trakt' });
    metrics.recordApiCall('watched_movies', 200, 145);
    metrics.updateCacheStats(0.85, 1024, 3);
    metrics.recordExport('movies', 'success', 150);
    metrics.setActiveWorkers(2);
    const out = execFileSync(promtool, ['check', 'metrics'], { input: await metrics.render(), encoding: 'utf8' });
    expect(out).toBe('');
  });

  describe('exemplars from the active OpenTelemetry span', () => {
    const manager = new AsyncHooksContextManager();
    const provider = new BasicTracerProvider();
    beforeAll(() => {
      context.setGlobalContextManager(manager.enable());
    });
    afterAll(() => {
      context.disable();
    });

    test('OpenMetrics carries trace and span id on the counter and the bucket; text has none', async () => {
      const metrics = createMetrics({ namespace: 'trakt', defaultMetrics: false, exportKinds: [] });
      const tracer = provider.getTracer('test');
      let ids = { traceId: '', spanId: '' };
      tracer.startActiveSpan('api.watched_movies', (span) => {
        ids = span.spanContext();
        metrics.recordApiCall('watched_movies', 200, 42);
        span.end();
      });
      metrics.recordApiCall('ratings', 200, 42);
      const open = await metrics.render('openmetrics');
      const ex = `# {trace_id="${ids.traceId}",span_id="${ids.spanId}"}`;
      expect(open).toMatch(
        new RegExp(
          `trakt_api_requests_total\\{endpoint="watched_movies",status="200"\\} 1 ${ex.replace(/[{}]/g, '\\$&')} 1 \\d+\\.?\\d*`,
        ),
      );
      expect(open).toMatch(
        new RegExp(
          `trakt_api_duration_seconds_bucket\\{le="0.05",endpoint="watched_movies"\\} 1 ${ex.replace(/[{}]/g, '\\$&')} 0.042 \\d+`,
        ),
      );
      expect(open).not.toMatch(/endpoint="ratings",status="200"\} 1 #/);
      expect(await metrics.render('prometheus')).not.toContain('trace_id');
      expect(trace.getActiveSpan()).toBeUndefined();
    });
  });
});

describe('serving /metrics', () => {
  async function serve(metrics = createMetrics({ namespace: 'trakt', defaultMetrics: false })) {
    const app = express();
    app.use('/metrics', metrics.handler());
    return listenLoopback(app);
  }

  test('negotiates the format from Accept, as Prometheus sends it', async () => {
    expect(negotiateFormat(undefined)).toBe('prometheus');
    expect(negotiateFormat('text/plain;version=0.0.4;q=0.5,*/*;q=0.1')).toBe('prometheus');
    const prometheus3 =
      'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';
    expect(negotiateFormat(prometheus3)).toBe('openmetrics');
    expect(negotiateFormat('application/openmetrics-text;q=0.1,text/plain;q=0.9')).toBe('prometheus');
    await using server = await serve();
    const url = new URL('/metrics', server.url);
    const open = await fetch(url, { headers: { accept: prometheus3 } });
    expect(open.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(await open.text()).toMatch(/# EOF\n$/);
    const text = await fetch(url);
    expect(text.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  test('gzips when the scraper accepts it', async () => {
    await using server = await serve();
    const { request } = await import('node:http');
    const body = await new Promise<{ encoding: string | undefined; data: Buffer }>((resolve, reject) => {
      request(new URL('/metrics', server.url), { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ encoding: res.headers['content-encoding'], data: Buffer.concat(chunks) }));
      })
        .on('error', reject)
        .end();
    });
    expect(body.encoding).toBe('gzip');
    expect(gunzipSync(body.data).toString()).toContain('# TYPE trakt_api_requests_total counter');
  });

  test('concurrent scrapes share one collection', async () => {
    const metrics = createMetrics({ namespace: 'trakt', defaultMetrics: false });
    // The collection is held open until all five scrapes have reached the handler (an event, not a 50 ms sleep).
    let release!: () => void;
    const allArrived = new Promise<void>((resolve) => {
      release = resolve;
    });
    let collections = 0;
    new Gauge({
      name: 'app_slow_gauge',
      help: 'Slow to collect',
      registers: [metrics.registry],
      async collect() {
        collections++;
        await allArrived;
        this.set(1);
      },
    });
    let arrived = 0;
    const app = express();
    app.use(
      '/metrics',
      (_req, _res, next) => {
        next();
        // After the handler has taken this scrape in: the fifth one opens the collection.
        if (++arrived === 5) setImmediate(release);
      },
      metrics.handler(),
    );
    await using server = await listenLoopback(app);
    const url = new URL('/metrics', server.url);
    const bodies = await Promise.all(Array.from({ length: 5 }, () => fetch(url).then((r) => r.text())));
    expect(collections).toBe(1);
    expect(new Set(bodies).size).toBe(1);
    await fetch(url).then((r) => r.text());
    expect(collections).toBe(2);
  });

  test('a failing collection answers 500 and reports, without crashing', async () => {
    const errors: Error[] = [];
    const metrics = createMetrics({ namespace: 'trakt', defaultMetrics: false, onError: (e) => errors.push(e) });
    new Gauge({
      name: 'app_broken',
      help: 'Throws',
      registers: [metrics.registry],
      collect() {
        throw new Error('db down');
      },
    });
    await using server = await serve(metrics);
    const res = await fetch(new URL('/metrics', server.url));
    expect(res.status).toBe(500);
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['OBS_ERR_METRICS_COLLECT']);
  });
});
