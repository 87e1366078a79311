// A protobuf writer for the two messages we send (io.prometheus.client.MetricFamily and remote write's):
// varints, zigzag, doubles, strings, and nested messages whose length is patched in when they end.
const encoder = new TextEncoder();

function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Writes protobuf into one growing buffer; `begin`/`end` frame a length-delimited field. */
export class ProtoWriter {
  buf: Uint8Array;
  view: DataView;
  pos = 0;

  constructor(size: number = 1 << 16) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** An unsigned varint (integers up to 2^53). */
  varint(v: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    if (v < 0x80000000) {
      while (v >= 128) {
        buf[pos++] = (v & 127) | 128;
        v >>>= 7;
      }
    } else {
      while (v >= 128) {
        buf[pos++] = (v % 128) | 128;
        v = Math.floor(v / 128);
      }
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** A varint field (uint64, int32 >= 0, enum). */
  uint(field: number, v: number): void {
    this.tag(field, 0);
    this.varint(v);
  }

  /** A zigzag field (sint32, sint64). */
  sint(field: number, v: number): void {
    this.tag(field, 0);
    this.varint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  double(field: number, v: number): void {
    this.tag(field, 1);
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  string(field: number, s: string): void {
    this.tag(field, 2);
    this.ensure(s.length * 3 + 5);
    const start = this.pos;
    this.pos += 1;
    const { written } = encoder.encodeInto(s, this.buf.subarray(this.pos));
    this.pos += written;
    this.#close(start);
  }

  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Opens a length-delimited field (or, without a field number, a delimited message); returns its mark. */
  begin(field?: number): number {
    if (field !== undefined) this.tag(field, 2);
    this.ensure(1);
    return this.pos++;
  }

  /** Closes what `begin` opened: writes the length, moving the body when it needs more than one byte. */
  end(mark: number): void {
    this.#close(mark);
  }

  #close(mark: number): void {
    const length = this.pos - mark - 1;
    if (length < 128) {
      this.buf[mark] = length;
      return;
    }
    const size = varintSize(length);
    this.ensure(size - 1);
    this.buf.copyWithin(mark + size, mark + 1, this.pos);
    this.pos += size - 1;
    const end = this.pos;
    this.pos = mark;
    this.varint(length);
    this.pos = end;
  }

  /** A copy of what was written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** The encoded `LabelPair` fields (field 1 of Metric and Exemplar) of a label set. */
export function labelPairs(names: readonly string[], values: readonly string[], field = 1): Uint8Array {
  const w = new ProtoWriter(64);
  for (let i = 0; i < names.length; i++) {
    const mark = w.begin(field);
    w.string(1, names[i]!);
    w.string(2, values[i]!);
    w.end(mark);
  }
  return w.finish();
}

/** Spans (as `BucketSpan` messages) then their count deltas, packed: client_model's and remote write's layout. */
export function writeSpans(
  w: ProtoWriter,
  spanField: number,
  deltaField: number,
  spans: readonly { offset: number; length: number }[],
  deltas: readonly number[],
): void {
  for (const span of spans) {
    const mark = w.begin(spanField);
    w.sint(1, span.offset);
    w.uint(2, span.length);
    w.end(mark);
  }
  if (deltas.length === 0) return;
  // Packed, as proto2 parsers accept for any repeated scalar.
  const mark = w.begin(deltaField);
  for (const d of deltas) w.varint(d >= 0 ? d * 2 : -d * 2 - 1);
  w.end(mark);
}
