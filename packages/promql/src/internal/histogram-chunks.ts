// The counter reset hint a native histogram reads back with from Prometheus's TSDB, which PromQL sees: a
// gauge chunk's samples are gauges, the first sample of a counter chunk is "unknown" and the others "not reset".
// A chunk ends at a float sample (staleness markers too), a detected or declared reset, a schema or zero
// threshold change, at the start of each 2h range of the head, or after CHUNK_HISTOGRAMS samples.
import { chunkCut, type FloatHistogram } from '../native-histogram.ts';

/**
 * Histograms a chunk holds at most. Prometheus cuts histogram chunks by their encoded size (about 1 KiB), which
 * this does not model; a sample count stands in for it.
 */
const CHUNK_HISTOGRAMS = 120;
/** The head's chunk range: a chunk never spans the start of a 2h range. */
const CHUNK_RANGE_MS = 2 * 3_600_000;

/** Follows one series' appends, in time order, and gives each histogram the hint it reads back with. */
export class HintTracker {
  #prev: FloatHistogram | undefined;
  #prevT = 0;
  #inChunk = 0;

  /** A float sample (or a staleness marker) closes the histogram chunk. */
  float(): void {
    this.#prev = undefined;
    this.#inChunk = 0;
  }

  /** The histogram appended at `t`, as a query reads it back. */
  next(t: number, h: FloatHistogram): FloatHistogram {
    const prev = this.#prev;
    const continues =
      prev !== undefined &&
      this.#inChunk < CHUNK_HISTOGRAMS &&
      Math.floor(t / CHUNK_RANGE_MS) === Math.floor(this.#prevT / CHUNK_RANGE_MS) &&
      chunkCut(prev, h) === undefined;
    this.#prev = h;
    this.#prevT = t;
    this.#inChunk = continues ? this.#inChunk + 1 : 1;
    const hint = h.counterResetHint === 'gauge' ? 'gauge' : continues ? 'not_reset' : 'unknown';
    return hint === h.counterResetHint ? h : { ...h, counterResetHint: hint };
  }
}
