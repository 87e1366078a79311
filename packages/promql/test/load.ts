// A tiny loader for the `load <interval>` notation of Prometheus' test scripts, for these tests only.
import { parseSeriesDesc } from '../src/series-notation.ts';
import { createSampleStore, type SampleStore } from '../src/store.ts';

/** Loads `load 1m` blocks (series lines indented below) into a fresh store. */
export function load(script: string): SampleStore {
  const store = createSampleStore({ retentionMs: 1e12 });
  let interval = 60_000;
  for (const raw of script.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const header = /^load\s+(\d+)(ms|s|m|h)$/.exec(line);
    if (header !== null) {
      interval = Number(header[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[header[2] as 'ms' | 's' | 'm' | 'h'];
      continue;
    }
    const { labels, values } = parseSeriesDesc(line);
    values.forEach((v, i) => {
      if (v === undefined) return;
      if (v === 'stale') store.markStale(labels, i * interval);
      else store.append(labels, i * interval, v);
    });
  }
  return store;
}
