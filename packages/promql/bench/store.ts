// pnpm bench:store: bytes per sample and resident memory of the sample store, on the demo-like metric set
// (counters, gauges, a classic histogram) over 1 h at a 5 s collect interval.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createSampleStore, type SampleStore } from '../src/index.ts';
import { createMetricSet } from '../test/metric-set.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const HOUR_MS = 3_600_000;
const INTERVAL_MS = 5_000;
const START = 1_750_000_000_000;

function used(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function fill(series: number, jitterMs: number): { store: SampleStore; bytes: number; ms: number } {
  const before = used();
  const store = createSampleStore({ retentionMs: HOUR_MS });
  const data = createMetricSet(series, INTERVAL_MS);
  const began = performance.now();
  for (let t = START; t <= START + HOUR_MS; t += INTERVAL_MS) {
    // A collection timer drifts by a few ms; each series of a collection has the same timestamp.
    const at = t + (jitterMs === 0 ? 0 : Math.floor(Math.random() * jitterMs));
    store.ingest(at, data.next());
  }
  const ms = performance.now() - began;
  return { store, bytes: used() - before, ms };
}

console.log('metric set: per endpoint 20 counters, a 12-bucket histogram with _sum and _count, 2 gauges');
console.log('1 h at a 5 s interval (721 samples a series)\n');
console.log('series  timestamps      store bytes/sample  heap+buffers per 10k series  ingest ms/collection');
for (const [series, jitter] of [
  [1000, 0],
  [10_000, 0],
  [1000, 3],
] as const) {
  const { store, bytes, ms } = fill(series, jitter);
  const s = store.stats();
  console.log(
    `${String(s.series).padStart(6)}  ${(jitter === 0 ? 'exact 5 s' : `±${jitter} ms jitter`).padEnd(14)}  ${s.bytesPerSample.toFixed(2).padStart(18)}  ${`${((bytes / s.series) * 10_000) / 2 ** 20 >= 0 ? (((bytes / s.series) * 10_000) / 2 ** 20).toFixed(1) : '?'} MiB`.padStart(27)}  ${(ms / 721).toFixed(2).padStart(20)}`,
  );
  console.log(
    `        (${s.samples} samples, ${(s.bytes / 2 ** 20).toFixed(1)} MiB of chunks, ${((bytes / s.series / s.samples) * s.series).toFixed(2)} bytes/sample all told with labels and maps)`,
  );
}
