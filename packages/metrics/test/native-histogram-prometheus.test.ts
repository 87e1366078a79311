import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMonitor, silentLogger } from '@obs/core';
import { debianTool, type RunningTool, startPrometheus, waitUntil } from '@obs/testing';
import { context } from '@opentelemetry/api';
import { AsyncHooksContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { metricsPlugin } from '../src/index.ts';

// A real Prometheus 2.42 with --enable-feature=native-histograms scrapes the plugin (protobuf, as it asks
// for it) and stores the API duration histogram as a native histogram.
const prometheus = debianTool('prometheus');
const promtool = debianTool('promtool');
const dir = mkdtempSync(join(tmpdir(), 'obs-native-'));
const servers: RunningTool[] = [];
const manager = new AsyncHooksContextManager();
beforeAll(() => {
  context.setGlobalContextManager(manager.enable());
});
afterAll(async () => {
  context.disable();
  for (const s of servers) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Result {
  metric: Record<string, string>;
  value?: [number, string];
  histogram?: [number, { count: string; sum: string }];
  histograms?: [number, { count: string; sum: string }][];
}

async function query(url: string, expr: string, time: number): Promise<Result[]> {
  const params = new URLSearchParams({ query: expr, time: `${time}` });
  const body = (await (await fetch(`${url}/api/v1/query?${params}`)).json()) as {
    status: string;
    data: { result: Result[] };
  };
  expect(body.status).toBe('success');
  return body.data.result;
}

const scalar = async (url: string, expr: string, time: number): Promise<number> =>
  Number((await query(url, expr, time))[0]?.value?.[1]);

// Prometheus 2.42's extrapolatedRate for a native histogram (promql/functions.go): the increase between the
// first and the last sample, extrapolated towards the window's edges, per second. Times are taken back to whole
// milliseconds, as Prometheus holds them: differences of float seconds near 1.7e9 lose about 2e-7 s each.
function expectedRate(samples: [number, number][], startS: number, endS: number): number {
  const ms = (s: number): number => Math.round(s * 1000);
  const [start, end] = [ms(startS), ms(endS)];
  const [firstT, first] = [ms(samples[0]![0]), samples[0]![1]];
  const [lastT, last] = [ms(samples[samples.length - 1]![0]), samples[samples.length - 1]![1]];
  const sampled = lastT - firstT;
  const average = sampled / (samples.length - 1);
  const threshold = average * 1.1;
  let interval = sampled;
  interval += firstT - start < threshold ? firstT - start : average / 2;
  interval += end - lastT < threshold ? end - lastT : average / 2;
  return ((last - first) * (interval / sampled)) / ((end - start) / 1000);
}

describe.skipIf(prometheus === undefined)('native histograms in a real Prometheus 2.42', () => {
  test('count, sum and the 95th percentile from Prometheus match what was observed', async () => {
    const monitor = await createMonitor({
      config: {
        metrics_port: 0,
        health_port: 0,
        host: '127.0.0.1',
        prometheus: {
          namespace: 'trakt',
          default_metrics: false,
          native_histograms: true,
          bucket_factor: 1.1,
          collect_interval: '1s',
        },
      },
      plugins: [metricsPlugin()],
      logger: silentLogger,
    }).start();
    try {
      const target = monitor.url('metrics');
      const server = await startPrometheus(prometheus!, {
        dir,
        targets: [target.host],
        flags: ['--enable-feature=native-histograms,exemplar-storage'],
      });
      servers.push(server);
      const url = server.url;
      const count = async (): Promise<number> => {
        const r = await query(url, 'histogram_count(trakt_api_duration_seconds)', Date.now() / 1000);
        return r.length === 0 ? -1 : Number(r[0]!.value![1]);
      };
      // One call makes the series (within a span: its exemplar travels in the protobuf); the observations to
      // check come after Prometheus has stored it.
      let traceId = '';
      new BasicTracerProvider().getTracer('test').startActiveSpan('api', (span) => {
        traceId = span.spanContext().traceId;
        monitor.recordApiCall('watched_movies', 200, 100);
        span.end();
      });
      await waitUntil(async () => (await count()) === 1, {
        what: 'Prometheus to store the first observation',
        timeoutMs: 20_000,
      });
      // Our own store (the plugin's query API on the same listener) keeps the same native histogram.
      const ours = new URL('/', target).href.replace(/\/$/, '');
      const ourCount = async (): Promise<number> => {
        const r = await query(ours, 'histogram_count(trakt_api_duration_seconds)', Date.now() / 1000);
        return r.length === 0 ? -1 : Number(r[0]!.value![1]);
      };
      await waitUntil(async () => (await ourCount()) === 1, {
        what: 'the embedded store to collect the first observation',
        timeoutMs: 20_000,
      });
      // Log-uniform durations from 1 ms to 5 s, in a fixed pseudo-random order.
      const observed: number[] = [];
      let seed = 42;
      for (let i = 0; i < 2_000; i++) {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        const ms = 10 ** ((seed / 2 ** 31) * Math.log10(5_000));
        observed.push(ms / 1000);
        monitor.recordApiCall('watched_movies', 200, ms);
      }
      await waitUntil(async () => (await count()) === 2_001 && (await ourCount()) === 2_001, {
        what: 'Prometheus and the embedded store to store every observation',
        timeoutMs: 20_000,
      });
      const at = Date.now() / 1000;

      const sum = observed.reduce((a, b) => a + b, 0);
      // The stored histogram itself, exactly.
      expect(await scalar(url, 'histogram_count(trakt_api_duration_seconds)', at)).toBe(2_001);
      expect(await scalar(url, 'histogram_sum(trakt_api_duration_seconds)', at)).toBeCloseTo(sum + 0.1, 6);

      // rate() over the window: the increase is exactly the observations, extrapolated as Prometheus does.
      const raw = await query(url, 'trakt_api_duration_seconds[1m]', at);
      const samples = raw[0]!.histograms!.map(([t, h]) => [t, Number(h.count)] as [number, number]);
      const sums = raw[0]!.histograms!.map(([t, h]) => [t, Number(h.sum)] as [number, number]);
      expect(samples[0]![1]).toBe(1);
      expect(samples[samples.length - 1]![1]).toBe(2_001);
      const rateCount = await scalar(url, 'histogram_count(rate(trakt_api_duration_seconds[1m]))', at);
      const rateSum = await scalar(url, 'histogram_sum(rate(trakt_api_duration_seconds[1m]))', at);
      // Computed on whole milliseconds as Prometheus does: equal but for the last bits.
      expect(Math.abs(rateCount / expectedRate(samples, at - 60, at) - 1)).toBeLessThan(1e-12);
      expect(Math.abs(rateSum / expectedRate(sums, at - 60, at) - 1)).toBeLessThan(1e-12);
      expect(rateSum / rateCount).toBeCloseTo(sum / 2_000, 9);

      // The 95th percentile lies within one bucket (a factor of bucket_factor) of the true one.
      const sorted = [...observed].sort((a, b) => a - b);
      const truth = sorted[Math.ceil(0.95 * sorted.length) - 1]!;
      const p95 = await scalar(url, 'histogram_quantile(0.95, rate(trakt_api_duration_seconds[1m]))', at);
      expect(p95).toBeGreaterThan(truth / 1.1);
      expect(p95).toBeLessThan(truth * 1.1);
      console.log(
        `rate count ${rateCount} sum ${rateSum}; p95 Prometheus ${p95} true ${truth} (ratio ${(p95 / truth).toFixed(4)})`,
      );

      // Our engine on our own samples: the same histogram, written in the same JSON (count, sum, and each bucket
      // as [boundary rule, lower, upper, count]), and the same 95th percentile within the bucket resolution.
      const theirs = (await query(url, 'trakt_api_duration_seconds', at))[0]!.histogram![1];
      const mine = (await query(ours, 'trakt_api_duration_seconds', at))[0]!.histogram![1];
      expect(mine).toEqual(theirs);
      expect((mine as { buckets?: unknown[] }).buckets!.length).toBeGreaterThan(50);
      const ourP95 = await scalar(ours, 'histogram_quantile(0.95, rate(trakt_api_duration_seconds[1m]))', at);
      expect(ourP95 / p95).toBeGreaterThan(1 / 1.1);
      expect(ourP95 / p95).toBeLessThan(1.1);
      console.log(`p95 ours ${ourP95}, Prometheus 2.42 ${p95}`);

      // The classic text of the same plugin, at the same time, is what promtool accepts.
      const text = await (await fetch(new URL('/metrics', target))).text();
      expect(text).toContain('trakt_api_duration_seconds_bucket{le="+Inf",endpoint="watched_movies"} 2001');
      if (promtool !== undefined)
        expect(execFileSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' })).toBe('');
      expect(await scalar(url, 'up', at)).toBe(1);
      // The counter's exemplar, written in the protobuf, is in Prometheus's exemplar storage.
      const exemplars = (await (
        await fetch(
          `${url}/api/v1/query_exemplars?${new URLSearchParams({ query: 'trakt_api_requests_total', start: `${at - 120}`, end: `${at}` })}`,
        )
      ).json()) as { data: { exemplars: { labels: Record<string, string> }[] }[] };
      expect(exemplars.data.flatMap((s) => s.exemplars.map((e) => e.labels['trace_id']))).toContain(traceId);
      // Prometheus 2.x keeps only the native histogram of a family it scraped as protobuf: no _bucket series.
      expect(await query(url, 'trakt_api_duration_seconds_bucket', at)).toEqual([]);
      // The other types arrive through protobuf too.
      expect(await scalar(url, 'trakt_api_requests_total{endpoint="watched_movies",status="200"}', at)).toBe(2_001);
      expect(await scalar(url, 'trakt_system_memory_bytes{type="rss"}', at)).toBeGreaterThan(0);
    } finally {
      await monitor.stop();
    }
  }, 90_000);
});
