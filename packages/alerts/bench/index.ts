// pnpm bench: one evaluation tick of 100 rules over 10,000 series, and the sample store's memory.

import { createSampleStore, type SampleStore } from '@obs/promql';
import { type BenchCase, runBenchmarks } from '@obs/testing/bench';
import { type AlertRuleInput, createAlertEngine } from '../src/index.ts';

const INTERVAL_MS = 15_000;
const METRICS = 10;
const SERIES_PER_METRIC = 1000;
const HISTORY = 21; // 5m of 15s samples

function fill(): { store: SampleStore; now: number } {
  const store = createSampleStore({ retentionMs: 20 * 60_000 });
  const now = HISTORY * INTERVAL_MS;
  for (let k = 0; k < HISTORY; k++) {
    const samples = [];
    for (let m = 0; m < METRICS; m++)
      for (let s = 0; s < SERIES_PER_METRIC; s++)
        samples.push({
          name: `bench_metric_${m}_total`,
          labels: { endpoint: `e${s % 100}`, status: String(200 + (s % 10) * 50), instance: `i${s}` },
          value: k * (s % 7) + (m === 0 && k === 10 ? -5 : 0),
        });
    store.ingest(k * INTERVAL_MS, samples);
  }
  return { store, now };
}

function rules(): AlertRuleInput[] {
  const shapes = [
    (m: number) => `rate(bench_metric_${m}_total{status=~"[45].."}[5m]) > 0.1`,
    (m: number) => `sum by (endpoint) (rate(bench_metric_${m}_total[5m])) > 10`,
    (m: number) => `bench_metric_${m}_total{status="200"} < 3`,
    (m: number) => `increase(bench_metric_${m}_total{status="500"}[5m]) > 0`,
    (m: number) => `avg_over_time(bench_metric_${m}_total{endpoint="e7"}[5m]) > 1`,
    (m: number) =>
      `max by (status) (bench_metric_${m}_total) / ignoring(status) group_left sum(bench_metric_${m}_total) > 0.5`,
    (m: number) => `topk(3, bench_metric_${m}_total) > 100`,
    (m: number) => `absent(bench_metric_${m}_total{endpoint="nope"})`,
    (m: number) => `count by (endpoint) (bench_metric_${m}_total > 5) > 2`,
    (m: number) =>
      `bench_metric_${m}_total{status="250"} and on(endpoint) bench_metric_${(m + 1) % METRICS}_total{status="300"}`,
  ];
  const out: AlertRuleInput[] = [];
  for (let i = 0; i < 100; i++)
    out.push({ name: `rule_${i}`, expr: shapes[i % shapes.length]!(Math.floor(i / 10)), for: '1m' });
  return out;
}

await runBenchmarks(
  '@obs/alerts',
  {
    tick: () => {
      const { store, now } = fill();
      const engine = createAlertEngine({ rules: rules(), source: store });
      const selectors = engine.rules.map((r) => r.ast);
      return {
        name: 'one tick: 100 rules over 10,000 series',
        baseline: {
          name: 'select every series the rules read (no evaluation)',
          run(n) {
            for (let i = 0; i < n; i++)
              for (const ast of selectors) {
                const name = JSON.stringify(ast).match(/"__name__","op":"=","value":"([^"]+)"/)?.[1];
                for (const _ of store.select([{ name: '__name__', op: '=', value: name ?? '' }], now - 300_000, now));
              }
          },
        },
        candidate: {
          name: 'engine.evaluate(now)',
          run(n) {
            for (let i = 0; i < n; i++) engine.evaluate(now + i);
          },
        },
      } satisfies BenchCase;
    },
  },
  { rounds: 5, roundMs: 200 },
);

if (process.env['OBS_BENCH_CASE'] === undefined) {
  const { store, now } = fill();
  const engine = createAlertEngine({ rules: rules(), source: store });
  engine.evaluate(now);
  const start = process.hrtime.bigint();
  const ticks = 5;
  for (let i = 0; i < ticks; i++) engine.evaluate(now + i);
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / ticks;
  const stats = store.stats();
  console.log(
    `tick: ${ms.toFixed(1)} ms = ${((ms / INTERVAL_MS) * 100).toFixed(3)}% of a 15s evaluation interval; ` +
      `store: ${stats.series} series, ${stats.samples} samples, ${(stats.bytes / stats.samples).toFixed(1)} bytes per stored sample ` +
      `(${stats.bytesPerSeries} bytes of buffers per series)`,
  );
}
