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

const utf8 = new TextEncoder();

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

// Numbers up to 2^53: division rather than shifts, which stop at 32 bits.
function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 128) {
    buf[pos++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

function stringField(field: number, text: string): Uint8Array {
  const bytes = utf8.encode(text);
  const out = new Uint8Array(1 + varintSize(bytes.length) + bytes.length);
  out[0] = (field << 3) | 2;
  out.set(bytes, writeVarint(out, 1, bytes.length));
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

function message(field: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + varintSize(body.length) + body.length);
  out[0] = (field << 3) | 2;
  out.set(body, writeVarint(out, 1, body.length));
  return out;
}

/** Encodes a label set (names already sorted, as Prometheus requires) as the repeated `labels` of a TimeSeries. */
export function encodeLabels(labels: readonly (readonly [string, string])[]): Uint8Array {
  return concat(labels.map(([name, value]) => message(1, concat([stringField(1, name), stringField(2, value)]))));
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

// The special NaN Prometheus reads as "this series ended" (value.StaleNaN); any other NaN is a plain value.
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
  let size = 0;
  const bodySizes: number[] = [];
  for (const [s, list] of groups) {
    let body = s.labels.length;
    for (const i of list) {
      const sample = histograms.get(i)?.length ?? 9 + 1 + varintSize(t[i]!);
      body += 1 + varintSize(sample) + sample;
    }
    bodySizes.push(body);
    size += 1 + varintSize(body) + body;
  }
  const meta = metadata.map((m) =>
    message(
      3,
      concat([
        new Uint8Array([0x08, METADATA_TYPE[m.type] ?? 0]),
        stringField(2, m.family),
        stringField(4, m.help),
        m.unit === '' ? new Uint8Array(0) : stringField(5, m.unit),
      ]),
    ),
  );
  for (const m of meta) size += m.length;
  const buf = new Uint8Array(size);
  const view = new DataView(buf.buffer);
  let pos = 0;
  let g = 0;
  for (const [s, list] of groups) {
    buf[pos++] = 0x0a; // WriteRequest.timeseries = 1
    pos = writeVarint(buf, pos, bodySizes[g++]!);
    buf.set(s.labels, pos);
    pos += s.labels.length;
    for (const i of list) {
      const histogram = histograms.get(i);
      if (histogram !== undefined) {
        buf[pos++] = 0x22; // TimeSeries.histograms = 4
        pos = writeVarint(buf, pos, histogram.length);
        buf.set(histogram, pos);
        pos += histogram.length;
        continue;
      }
      const ts = t[i]!;
      buf[pos++] = 0x12; // TimeSeries.samples = 2
      pos = writeVarint(buf, pos, 9 + 1 + varintSize(ts));
      buf[pos++] = 0x09; // Sample.value = 1, fixed64
      if (stale[i] === 1) {
        view.setUint32(pos, STALE_LOW, true);
        view.setUint32(pos + 4, STALE_HIGH, true);
      } else {
        view.setFloat64(pos, v[i]!, true);
      }
      pos += 8;
      buf[pos++] = 0x10; // Sample.timestamp = 2, varint (ms, never negative here)
      pos = writeVarint(buf, pos, ts);
    }
  }
  for (const m of meta) {
    buf.set(m, pos);
    pos += m.length;
  }
  return buf;
}

/** Snappy block format (not the framed stream format), as remote write requires. */
export function snappyBlock(data: Uint8Array): Uint8Array {
  return compress(data);
}
