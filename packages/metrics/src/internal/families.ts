// Metric families with pre-resolved series handles. prom-client's labels() hashes the label object on
// every call; here a series is resolved once (or looked up by a joined key) and then updated with a
// plain field write. The families register in a prom-client Registry as ordinary metric objects
// (get(), reset()), so registry.metrics(), getMetricsAsJSON(), cluster aggregation and the Pushgateway
// see them as prom-client metrics, while /metrics renders them directly, with prom-client's output.
import type { MetricDescriptor, MetricSample } from '@obs/core';
import type { ExemplarSample } from '../store.ts';

/** The two exposition formats. */
export type Format = 'prometheus' | 'openmetrics';

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

/** A metric in prom-client's JSON shape (`metric.get()`). */
export interface JsonMetric {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly values: JsonValue[];
  readonly aggregator: Aggregator;
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

export abstract class Family<S extends { readonly labels: Record<string, string>; readonly text: string }> {
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

  abstract render(format: Format, exemplars: boolean): string;
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
interface ScalarSeries {
  readonly labels: Record<string, string>;
  readonly text: string;
  value: number;
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
export interface CounterSeries {
  readonly labels: Record<string, string>;
  readonly text: string;
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
    return { labels, text, value: 0, exemplar: undefined };
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
export interface GaugeSeries {
  readonly labels: Record<string, string>;
  readonly text: string;
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
    return { labels, text, value: 0 };
  }

  override refresh(): void {
    this.#collect?.(this);
  }

  render(): string {
    return this.header(this.name) + this.lines(this.name);
  }
}

/** A histogram series: call `observe`. Counts are per bucket (not cumulative); the last is +Inf. */
export interface HistogramSeries {
  readonly labels: Record<string, string>;
  readonly text: string;
  readonly counts: Float64Array;
  sum: number;
  count: number;
  exemplars: (Exemplar | undefined)[] | undefined;
  /** Each bucket's labels (`le` added), made at the first collection and frozen. */
  bucketLabels?: readonly Readonly<Record<string, string>>[] | undefined;
}

export class HistogramFamily extends Family<HistogramSeries> {
  readonly type = 'histogram' as const;
  readonly buckets: readonly number[];
  readonly #le: readonly string[];

  constructor(options: FamilyOptions & { readonly buckets: readonly number[] }) {
    super(options);
    this.buckets = options.buckets;
    this.#le = options.buckets.map((b) => `${b}`);
    if (this.labelNames.length === 0) this.child([]);
  }

  protected create(labels: Record<string, string>, text: string): HistogramSeries {
    return { labels, text, counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0, exemplars: undefined };
  }

  /** Index of the first bucket whose upper bound holds `value` (buckets.length for +Inf). */
  bucketOf(value: number): number {
    const buckets = this.buckets;
    let i = 0;
    while (i < buckets.length && value > buckets[i]!) i++;
    return i;
  }

  observe(series: HistogramSeries, value: number): number {
    const i = this.bucketOf(value);
    series.counts[i]!++;
    series.sum += value;
    series.count++;
    return i;
  }

  render(format: Format, exemplars: boolean): string {
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
    return { labels, text, value: 0 };
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

/** Whether a registry metric is one of ours. */
export function isFamily(metric: unknown): metric is Family<{ labels: Record<string, string>; text: string }> {
  return typeof metric === 'object' && metric !== null && families.has(metric);
}
