import type { Matcher } from './ast.ts';
import { matches, type SampleSource, type SelectedSeries } from './engine.ts';
import { type Labels, labelsKey } from './labels.ts';

/** One sample of a snapshot given to {@link SampleStore.ingest}: a series name, its other labels and a value. */
export interface NamedSample {
  /** The metric name, stored as `__name__`. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Options of {@link createSampleStore}. */
export interface SampleStoreOptions {
  /** How much history to keep per series, in ms; older samples are dropped. @default 900000 (15m) */
  readonly retentionMs?: number;
}

/** Memory used by the store. */
export interface SampleStoreStats {
  readonly series: number;
  readonly samples: number;
  /** Bytes held by the ring buffers (timestamps, values and staleness flags). */
  readonly bytes: number;
  /** `bytes / series`, 0 with no series. */
  readonly bytesPerSeries: number;
}

/** Bounded per-series ring buffers that the PromQL engine reads. */
export interface SampleStore extends SampleSource {
  /** Appends one sample; a sample older than the series' newest is ignored. */
  append(labels: Labels, t: number, v: number): void;
  /** Appends a staleness marker: the series disappeared at `t`. */
  markStale(labels: Labels, t: number): void;
  /** Appends a whole snapshot (all the series scraped at `at`); series absent from it since the previous one become stale. */
  ingest(at: number, samples: readonly NamedSample[]): void;
  /** Changes how much history is kept (the loaded rules' longest range). */
  setRetention(ms: number): void;
  stats(): SampleStoreStats;
}

const BYTES_PER_SLOT = 8 + 8 + 1;
const INITIAL_CAPACITY = 8;

class Ring {
  t: Float64Array = new Float64Array(INITIAL_CAPACITY);
  v: Float64Array = new Float64Array(INITIAL_CAPACITY);
  s: Uint8Array = new Uint8Array(INITIAL_CAPACITY);
  head = 0;
  size = 0;
  readonly labels: Labels;
  constructor(labels: Labels) {
    this.labels = labels;
  }
  at(i: number): number {
    return (this.head + i) % this.t.length;
  }
  last(): number | undefined {
    return this.size === 0 ? undefined : this.t[this.at(this.size - 1)];
  }
  push(t: number, v: number, stale: number, minT: number): void {
    while (this.size > 0 && this.t[this.head]! <= minT) {
      this.head = (this.head + 1) % this.t.length;
      this.size--;
    }
    if (this.size === this.t.length) this.grow();
    const i = this.at(this.size);
    this.t[i] = t;
    this.v[i] = v;
    this.s[i] = stale;
    this.size++;
  }
  grow(): void {
    const cap = this.t.length * 2;
    const t = new Float64Array(cap);
    const v = new Float64Array(cap);
    const s = new Uint8Array(cap);
    for (let k = 0; k < this.size; k++) {
      const i = this.at(k);
      t[k] = this.t[i]!;
      v[k] = this.v[i]!;
      s[k] = this.s[i]!;
    }
    this.t = t;
    this.v = v;
    this.s = s;
    this.head = 0;
  }
  /** The first logical index whose timestamp is > minT (binary search: timestamps only grow). */
  firstAfter(minT: number): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.t[this.at(mid)]! <= minT) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  slice(minT: number, maxT: number): SelectedSeries {
    const t: number[] = [];
    const v: number[] = [];
    let stale: number[] | undefined;
    for (let k = this.firstAfter(minT); k < this.size; k++) {
      const i = this.at(k);
      const ts = this.t[i]!;
      if (ts > maxT) break;
      if (this.s[i] !== 0) stale ??= new Array<number>(t.length).fill(0);
      stale?.push(this.s[i]!);
      t.push(ts);
      v.push(this.v[i]!);
    }
    return { labels: this.labels, t, v, stale };
  }
}

/** Creates a sample store; feed it from `metrics:collected` or any other source. */
export function createSampleStore(options: SampleStoreOptions = {}): SampleStore {
  let retention = options.retentionMs ?? 900_000;
  const series = new Map<string, Ring>();
  const byName = new Map<string, Set<Ring>>();
  let previous = new Set<Ring>();

  const ring = (labels: Labels): Ring => {
    const key = labelsKey(labels);
    let r = series.get(key);
    if (r === undefined) {
      r = new Ring(Object.freeze({ ...labels }));
      series.set(key, r);
      const name = labels['__name__'] ?? '';
      let set = byName.get(name);
      if (set === undefined) {
        set = new Set();
        byName.set(name, set);
      }
      set.add(r);
    }
    return r;
  };
  const put = (r: Ring, t: number, v: number, stale: number): void => {
    const last = r.last();
    if (last !== undefined && t <= last) return;
    r.push(t, v, stale, t - retention);
  };

  return {
    append(labels, t, v) {
      put(ring(labels), t, v, 0);
    },
    markStale(labels, t) {
      put(ring(labels), t, Number.NaN, 1);
    },
    ingest(at, samples) {
      const seen = new Set<Ring>();
      for (const s of samples) {
        const r = ring({ ...s.labels, __name__: s.name });
        put(r, at, s.value, 0);
        seen.add(r);
      }
      // Prometheus writes a staleness marker for every series a scrape no longer returns.
      for (const r of previous) if (!seen.has(r)) put(r, at, Number.NaN, 1);
      previous = seen;
      // Series whose every sample has aged out are forgotten.
      for (const [key, r] of series) {
        const last = r.last();
        if (last !== undefined && last <= at - retention && !seen.has(r)) {
          series.delete(key);
          byName.get(r.labels['__name__'] ?? '')?.delete(r);
        }
      }
    },
    setRetention(ms) {
      retention = ms;
    },
    *select(matchers: readonly Matcher[], minT: number, maxT: number): Iterable<SelectedSeries> {
      const nameEq = matchers.find((m) => m.name === '__name__' && m.op === '=');
      const candidates = nameEq === undefined ? series.values() : (byName.get(nameEq.value) ?? []);
      for (const r of candidates) {
        if (!matchers.every((m) => matches(m, r.labels))) continue;
        const s = r.slice(minT, maxT);
        if (s.t.length > 0) yield s;
      }
    },
    stats() {
      let samples = 0;
      let bytes = 0;
      for (const r of series.values()) {
        samples += r.size;
        bytes += r.t.length * BYTES_PER_SLOT;
      }
      return { series: series.size, samples, bytes, bytesPerSeries: series.size === 0 ? 0 : bytes / series.size };
    },
  };
}
