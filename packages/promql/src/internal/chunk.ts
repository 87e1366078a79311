// One series' samples in Gorilla-compressed chunks, as Prometheus's head keeps them (tsdb/chunkenc/xor.go):
// delta-of-delta timestamps and XOR'd float bits, CHUNK_SAMPLES samples a chunk, all chunks in one byte arena.

/** Samples per chunk, as Prometheus's head. */
export const CHUNK_SAMPLES = 120;

// Prometheus's StaleNaN (value.StaleNaN, 0x7ff0000000000002): a staleness marker is a float with these bits.
const STALE_HI = 0x7ff00000;
const STALE_LO = 0x00000002;
// A NaN that is a value, not a marker (Go's math.NaN()): JS may hand us any NaN payload, so it is written as this.
const NAN_HI = 0x7ff80000;
const NAN_LO = 0x00000001;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE ? 0 : 1;
const HI = LITTLE ? 1 : 0;
const TWO32 = 4_294_967_296;
// Bits of a delta-of-delta after 0, 1, 2, 3 or 4 leading ones.
const DOD_BITS = [0, 14, 17, 20, 64] as const;

// The decoder's cursor: module state rather than a closure, since a query decodes thousands of chunks.
let rbuf: Uint8Array = new Uint8Array(0);
let rpos = 0;

// Up to 24 bits from a big-endian 32-bit window (bytes past the end read as 0); more in two reads.
function readBits(n: number): number {
  if (n > 24) return readBits(n - 16) * 65_536 + readBits(16);
  const b = rpos >>> 3;
  const word = ((rbuf[b]! << 24) | (rbuf[b + 1]! << 16) | (rbuf[b + 2]! << 8) | rbuf[b + 3]!) >>> 0;
  const value = ((word << (rpos & 7)) >>> 0) >>> (32 - n);
  rpos += n;
  return value;
}

function ctz32(x: number): number {
  return x === 0 ? 32 : 31 - Math.clz32(x & -x);
}

/**
 * The chunk table holds two numbers a chunk: its byte offset in the arena and its first timestamp. A closed
 * chunk holds CHUNK_SAMPLES samples and ends before the next one begins; the head's count and end are fields.
 */
const META = 2;

/** Where decoding writes: plain arrays, since callers compare them with arrays. */
export interface Decoded {
  t: number[];
  v: number[];
  stale: number[] | undefined;
}

export class ChunkedSeries {
  /** The arena: closed chunks back to back, then the head chunk being written. */
  buf: Uint8Array = new Uint8Array(32);
  /** Per chunk (the head included, last): offset, minT. */
  meta: number[] = [];
  /** Bit position of the next write in `buf`. */
  bit: number = 0;
  /** Samples with t <= floorT have aged out (a retention horizon), even where their chunk is still kept. */
  floorT: number = Number.NEGATIVE_INFINITY;
  // The head chunk's encoder state.
  lastT: number = Number.NEGATIVE_INFINITY;
  /** The newest sample's value and whether it is a staleness marker: instant selectors read it without decoding. */
  lastV: number = Number.NaN;
  lastStale: boolean = false;
  private delta = 0;
  private hi = 0;
  private lo = 0;
  private leading = 0xff;
  private trailing = 0;
  private headCount = 0;

  sampleCount(): number {
    return this.meta.length === 0 ? 0 : (this.meta.length / META - 1) * CHUNK_SAMPLES + this.headCount;
  }

  append(t: number, v: number, stale: boolean): void {
    let hi: number;
    let lo: number;
    if (stale) {
      hi = STALE_HI;
      lo = STALE_LO;
    } else if (Number.isNaN(v)) {
      hi = NAN_HI;
      lo = NAN_LO;
    } else {
      f64[0] = v;
      hi = u32[HI]!;
      lo = u32[LO]!;
    }
    if (this.headCount === 0 || this.headCount >= CHUNK_SAMPLES) this.cut(t);
    const count = this.headCount;
    this.ensure(20);
    if (count === 0) {
      this.write(hi, 32);
      this.write(lo, 32);
    } else {
      const delta = t - this.lastT;
      this.writeDod(delta - this.delta);
      this.delta = delta;
      this.writeXor(hi, lo);
    }
    this.hi = hi;
    this.lo = lo;
    this.lastT = t;
    this.lastV = stale ? Number.NaN : v;
    this.lastStale = stale;
    this.headCount = count + 1;
  }

  /** Drops the leading chunks whose every sample is at or before `floorT`. */
  dropBefore(floorT: number): void {
    if (floorT > this.floorT) this.floorT = floorT;
    let k = 0;
    // A chunk goes when the next one starts at or before the horizon; the head chunk stays (the encoder state).
    while (k + META < this.meta.length && this.meta[k + META + 1]! <= this.floorT) k += META;
    if (k === 0) return;
    const from = this.meta[k]!;
    this.buf.copyWithin(0, from, (this.bit + 7) >>> 3);
    this.buf.fill(0, ((this.bit + 7) >>> 3) - from);
    this.bit -= from * 8;
    this.meta.splice(0, k);
    for (let i = 0; i < this.meta.length; i += META) this.meta[i] = this.meta[i]! - from;
  }

  /** Bytes held: the arena and the chunk table. */
  bytes(): number {
    return this.buf.byteLength + this.meta.length * 8;
  }

  /**
   * Whether a sample lies in `(minT, maxT]` (and after `floorT`), from the chunk table alone: 'maybe' when the
   * window falls between two samples of one chunk, where only decoding tells.
   */
  hasSampleIn(minT: number, maxT: number): boolean | 'maybe' {
    const lower = Math.max(minT, this.floorT);
    const n = this.meta.length;
    if (n === 0 || this.lastT <= lower || this.meta[1]! > maxT) return false;
    if (this.lastT <= maxT) return true;
    for (let c = 1; c < n; c += META) if (this.meta[c]! > lower && this.meta[c]! <= maxT) return true;
    return 'maybe';
  }

  /** Appends the samples in `(minT, maxT]` (and after `floorT`) to `out`. */
  decode(minT: number, maxT: number, out: Decoded): void {
    const lower = Math.max(minT, this.floorT);
    const n = this.meta.length;
    for (let c = 0; c < n; c += META) {
      // Every sample of a closed chunk is before the next chunk's first.
      if (c + META < n ? this.meta[c + META + 1]! <= lower : this.lastT <= lower) continue;
      if (this.meta[c + 1]! > maxT) break;
      this.decodeChunk(c, c + META < n ? CHUNK_SAMPLES : this.headCount, lower, maxT, out);
    }
  }

  private decodeChunk(c: number, count: number, minT: number, maxT: number, out: Decoded): void {
    rbuf = this.buf;
    rpos = this.meta[c]! * 8;
    let t = this.meta[c + 1]!;
    let delta = 0;
    let hi = readBits(32);
    let lo = readBits(32);
    let leading = 0;
    let trailing = 0;
    for (let i = 0; ; ) {
      if (t > maxT) return;
      if (t > minT) {
        const isStale = hi === STALE_HI && lo === STALE_LO;
        u32[HI] = hi;
        u32[LO] = lo;
        out.t.push(t);
        out.v.push(f64[0]!);
        if (isStale && out.stale === undefined) out.stale = new Array<number>(out.t.length - 1).fill(0);
        out.stale?.push(isStale ? 1 : 0);
      }
      if (++i >= count) return;
      // Timestamp: '0' | '10'+14 | '110'+17 | '1110'+20 | '1111'+64 bits of delta-of-delta.
      let ones = 0;
      while (ones < 4 && readBits(1) === 1) ones++;
      const size = DOD_BITS[ones]!;
      let dod = 0;
      if (size === 64) {
        const h = readBits(32) | 0;
        dod = h * TWO32 + readBits(32);
      } else if (size > 0) {
        dod = readBits(size);
        if (dod > 2 ** (size - 1)) dod -= 2 ** size;
      }
      delta += dod;
      t += delta;
      // Value: '0' same bits | '10' within the previous window | '11' + 5 bits leading + 6 bits length.
      if (readBits(1) === 1) {
        if (readBits(1) === 1) {
          leading = readBits(5);
          let sig = readBits(6);
          if (sig === 0) sig = 64;
          trailing = 64 - leading - sig;
        }
        const sig = 64 - leading - trailing;
        let xh = 0;
        let xl = 0;
        if (sig > 32) {
          xh = readBits(sig - 32);
          xl = readBits(32);
        } else xl = readBits(sig);
        // Shift the significant bits left by `trailing`.
        if (trailing >= 32) {
          xh = (xl << (trailing - 32)) >>> 0;
          xl = 0;
        } else if (trailing > 0) {
          xh = ((xh << trailing) | (xl >>> (32 - trailing))) >>> 0;
          xl = (xl << trailing) >>> 0;
        }
        hi = (hi ^ xh) >>> 0;
        lo = (lo ^ xl) >>> 0;
      }
    }
  }

  // Closes the head chunk (trimming nothing: the next chunk starts at the next byte) and opens a new one.
  private cut(t: number): void {
    this.bit = (this.bit + 7) & ~7;
    this.meta.push(this.bit >>> 3, t);
    this.headCount = 0;
    this.delta = 0;
    this.leading = 0xff;
    this.trailing = 0;
  }

  private ensure(bytes: number): void {
    const need = (this.bit >>> 3) + bytes;
    if (need <= this.buf.length) return;
    // Grow by an eighth: a series' arena is small (a few KiB) and long-lived, so copying is cheap and slack is
    // memory per series.
    const next = new Uint8Array(Math.max(need, this.buf.length + (this.buf.length >>> 3) + 16));
    next.set(this.buf);
    this.buf = next;
  }

  private write(value: number, n: number): void {
    const buf = this.buf;
    let pos = this.bit;
    while (n > 0) {
      const free = 8 - (pos & 7);
      const take = Math.min(free, n);
      const bits = (value >>> (n - take)) & ((1 << take) - 1);
      buf[pos >>> 3] = buf[pos >>> 3]! | (bits << (free - take));
      n -= take;
      pos += take;
    }
    this.bit = pos;
  }

  private writeDod(dod: number): void {
    if (dod === 0) this.write(0, 1);
    else if (dod >= -8191 && dod <= 8192) {
      this.write(0b10, 2);
      this.write(dod < 0 ? dod + 2 ** 14 : dod, 14);
    } else if (dod >= -65535 && dod <= 65536) {
      this.write(0b110, 3);
      this.write(dod < 0 ? dod + 2 ** 17 : dod, 17);
    } else if (dod >= -524287 && dod <= 524288) {
      this.write(0b1110, 4);
      this.write(dod < 0 ? dod + 2 ** 20 : dod, 20);
    } else {
      this.write(0b1111, 4);
      const h = Math.floor(dod / TWO32);
      this.write(h >>> 0, 32);
      this.write(dod - h * TWO32, 32);
    }
  }

  private writeXor(hi: number, lo: number): void {
    const xh = (hi ^ this.hi) >>> 0;
    const xl = (lo ^ this.lo) >>> 0;
    if (xh === 0 && xl === 0) {
      this.write(0, 1);
      return;
    }
    let leading = xh === 0 ? 32 + Math.clz32(xl) : Math.clz32(xh);
    const trailing = xl === 0 ? 32 + ctz32(xh) : ctz32(xl);
    // Five bits hold the leading zeros.
    if (leading >= 32) leading = 31;
    if (this.leading !== 0xff && leading >= this.leading && trailing >= this.trailing) {
      this.write(0b10, 2);
      this.writeSignificant(xh, xl, this.trailing, 64 - this.leading - this.trailing);
      return;
    }
    this.leading = leading;
    this.trailing = trailing;
    const sig = 64 - leading - trailing;
    this.write(0b11, 2);
    this.write(leading, 5);
    // 64 significant bits are written as 0: six bits hold 0..63.
    this.write(sig & 63, 6);
    this.writeSignificant(xh, xl, trailing, sig);
  }

  private writeSignificant(xh: number, xl: number, trailing: number, sig: number): void {
    let h = xh;
    let l = xl;
    if (trailing >= 32) {
      l = h >>> (trailing - 32);
      h = 0;
    } else if (trailing > 0) {
      l = ((l >>> trailing) | (h << (32 - trailing))) >>> 0;
      h = h >>> trailing;
    }
    if (sig > 32) {
      this.write(h, sig - 32);
      this.write(l, 32);
    } else this.write(l, sig);
  }
}
