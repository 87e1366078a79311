// A deterministic, realistic metric set for the store and side-by-side benchmarks: per endpoint, request
// counters (method × status), a classic latency histogram (12 buckets, _sum, _count) and two gauges.

import type { NamedSample } from '../src/index.ts';

const METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;
const STATUSES = ['200', '201', '400', '404', '500'] as const;
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
/** Series per endpoint: 20 counters, 12 buckets + _sum + _count, 2 gauges. */
const SERIES_PER_ENDPOINT: number = METHODS.length * STATUSES.length + BUCKETS.length + 3 + 2;

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** One collection after another: `next()` gives every series' next sample. */
export interface MetricSet {
  readonly endpoints: number;
  readonly series: number;
  next(): NamedSample[];
}

/** About `series` series (rounded up to whole endpoints), advanced by `intervalMs` at each `next()`. */
export function createMetricSet(series: number, intervalMs: number, seed = 1): MetricSet {
  const random = prng(seed);
  const endpoints = Math.ceil(series / SERIES_PER_ENDPOINT);
  const state = Array.from({ length: endpoints }, (_, e) => ({
    endpoint: `/api/v1/resource_${e}`,
    rate: 0.2 + random() * 20, // requests per second
    counters: new Array<number>(METHODS.length * STATUSES.length).fill(0),
    // Each method × status has its own share of the traffic; errors are rare.
    shares: Array.from({ length: METHODS.length * STATUSES.length }, (_, i) =>
      i % STATUSES.length >= 2 ? random() * 0.02 : random(),
    ),
    buckets: new Array<number>(BUCKETS.length + 1).fill(0),
    sum: 0,
    count: 0,
    lookups: 0,
    hits: 0,
  }));
  return {
    endpoints,
    series: endpoints * SERIES_PER_ENDPOINT,
    next() {
      const out: NamedSample[] = [];
      for (const s of state) {
        const requests = Math.round(s.rate * (intervalMs / 1000) * (0.5 + random()));
        for (let i = 0; i < s.counters.length; i++) {
          s.counters[i]! += Math.round(requests * s.shares[i]! * random());
          out.push({
            name: 'http_requests_total',
            labels: {
              endpoint: s.endpoint,
              method: METHODS[Math.floor(i / STATUSES.length)]!,
              status: STATUSES[i % STATUSES.length]!,
            },
            value: s.counters[i]!,
          });
        }
        for (let r = 0; r < requests; r++) {
          const latency = Math.exp(random() * 6 - 5.5); // 4ms .. 1.6s, log-uniform
          s.sum += latency;
          s.count++;
          for (let b = 0; b <= BUCKETS.length; b++) if (b === BUCKETS.length || latency <= BUCKETS[b]!) s.buckets[b]!++;
        }
        for (let b = 0; b <= BUCKETS.length; b++)
          out.push({
            name: 'http_request_duration_seconds_bucket',
            labels: { endpoint: s.endpoint, le: b === BUCKETS.length ? '+Inf' : String(BUCKETS[b]) },
            value: s.buckets[b]!,
          });
        out.push({ name: 'http_request_duration_seconds_sum', labels: { endpoint: s.endpoint }, value: s.sum });
        out.push({ name: 'http_request_duration_seconds_count', labels: { endpoint: s.endpoint }, value: s.count });
        out.push({
          name: 'http_requests_in_flight',
          labels: { endpoint: s.endpoint },
          value: Math.floor(random() * 8),
        });
        s.lookups += requests;
        s.hits += Math.round(requests * (0.6 + random() * 0.3));
        out.push({
          name: 'cache_hit_ratio',
          labels: { endpoint: s.endpoint },
          value: s.lookups === 0 ? 0 : s.hits / s.lookups,
        });
      }
      return out;
    },
  };
}
