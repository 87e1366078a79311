// Metric families with pre-resolved series handles. prom-client's labels() hashes the label object on
// every call; here a series is resolved once (or looked up by a joined key) and then updated with a
// plain field write. The families register in a prom-client Registry as ordinary metric objects
// (get(), reset()), so registry.metrics(), getMetricsAsJSON(), cluster aggregation and the Pushgateway
// see them as prom-client metrics, while /metrics renders them directly, with prom-client's output.
import type { MetricDescriptor, MetricSample } from '@obs/core';
import { type NamedSample, nativeBucketUpperBound } from '@obs/promql';
import type { ExemplarSample } from '../store.ts';
import {
  addToRow,
  bucketKey,
  clearNativeState,
  createNativeState,
  halveResolution,
  type NativeBuckets,
  type NativeConfig,
  type NativeSnapshot,
  type NativeState,
  observeNative,
  snapshotNative,
  spansAndDeltas,
  toFloatHistogram,
  widenZeroBucket,
} from './native-histogram.ts';
import { labelPairs, type ProtoWriter, writeSpans } from './protobuf.ts';

/** The exposition formats: Prometheus text 0.0.4, OpenMetrics 1.0.0, Prometheus protobuf (delimited MetricFamily). */
export type Format = 'prometheus' | 'openmetrics' | 'protobuf';
/** The two text formats. */
export type TextFormat = Exclude<Format, 'protobuf'>;

/** MetricType of client_model's metrics.proto. */
export const PROTO_TYPES: Readonly<Record<string, number>> = {
  counter: 0,
  gauge: 1,
  summary: 2,
  untyped: 3,
  histogram: 4,
};

// Marks our families among the metrics of a registry.
const families = new WeakSet<object>();

/** prom-client's aggregators for cluster mode. */
export type Aggregator = 'sum' | 'average' | 'min' | 'max' | 'first' | 'omit';

/** The last traced observation of a series, shown as an OpenMetrics exemplar. */
export interface Exemplar {
  readonly traceId: string;
  readonly spanId: string;
  readonly value: number;
  /** Seconds since the epoch, as prom-client writes it. */
  readonly timestamp: number;
}

/** A value in prom-client's JSON shape (`metric.get().values[i]`). */
export interface JsonValue {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly metricName?: string;
  readonly exemplar?: { labelSet: Record<string, string>; value: number; timestamp: number } | null;
}

/** A native series in JSON: its labels and buckets. */
export interface NativeJson extends NativeSnapshot {
  readonly labels: Record<string, string>;
}

/** A metric in prom-client's JSON shape (`metric.get()`); native histograms add their buckets. */
export interface JsonMetric {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly values: JsonValue[];
  readonly aggregator: Aggregator;
  readonly natives?: readonly NativeJson[];
}

export const OVERFLOW = '__overflow__';

// The same escaping as prom-client, so the text is identical.
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

export function escapeHelp(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

function exemplarText(ex: Exemplar | undefined): string {
  return ex === undefined
    ? ''
    : ` # {trace_id="${ex.traceId}",span_id="${ex.spanId}"} ${formatValue(ex.value)} ${ex.timestamp}`;
}

function toStored(ex: Exemplar): ExemplarSample['exemplar'] {
  return {
    labels: { trace_id: ex.traceId, span_id: ex.spanId },
    value: ex.value,
    t: Math.round(ex.timestamp * 1000),
  };
}

/** Writes an Exemplar message as field `field`. */
export function encodeExemplar(
  w: ProtoWriter,
  field: number,
  labels: Record<string, string>,
  value: number,
  timestamp: number,
): void {
  const mark = w.begin(field);
  for (const [name, v] of Object.entries(labels)) {
    const pair = w.begin(1);
    w.string(1, name);
    w.string(2, v);
    w.end(pair);
  }
  w.double(2, value);
  const seconds = Math.floor(timestamp);
  const ts = w.begin(3);
  w.uint(1, seconds);
  const nanos = Math.round((timestamp - seconds) * 1e9);
  if (nanos > 0) w.uint(2, Math.min(nanos, 999_999_999));
  w.end(ts);
  w.end(mark);
}

function writeExemplar(w: ProtoWriter, field: number, ex: Exemplar): void {
  encodeExemplar(w, field, { trace_id: ex.traceId, span_id: ex.spanId }, ex.value, ex.timestamp);
}

/** The encoded LabelPairs of a series, made once. */
function seriesLabels(s: { readonly labels: Record<string, string>; pb?: Uint8Array | undefined }): Uint8Array {
  if (s.pb === undefined) s.pb = labelPairs(Object.keys(s.labels), Object.values(s.labels));
  return s.pb;
}

function labelText(names: readonly string[], values: readonly string[]): string {
  let text = '';
  for (let i = 0; i < names.length; i++) text += `${i === 0 ? '' : ','}${names[i]}="${escapeLabelValue(values[i]!)}"`;
  return text;
}

function labelObject(names: readonly string[], values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (let i = 0; i < names.length; i++) labels[names[i]!] = values[i]!;
  // Frozen: the embedded store keeps each series' key per label object (seriesKey).
  return Object.freeze(labels);
}

/** What every family shares: naming, series lookup, the cardinality limit, the registry interface. */
export interface FamilyOptions {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly string[];
  readonly aggregator?: Aggregator;
  readonly unit?: string;
  /** Distinct label sets kept before new ones fold into one overflow series. @default Infinity */
  readonly maxSeries?: number;
  /** Called once per recording that folded into the overflow series. */
  readonly onOverflow?: (family: string) => void;
}

/** What every series has: its labels, their text, and their protobuf encoding (made at the first protobuf scrape). */
export interface BaseSeries {
  readonly labels: Record<string, string>;
  readonly text: string;
  pb?: Uint8Array | undefined;
}

export abstract class Family<S extends BaseSeries> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly aggregator: Aggregator;
  readonly unit: string | undefined;
  abstract readonly type: MetricDescriptor['type'];
  protected series: Map<string, S> = new Map();
  readonly #maxSeries: number;
  readonly #onOverflow: ((family: string) => void) | undefined;

  constructor(options: FamilyOptions) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames ?? [];
    this.aggregator = options.aggregator ?? 'sum';
    this.unit = options.unit;
    this.#maxSeries = options.maxSeries ?? Number.POSITIVE_INFINITY;
    this.#onOverflow = options.onOverflow;
    families.add(this);
  }

  protected abstract create(labels: Record<string, string>, text: string): S;

  /** The series for these label values (in `labelNames` order), created at zero on first use. */
  child(values: readonly string[]): S {
    const key = values.length === 1 ? values[0]! : values.join('\u0001');
    const found = this.series.get(key);
    if (found !== undefined) return found;
    if (this.series.size >= this.#maxSeries) {
      this.#onOverflow?.(this.name);
      const overflow = this.labelNames.map(() => OVERFLOW);
      const overflowKey = overflow.join('\u0001');
      let folded = this.series.get(overflowKey);
      if (folded === undefined) {
        folded = this.create(labelObject(this.labelNames, overflow), labelText(this.labelNames, overflow));
        this.series.set(overflowKey, folded);
      }
      return folded;
    }
    const created = this.create(labelObject(this.labelNames, values), labelText(this.labelNames, values));
    this.series.set(key, created);
    return created;
  }

  /** Removes one series (used by the ALERTS family when an alert resolves). */
  remove(values: readonly string[]): void {
    this.series.delete(values.length === 1 ? values[0]! : values.join('\u0001'));
  }

  get size(): number {
    return this.series.size;
  }

  reset(): void {
    this.series.clear();
  }

  descriptor(): MetricDescriptor {
    return { name: this.name, type: this.type, help: this.help, labelNames: this.labelNames, unit: this.unit };
  }

  /** Called before reading values: gauges read at scrape time override it. */
  refresh(): void {}

  abstract render(format: TextFormat, exemplars: boolean): string;
  /** Writes each series as a Metric (field 4 of MetricFamily). */
  protected abstract encodeSeries(w: ProtoWriter, exemplars: boolean): void;
  #head: Uint8Array | undefined;

  /** Writes the family as one length-delimited MetricFamily message; nothing when it has no series. */
  encode(w: ProtoWriter, exemplars: boolean): void {
    if (this.series.size === 0) return;
    if (this.#head === undefined) {
      const head = w.begin();
      const from = w.pos;
      w.string(1, this.name);
      w.string(2, this.help);
      w.uint(3, PROTO_TYPES[this.type] ?? 3);
      this.#head = w.buf.slice(from, w.pos);
      w.pos = head;
    }
    const mark = w.begin();
    w.raw(this.#head);
    this.encodeSeries(w, exemplars);
    w.end(mark);
  }
  abstract samples(out: MetricSample[]): void;
  /** The exemplars the OpenMetrics exposition shows, as Prometheus stores them (by sample series). */
  exemplarSamples(_out: ExemplarSample[]): void {}
  abstract values(): JsonValue[];

  async get(): Promise<JsonMetric> {
    this.refresh();
    return { name: this.name, help: this.help, type: this.type, values: this.values(), aggregator: this.aggregator };
  }

  protected header(name: string): string {
    return `# HELP ${name} ${escapeHelp(this.help)}\n# TYPE ${name} ${this.type}`;
  }
}

/** A series with one value (counters and gauges). */
interface ScalarSeries extends BaseSeries {
  value: number;
}

function encodeGauges(w: ProtoWriter, series: Iterable<GaugeSeries>): void {
  for (const s of series) {
    const metric = w.begin(4);
    w.raw(seriesLabels(s));
    const gauge = w.begin(2);
    w.double(1, s.value);
    w.end(gauge);
    w.end(metric);
  }
}

// Counters and gauges: one line per series, one sample per series.
abstract class ScalarFamily<S extends ScalarSeries> extends Family<S> {
  protected lines(sample: string, exemplar?: (s: S) => string): string {
    let out = '';
    for (const s of this.series.values()) {
      out += `\n${sample}${s.text === '' ? '' : `{${s.text}}`} ${formatValue(s.value)}`;
      if (exemplar !== undefined) out += exemplar(s);
    }
    return out;
  }

  samples(out: MetricSample[]): void {
    for (const s of this.series.values()) out.push({ name: this.name, labels: s.labels, value: s.value });
  }

  values(): JsonValue[] {
    return [...this.series.values()].map((s) => ({ value: s.value, labels: s.labels }));
  }
}

/** A counter series: add to `value`. */
export interface CounterSeries extends BaseSeries {
  value: number;
  exemplar: Exemplar | undefined;
}

export class CounterFamily extends ScalarFamily<CounterSeries> {
  readonly type = 'counter' as const;

  constructor(options: FamilyOptions) {
    super(options);
    // prom-client shows a label-less counter at 0 before its first increment.
    if (this.labelNames.length === 0) this.child([]);
  }

  protected create(labels: Record<string, string>, text: string): CounterSeries {
    return { labels, text, pb: undefined, value: 0, exemplar: undefined };
  }

  protected encodeSeries(w: ProtoWriter, exemplars: boolean): void {
    for (const s of this.series.values()) {
      const metric = w.begin(4);
      w.raw(seriesLabels(s));
      const counter = w.begin(3);
      w.double(1, s.value);
      if (exemplars && s.exemplar !== undefined) writeExemplar(w, 2, s.exemplar);
      w.end(counter);
      w.end(metric);
    }
  }

  render(format: Format, exemplars: boolean): string {
    const open = format === 'openmetrics';
    const base = open ? this.name.replace(/_total$/, '') : this.name;
    const withExemplars = open && exemplars ? (s: CounterSeries): string => exemplarText(s.exemplar) : undefined;
    return this.header(base) + this.lines(open ? `${base}_total` : this.name, withExemplars);
  }

  override exemplarSamples(out: ExemplarSample[]): void {
    const name = `${this.name.replace(/_total$/, '')}_total`;
    for (const s of this.series.values())
      if (s.exemplar !== undefined)
        out.push({ series: { ...s.labels, __name__: name }, exemplar: toStored(s.exemplar) });
  }
}

/** A gauge series: set `value`. */
export interface GaugeSeries extends BaseSeries {
  value: number;
}

export class GaugeFamily extends ScalarFamily<GaugeSeries> {
  readonly type = 'gauge' as const;
  readonly #collect: ((family: GaugeFamily) => void) | undefined;

  constructor(
    options: FamilyOptions & {
      readonly collect?: (family: GaugeFamily) => void;
      /** No series until the first set (a label-less gauge otherwise shows 0 from the start, as prom-client's). */
      readonly lazy?: boolean;
    },
  ) {
    super(options);
    this.#collect = options.collect;
    if (this.labelNames.length === 0 && options.lazy !== true) this.child([]);
  }

  protected create(labels: Record<string, string>, text: string): GaugeSeries {
    return { labels, text, pb: undefined, value: 0 };
  }

  protected encodeSeries(w: ProtoWriter): void {
    encodeGauges(w, this.series.values());
  }

  override refresh(): void {
    this.#collect?.(this);
  }

  render(): string {
    return this.header(this.name) + this.lines(this.name);
  }
}

/** A histogram series: call `observe`. Counts are per bucket (not cumulative); the last is +Inf. */
export interface HistogramSeries extends BaseSeries {
  readonly counts: Float64Array;
  sum: number;
  count: number;
  exemplars: (Exemplar | undefined)[] | undefined;
  /** Each bucket's labels (`le` added), made at the first collection and frozen. */
  bucketLabels?: readonly Readonly<Record<string, string>>[] | undefined;
  /** The native buckets, when the family is native. */
  readonly native: NativeState | undefined;
}

export class HistogramFamily extends Family<HistogramSeries> {
  readonly type = 'histogram' as const;
  readonly buckets: readonly number[];
  /** Native buckets besides the classic ones, when set. */
  readonly native: NativeConfig | undefined;
  readonly #le: readonly string[];
  // Per schema, the classic bucket of each positive native bucket (-1: a classic bound lies inside it, -2:
  // not computed yet), for a window of keys.
  readonly #classic: ({ offset: number; index: Int16Array } | undefined)[] = [];

  constructor(
    options: FamilyOptions & { readonly buckets: readonly number[]; readonly native?: NativeConfig | undefined },
  ) {
    super(options);
    this.buckets = options.buckets;
    this.native = options.native;
    this.#le = options.buckets.map((b) => `${b}`);
    if (this.labelNames.length === 0) this.child([]);
  }

  protected create(labels: Record<string, string>, text: string): HistogramSeries {
    return {
      labels,
      text,
      pb: undefined,
      counts: new Float64Array(this.buckets.length + 1),
      sum: 0,
      count: 0,
      exemplars: undefined,
      native: this.native === undefined ? undefined : createNativeState(this.native),
    };
  }

  /** Index of the first bucket whose upper bound holds `value` (buckets.length for +Inf and NaN, as client_golang). */
  bucketOf(value: number): number {
    const buckets = this.buckets;
    let i = 0;
    while (i < buckets.length && !(value <= buckets[i]!)) i++;
    return i;
  }

  observe(series: HistogramSeries, value: number): number {
    const native = series.native;
    if (native !== undefined) return this.#observeNative(series, native, value);
    const i = this.bucketOf(value);
    series.counts[i]!++;
    series.sum += value;
    series.count++;
    return i;
  }

  #observeNative(series: HistogramSeries, native: NativeState, value: number): number {
    const config = this.native!;
    // A reset scheduled by a reduced resolution is due (client_golang runs it on a timer).
    if (native.resetAt !== Number.POSITIVE_INFINITY && config.now() >= native.resetAt) this.#reset(series);
    let i: number;
    if (value > native.zeroThreshold) {
      const key = bucketKey(value, native.schema);
      if (addToRow(native.positive, key, 1)) native.populated++;
      // The classic bucket follows from the native one, unless a classic bound cuts through it.
      i = this.#classicOf(native.schema, key, value);
    } else {
      i = this.bucketOf(value);
      // NaN counts in count and sum only, as in client_golang.
      if (!Number.isNaN(value) && observeNative(native, value)) native.populated++;
    }
    series.counts[i]!++;
    series.sum += value;
    series.count++;
    if (config.maxBuckets !== 0 && native.populated > config.maxBuckets) this.#limit(series, native, config, value, i);
    return i;
  }

  #classicOf(schema: number, key: number, value: number): number {
    let cache = this.#classic[schema + 4];
    if (cache === undefined || key < cache.offset || key >= cache.offset + cache.index.length) {
      const lo = cache === undefined ? key - 64 : Math.min(cache.offset, key - 64);
      const hi = cache === undefined ? key + 64 : Math.max(cache.offset + cache.index.length, key + 64);
      if (hi - lo > 1 << 14) return this.bucketOf(value);
      const index = new Int16Array(hi - lo).fill(-2);
      if (cache !== undefined) index.set(cache.index, cache.offset - lo);
      cache = { offset: lo, index };
      this.#classic[schema + 4] = cache;
    }
    let c = cache.index[key - cache.offset]!;
    if (c === -2) {
      c = classicIndex(this.buckets, nativeBucketUpperBound(key - 1, schema), nativeBucketUpperBound(key, schema));
      cache.index[key - cache.offset] = c;
    }
    return c >= 0 ? c : this.bucketOf(value);
  }

  // client_golang's limitBuckets: a reset when the last one is old enough, else a wider zero bucket, else
  // half the resolution; either of the last two schedules a reset after min_reset_duration.
  #limit(series: HistogramSeries, native: NativeState, config: NativeConfig, value: number, bucket: number): void {
    if (config.minResetDurationMs > 0 && native.resetAt === Number.POSITIVE_INFINITY) {
      const now = config.now();
      if (now - native.lastReset >= config.minResetDurationMs) {
        this.#reset(series);
        // The latest observation is kept.
        series.counts[bucket]!++;
        series.sum += value;
        series.count++;
        if (observeNative(native, value)) native.populated++;
        return;
      }
      native.resetAt = native.lastReset + config.minResetDurationMs;
    }
    if (widenZeroBucket(native, config)) return;
    halveResolution(native);
  }

  #reset(series: HistogramSeries): void {
    series.counts.fill(0);
    series.sum = 0;
    series.count = 0;
    const native = series.native;
    if (native === undefined) return;
    clearNativeState(native, this.native!);
    native.lastReset = this.native!.now();
  }

  /** prom-client's JSON, plus each native series' buckets (`natives`, by label set) for cluster aggregation. */
  override async get(): Promise<JsonMetric> {
    const json = await super.get();
    if (this.native === undefined) return json;
    const natives: NativeJson[] = [];
    for (const s of this.series.values())
      if (s.native !== undefined) natives.push({ labels: s.labels, ...snapshotNative(s.native) });
    return { ...json, natives };
  }

  override refresh(): void {
    const config = this.native;
    if (config === undefined || config.minResetDurationMs === 0) return;
    const now = config.now();
    for (const s of this.series.values())
      if (s.native !== undefined && s.native.resetAt !== Number.POSITIVE_INFINITY && now >= s.native.resetAt)
        this.#reset(s);
  }

  render(format: TextFormat, exemplars: boolean): string {
    const withExemplars = exemplars && format === 'openmetrics';
    const name = this.name;
    let out = this.header(name);
    const le = this.#le;
    for (const s of this.series.values()) {
      const rest = s.text === '' ? '' : `,${s.text}`;
      let acc = 0;
      for (let i = 0; i < le.length; i++) {
        acc += s.counts[i]!;
        out += `\n${name}_bucket{le="${le[i]}"${rest}} ${acc}`;
        if (withExemplars && s.exemplars !== undefined) out += exemplarText(s.exemplars[i]);
      }
      out += `\n${name}_bucket{le="+Inf"${rest}} ${s.count}`;
      if (withExemplars && s.exemplars !== undefined) out += exemplarText(s.exemplars[le.length]);
      const braces = s.text === '' ? '' : `{${s.text}}`;
      out += `\n${name}_sum${braces} ${formatValue(s.sum)}\n${name}_count${braces} ${s.count}`;
    }
    return out;
  }

  // client_golang's Histogram.Write: classic buckets (+Inf only with an exemplar), then the native fields.
  protected encodeSeries(w: ProtoWriter, exemplars: boolean): void {
    const buckets = this.buckets;
    for (const s of this.series.values()) {
      const metric = w.begin(4);
      w.raw(seriesLabels(s));
      const histogram = w.begin(7);
      w.uint(1, s.count);
      w.double(2, s.sum);
      const ex = exemplars ? s.exemplars : undefined;
      let acc = 0;
      for (let i = 0; i < buckets.length; i++) {
        acc += s.counts[i]!;
        const bucket = w.begin(3);
        w.uint(1, acc);
        w.double(2, buckets[i]!);
        const e = ex?.[i];
        if (e !== undefined) writeExemplar(w, 3, e);
        w.end(bucket);
      }
      const inf = ex?.[buckets.length];
      if (inf !== undefined) {
        const bucket = w.begin(3);
        w.uint(1, s.count);
        w.double(2, Number.POSITIVE_INFINITY);
        writeExemplar(w, 3, inf);
        w.end(bucket);
      }
      if (s.native !== undefined) writeNative(w, s.native, ex);
      w.end(histogram);
      w.end(metric);
    }
  }

  override exemplarSamples(out: ExemplarSample[]): void {
    const name = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      if (s.exemplars === undefined) continue;
      for (let i = 0; i <= this.#le.length; i++) {
        const ex = s.exemplars[i];
        if (ex !== undefined)
          out.push({ series: { ...s.labels, le: this.#le[i] ?? '+Inf', __name__: name }, exemplar: toStored(ex) });
      }
    }
  }

  /** Each series' native buckets as one histogram sample named as the family (none when it is not native). */
  nativeSamples(out: NamedSample[]): void {
    if (this.native === undefined) return;
    for (const s of this.series.values())
      if (s.native !== undefined)
        out.push({
          name: this.name,
          labels: s.labels,
          value: 0,
          histogram: toFloatHistogram(s.native, s.count, s.sum),
        });
  }

  samples(out: MetricSample[]): void {
    for (const s of this.series.values()) {
      let acc = 0;
      const le = this.#le;
      s.bucketLabels ??= [...le, '+Inf'].map((bound) => Object.freeze({ ...s.labels, le: bound }));
      const bucketLabels = s.bucketLabels;
      for (let i = 0; i < le.length; i++) {
        acc += s.counts[i]!;
        out.push({ name: `${this.name}_bucket`, labels: bucketLabels[i]!, value: acc });
      }
      out.push({ name: `${this.name}_bucket`, labels: bucketLabels[le.length]!, value: s.count });
      out.push({ name: `${this.name}_sum`, labels: s.labels, value: s.sum });
      out.push({ name: `${this.name}_count`, labels: s.labels, value: s.count });
    }
  }

  values(): JsonValue[] {
    const out: JsonValue[] = [];
    for (const s of this.series.values()) {
      let acc = 0;
      for (let i = 0; i < this.#le.length; i++) {
        acc += s.counts[i]!;
        out.push({ labels: { le: this.buckets[i]!, ...s.labels }, value: acc, metricName: `${this.name}_bucket` });
      }
      out.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${this.name}_bucket` });
      out.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      out.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return out;
  }
}

/** A gauge whose series each carry their own label names (the ALERTS series). */
export class FreeGaugeFamily extends ScalarFamily<GaugeSeries> {
  readonly type = 'gauge' as const;

  protected create(labels: Record<string, string>, text: string): GaugeSeries {
    return { labels, text, pb: undefined, value: 0 };
  }

  protected encodeSeries(w: ProtoWriter): void {
    encodeGauges(w, this.series.values());
  }

  /** Sets the series with exactly these labels (in this order). */
  set(labels: Readonly<Record<string, string>>, value: number): void {
    const names = Object.keys(labels);
    const values = names.map((n) => labels[n]!);
    const key = names.map((n, i) => `${n}\u0002${values[i]}`).join('\u0001');
    let s = this.series.get(key);
    if (s === undefined) {
      s = this.create(Object.freeze({ ...labels }), labelText(names, values));
      this.series.set(key, s);
    }
    s.value = value;
  }

  /** Removes the series with exactly these labels. */
  delete(labels: Readonly<Record<string, string>>): void {
    const names = Object.keys(labels);
    this.series.delete(names.map((n) => `${n}\u0002${labels[n]}`).join('\u0001'));
  }

  render(): string {
    return this.header(this.name) + this.lines(this.name);
  }
}

// The classic bucket of every value in (lo, hi], or -1 when a classic bound lies strictly inside.
function classicIndex(buckets: readonly number[], lo: number, hi: number): number {
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i]!;
    if (b > lo && b < hi) return -1;
    if (b >= hi) return i;
  }
  return buckets.length;
}

/** Writes the native fields of a Histogram message (client_golang's Write). */
export function writeNative(
  w: ProtoWriter,
  native: NativeBuckets,
  exemplars?: readonly (Exemplar | undefined)[] | undefined,
): void {
  w.sint(5, native.schema);
  w.double(6, native.zeroThreshold);
  w.uint(7, native.zeroCount);
  const negative = spansAndDeltas(native.negative);
  const positive = spansAndDeltas(native.positive);
  writeSpans(w, 9, 10, negative.spans, negative.deltas);
  // A histogram with no observation and a zero threshold of 0 gets a no-op span, so that scrapers still
  // see a native histogram.
  if (
    native.zeroThreshold === 0 &&
    native.zeroCount === 0 &&
    positive.spans.length === 0 &&
    negative.spans.length === 0
  )
    positive.spans.push({ offset: 0, length: 0 });
  writeSpans(w, 12, 13, positive.spans, positive.deltas);
  if (exemplars !== undefined) for (const e of exemplars) if (e !== undefined) writeExemplar(w, 16, e);
}

/** Whether a registry metric is one of ours. */
export function isFamily(metric: unknown): metric is Family<{ labels: Record<string, string>; text: string }> {
  return typeof metric === 'object' && metric !== null && families.has(metric);
}
