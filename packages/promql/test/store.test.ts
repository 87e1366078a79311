import { describe, expect, test } from 'vitest';
import {
  createInstantEvaluation,
  createRangeEvaluation,
  createSampleStore,
  instantQuery,
  parse,
  rangeQuery,
} from '../src/index.ts';
import { CHUNK_SAMPLES } from '../src/internal/chunk.ts';
import { createMetricSet } from './metric-set.ts';

const m = (n: number): number => n * 60_000;
const NAME = [{ name: '__name__', op: '=', value: 'x' }] as const;

function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a * 1_103_515_245 + 12_345) % 2_147_483_648;
    return a / 2_147_483_648;
  };
}

describe('the compressed store (issue 16)', () => {
  test('gives back every timestamp, float bit pattern and staleness marker it was given, across chunks', () => {
    const r = random(7);
    const store = createSampleStore({ retentionMs: Number.MAX_SAFE_INTEGER });
    const t: number[] = [];
    const v: number[] = [];
    const stale: number[] = [];
    let at = 1_750_000_000_123;
    const steps = [5000, 5000, 5001, 1, 70_000, 600_001, 10_000_000_000];
    const values = [Number.NaN, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e300, 5e-324, 0.1, 42];
    for (let i = 0; i < 5 * CHUNK_SAMPLES + 7; i++) {
      at += steps[Math.floor(r() * steps.length)]!;
      const isStale = r() < 0.05;
      const value = r() < 0.5 ? values[Math.floor(r() * values.length)]! : Math.floor(r() * 1000) * r();
      if (isStale) store.markStale({ __name__: 'x' }, at);
      else store.append({ __name__: 'x' }, at, value);
      t.push(at);
      v.push(isStale ? Number.NaN : value);
      stale.push(isStale ? 1 : 0);
    }
    const [s] = [...store.select(NAME, 0, Number.POSITIVE_INFINITY)];
    expect(s?.t).toEqual(t);
    expect(Array.from(s!.v, (x, i) => Object.is(x, v[i]))).toEqual(v.map(() => true));
    expect(s?.stale).toEqual(stale);
  });

  test('reads the window (minT, maxT] and leaves `stale` out when no marker is in it', () => {
    const store = createSampleStore({ retentionMs: m(600) });
    for (let i = 0; i <= 300; i++) store.append({ __name__: 'x' }, i * 15_000, i);
    store.markStale({ __name__: 'x' }, 301 * 15_000);
    const [s] = [...store.select(NAME, 15_000, 45_000)];
    expect(s).toEqual({ labels: { __name__: 'x' }, t: [30_000, 45_000], v: [2, 3], stale: undefined });
    const [end] = [...store.select(NAME, 299 * 15_000, 302 * 15_000)];
    expect(end?.stale).toEqual([0, 1]);
    expect([...store.select(NAME, 302 * 15_000, 400 * 15_000)]).toEqual([]);
    // A window between two samples of one chunk.
    expect([...store.select(NAME, 15_001, 15_002)]).toEqual([]);
    // A selection is what the store held when it was made, read when first read.
    const [later] = [...store.select(NAME, 299 * 15_000, 400 * 15_000)];
    store.append({ __name__: 'x' }, 302 * 15_000, 7);
    expect(later?.t).toEqual([300 * 15_000, 301 * 15_000]);
  });

  test('never returns a sample older than the retention, and drops whole chunks behind it', () => {
    const store = createSampleStore({ retentionMs: m(10) });
    for (let t = 0; t <= m(120); t += 5000) store.append({ __name__: 'x' }, t, t);
    const [s] = [...store.select(NAME, -1, m(120))];
    expect(s?.t[0]).toBe(m(110) + 5000);
    expect(s?.t.length).toBe(120);
    // What is kept is the samples of the last 10m rounded up to whole chunks, not 2h of them.
    expect(store.stats().samples).toBeLessThanOrEqual(120 + CHUNK_SAMPLES);
    expect(instantQuery(store, 'count_over_time(x[1h])', m(120)).value).toEqual({
      type: 'vector',
      samples: [{ labels: {}, value: 120 }],
    });
  });

  test('answers instant selectors with each series newest sample, as select does, now and in the past', () => {
    const store = createSampleStore({ retentionMs: m(600) });
    for (let i = 0; i <= 300; i++) {
      store.append({ __name__: 'x', k: 'a' }, i * 15_000, i);
      if (i < 200) store.append({ __name__: 'x', k: 'b' }, i * 15_000, -i);
    }
    store.markStale({ __name__: 'x', k: 'b' }, 200 * 15_000);
    const latest = (minT: number, maxT: number) => [...store.selectLatest(NAME, minT, maxT)];
    const viaSelect = (minT: number, maxT: number) =>
      [...store.select(NAME, minT, maxT)].map((s) => ({
        labels: s.labels,
        t: s.t[s.t.length - 1],
        v: s.v[s.v.length - 1],
        stale: s.stale?.[s.t.length - 1] === 1,
      }));
    // Now (from the head, undecoded), in the past (decoded), across a staleness marker, and outside any sample.
    for (const [minT, maxT] of [
      [m(75) - m(5), m(75) + 1],
      [m(10), m(20) + 7],
      [m(49), m(50)],
      [m(49), m(51)],
      [m(80), m(90)],
      [15_001, 15_002],
    ] as const)
      expect(latest(minT, maxT)).toEqual(viaSelect(minT, maxT));
    expect(latest(m(49), m(51)).find((s) => s.labels['k'] === 'b')).toMatchObject({ stale: true });
    expect(instantQuery(store, 'x', m(51)).value).toEqual({
      type: 'vector',
      samples: [{ labels: { __name__: 'x', k: 'a' }, value: 204 }],
    });
  });

  test('gives the label sets select gives, without their samples', () => {
    const store = createSampleStore({ retentionMs: m(600) });
    for (let i = 0; i <= 300; i++) {
      store.append({ __name__: 'x', k: 'a' }, i * 15_000, i);
      if (i < 100) store.append({ __name__: 'x', k: 'b' }, i * 15_000, i);
    }
    for (const [minT, maxT] of [
      [0, m(100)],
      [m(30), m(40)],
      [15_001, 15_002],
      [m(74), m(75)],
    ] as const)
      expect(store.selectLabels(NAME, minT, maxT)).toEqual([...store.select(NAME, minT, maxT)].map((s) => s.labels));
  });

  test('keeps the demo-like metric set (counters, gauges, a classic histogram) under 2 bytes a sample', () => {
    const store = createSampleStore({ retentionMs: m(60) });
    const data = createMetricSet(100, 5000);
    for (let t = 0; t <= m(60); t += 5000) store.ingest(t, data.next());
    const stats = store.stats();
    expect(stats.series).toBe(data.series);
    expect(stats.samples).toBe(721 * data.series);
    expect(stats.bytesPerSample).toBe(stats.bytes / stats.samples);
    expect(stats.bytesPerSample).toBeLessThan(2);
  });
});

describe('range queries select once and slice per step (issue 16)', () => {
  const store = createSampleStore({ retentionMs: m(600) });
  const r = random(11);
  for (let t = 0; t <= m(120); t += 15_000)
    store.ingest(
      t,
      // Series come and go (staleness markers), and a counter resets.
      Array.from({ length: 6 }, (_, i) => ({
        name: i % 2 === 0 ? 'a_total' : 'b',
        labels: { i: String(i) },
        value: i === 0 && t > m(60) ? t / 1000 - 3600 : Math.floor(r() * 100) + t / 1000,
      })).filter((_, i) => i !== 5 || t < m(50) || t > m(70)),
    );
  test.each([
    'sum by (i) (rate(a_total[5m]))',
    'b offset 7m',
    'b @ 3600',
    'max_over_time(b[2m]) - min_over_time(b[3m] offset 1m)',
    'avg_over_time(rate(a_total[5m])[20m:1m])',
    'b unless on (i) a_total',
    'timestamp(b)',
  ])('%s gives at every step what an instant query gives', (q) => {
    const parsed = parse(q);
    const start = m(30) + 7000;
    const end = m(110);
    const step = 45_000;
    const range = rangeQuery(store, parsed, { startMs: start, endMs: end, stepMs: step });
    const byStep = new Map<string, Map<number, number>>();
    for (let t = start; t <= end; t += step) {
      const v = instantQuery(store, parsed, t).value;
      const samples = v.type === 'vector' ? v.samples : v.type === 'scalar' ? [{ labels: {}, value: v.value }] : [];
      for (const s of samples) {
        const key = JSON.stringify(s.labels);
        if (!byStep.has(key)) byStep.set(key, new Map());
        byStep.get(key)!.set(t, s.value);
      }
    }
    if (range.value.type !== 'matrix') throw new Error('expected a matrix');
    expect(range.value.series.length).toBeGreaterThan(0);
    expect(new Set(range.value.series.map((s) => JSON.stringify(s.labels)))).toEqual(new Set(byStep.keys()));
    for (const s of range.value.series) {
      const want = byStep.get(JSON.stringify(s.labels))!;
      expect(new Map(s.t.map((t, i) => [t, s.v[i]!]))).toEqual(want);
    }
  });

  test('createRangeEvaluation() in slices of steps gives what rangeQuery() gives', () => {
    const range = { startMs: m(30), endMs: m(110), stepMs: 30_000 };
    for (const q of ['sum by (i) (rate(a_total[5m]))', 'max_over_time(b[10m:1m]) unless on (i) a_total']) {
      const whole = rangeQuery(store, q, range);
      const sliced = createRangeEvaluation(store, q, range);
      let slices = 0;
      while (sliced.next(7)) slices++;
      expect(slices).toBe(22);
      expect(sliced.result()).toEqual(whole);
    }
  });
});

describe('instant queries select in turns (issue 16)', () => {
  test('prepare() selects a part at a time, and the answer is the one instantQuery gives', () => {
    const store = createSampleStore({ retentionMs: m(120) });
    const data = createMetricSet(300, 15_000);
    for (let t = 0; t <= m(60); t += 15_000) store.ingest(t, data.next());
    for (const query of [
      'sum by (endpoint) (rate(http_requests_total[5m]))',
      'histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[10m])))',
      'max_over_time(sum(rate(http_requests_total[1m]))[20m:1m])',
      'http_requests_total offset 5m',
      'count(http_requests_total @ 600)',
      'http_requests_total[1m]',
    ]) {
      const evaluation = createInstantEvaluation(store, query, m(55));
      let turns = 1;
      // A zero budget still loads a batch of series each call, so this ends.
      while (!evaluation.prepare(0)) turns++;
      const expected = instantQuery(store, query, m(55));
      expect(evaluation.result(), query).toEqual(expected);
      if (query.includes('[')) expect(turns, query).toBeGreaterThan(1);
    }
  });
});

describe('range functions computed series by series (issue 16)', () => {
  test('give what each step gives as an instant query, and fail on names that collide once dropped', () => {
    const store = createSampleStore({ retentionMs: m(120) });
    for (let t = 0; t <= m(30); t += 15_000) {
      store.append({ __name__: 'a_total', job: 'x' }, t, t / 1000);
      store.append({ __name__: 'b_total', job: 'y' }, t, t / 500);
      if (t > m(10)) store.append({ __name__: 'b_total', job: 'x' }, t, t / 250);
    }
    const range = { startMs: m(2), endMs: m(30), stepMs: 60_000 };
    for (const query of [
      'rate({__name__=~"a_total|b_total", job="y"}[2m])',
      'sum(increase(a_total[5m])) + sum(rate(b_total[1m] offset 1m))',
      'last_over_time(b_total[1m])',
      'count_over_time({__name__=~".+_total", job="y"}[30s])',
    ]) {
      const matrix = rangeQuery(store, query, range);
      for (let t = range.startMs; t <= range.endMs; t += range.stepMs) {
        const instant = instantQuery(store, query, t).value;
        if (matrix.value.type !== 'matrix' || instant.type !== 'vector') throw new Error(`${query}: unexpected types`);
        const atStep = matrix.value.series
          .filter((s) => s.t.includes(t))
          .map((s) => ({ labels: s.labels, value: s.v[s.t.indexOf(t)] }));
        expect(atStep, `${query} at ${t}`).toEqual(
          instant.samples
            .map((x) => ({ labels: x.labels, value: x.value }))
            .sort((p, q) => JSON.stringify(p.labels).localeCompare(JSON.stringify(q.labels))),
        );
      }
    }
    // a_total{job="x"} and b_total{job="x"} are the same series once their names go, from the 11th minute.
    expect(() => rangeQuery(store, 'rate({__name__=~"a_total|b_total"}[1m])', range)).toThrow(
      /vector cannot contain metrics with the same labelset/,
    );
    expect(() => instantQuery(store, 'rate({__name__=~"a_total|b_total"}[1m])', m(20))).toThrow(
      /vector cannot contain metrics with the same labelset/,
    );
  });
});
