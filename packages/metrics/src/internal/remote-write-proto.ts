// Prometheus remote write 1.0 on the wire: a hand-written protobuf encoder for the messages we send
// (prompb.WriteRequest with TimeSeries/Label/Sample/Histogram, and MetricMetadata), then snappy's block format.
// https://prometheus.io/docs/specs/remote_write_spec/ and prometheus/prompb/{remote,types}.proto
import type { FloatHistogram } from '@obs/promql';
import { compress } from 'snappyjs';
import { ProtoWriter, writeSpans } from './protobuf.ts';

/** A series as sent: its labels encoded once (field 1 of TimeSeries, repeated), sorted by name. */
export interface EncodedSeries {
  readonly labels: Uint8Array;
}

/** MetricMetadata.MetricType. */
const METADATA_TYPE: Readonly<Record<string, number>> = { counter: 1, gauge: 2, histogram: 3, summary: 5 };

/** One MetricMetadata entry. */
export interface Metadata {
  readonly type: string;
  readonly family: string;
  readonly help: string;
  readonly unit: string;
}

/** Encodes a label set (names already sorted, as Prometheus requires) as the repeated `labels` of a TimeSeries. */
export function encodeLabels(labels: readonly (readonly [string, string])[]): Uint8Array {
  const w = new ProtoWriter(64);
  for (const [name, value] of labels) {
    const mark = w.begin(1);
    w.string(1, name);
    w.string(2, value);
    w.end(mark);
  }
  return w.finish();
}

const RESET_HINT: Readonly<Record<FloatHistogram['counterResetHint'], number>> = {
  unknown: 0,
  reset: 1,
  not_reset: 2,
  gauge: 3,
};

function deltas(counts: readonly number[]): number[] {
  let previous = 0;
  return counts.map((c) => {
    const d = c - previous;
    previous = c;
    return d;
  });
}

/**
 * A native histogram sample as prompb.Histogram (an integer histogram: counts as `count_int`, `zero_count_int`
 * and bucket deltas, which every receiver with native histograms takes, Prometheus 2.40 and later included).
 */
export function encodeHistogram(h: FloatHistogram, t: number): Uint8Array {
  const w = new ProtoWriter(64 + 4 * (h.positiveBuckets.length + h.negativeBuckets.length));
  w.uint(1, h.count);
  w.double(3, h.sum);
  w.sint(4, h.schema);
  w.double(5, h.zeroThreshold);
  w.uint(6, h.zeroCount);
  writeSpans(w, 8, 9, h.negativeSpans, deltas(h.negativeBuckets));
  writeSpans(w, 11, 12, h.positiveSpans, deltas(h.positiveBuckets));
  if (RESET_HINT[h.counterResetHint] !== 0) w.uint(14, RESET_HINT[h.counterResetHint]);
  w.uint(15, t);
  return w.finish();
}

// The special NaN Prometheus reads as "this series ended" (value.StaleNaN), written by its bits: any other NaN is
// a plain value.
const STALE_LOW = 0x00000002;
const STALE_HIGH = 0x7ff00000;

/**
 * Encodes a WriteRequest: `count` samples taken in order from the parallel arrays, each series' samples in
 * one TimeSeries (oldest first, as Prometheus appends them), then the metadata. A slot with an entry in
 * `histograms` (its encoded prompb.Histogram) is a native histogram sample, not a float.
 */
export function encodeWriteRequest(
  series: readonly EncodedSeries[],
  t: Float64Array,
  v: Float64Array,
  stale: Uint8Array,
  indices: readonly number[],
  metadata: readonly Metadata[] = [],
  histograms: ReadonlyMap<number, Uint8Array> = new Map(),
): Uint8Array {
  // Group the batch's samples by series, keeping first-seen order.
  const groups = new Map<EncodedSeries, number[]>();
  for (const i of indices) {
    const s = series[i]!;
    let list = groups.get(s);
    if (list === undefined) {
      list = [];
      groups.set(s, list);
    }
    list.push(i);
  }
  const w = new ProtoWriter(64 * indices.length + 256);
  for (const [s, list] of groups) {
    const timeSeries = w.begin(1); // WriteRequest.timeseries
    w.raw(s.labels);
    for (const i of list) {
      const histogram = histograms.get(i);
      if (histogram !== undefined) {
        const h = w.begin(4); // TimeSeries.histograms
        w.raw(histogram);
        w.end(h);
        continue;
      }
      const sample = w.begin(2); // TimeSeries.samples
      if (stale[i] === 1) {
        w.tag(1, 1); // Sample.value, fixed64
        w.ensure(8);
        w.view.setUint32(w.pos, STALE_LOW, true);
        w.view.setUint32(w.pos + 4, STALE_HIGH, true);
        w.pos += 8;
      } else w.double(1, v[i]!);
      w.uint(2, t[i]!); // Sample.timestamp (ms, never negative here)
      w.end(sample);
    }
    w.end(timeSeries);
  }
  for (const m of metadata) {
    const mark = w.begin(3); // WriteRequest.metadata
    w.uint(1, METADATA_TYPE[m.type] ?? 0);
    w.string(2, m.family);
    w.string(4, m.help);
    if (m.unit !== '') w.string(5, m.unit);
    w.end(mark);
  }
  return w.finish();
}

/** Snappy block format (not the framed stream format), as remote write requires. */
export function snappyBlock(data: Uint8Array): Uint8Array {
  return compress(data);
}
