// The app's own histograms (`metrics.histogram()`): classic buckets, native buckets, or both, exposed, stored,
// pushed and aggregated like the built-in ones. prom-client's histograms cannot be native.
import { type ConfigIssue, ObsConfigError } from '@obs/core';
import { HistogramFamily } from './internal/families.ts';
import type { MetricSet } from './internal/metric-set.ts';
import type { NativeConfig, NativeHistogramOptions } from './internal/native-histogram.ts';
import { activeExemplar } from './internal/otel.ts';
import { resolveNative } from './options.ts';

/** Options of `metrics.histogram()`. */
export interface HistogramOptions {
  /** The metric name, used as given (no namespace is added): `job_step_duration_seconds`. */
  readonly name: string;
  readonly help: string;
  /** @default [] */
  readonly labelNames?: readonly string[];
  /** Classic bucket bounds, increasing. @default the set's `buckets` */
  readonly buckets?: readonly number[];
  /**
   * Native (exponential) buckets: `true` for the defaults, the options, or `false`.
   * @default the set's (`nativeHistograms`, `[monitoring.prometheus] native_histograms`)
   */
  readonly nativeHistograms?: boolean | NativeHistogramOptions;
}

/** A histogram of the app's own: `observe(0.42)`, or `observe({ step: 'fetch' }, 0.42)` with labels. */
export interface Histogram {
  /** The metric name. */
  readonly name: string;
  /** Records one observation (for a histogram without labels). */
  observe(value: number): void;
  /** Records one observation in the series of these labels (every label name, no other). */
  observe(labels: Readonly<Record<string, string>>, value: number): void;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^(?!__)[a-zA-Z_][a-zA-Z0-9_]*$/;

function optionIssues(options: HistogramOptions, taken: (name: string) => boolean): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const { name, help, labelNames = [], buckets } = options;
  if (typeof name !== 'string' || !METRIC_NAME.test(name))
    issues.push({ path: 'name', message: 'must be a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)' });
  else if (taken(name)) issues.push({ path: 'name', message: `a metric named ${name} is already registered` });
  if (typeof help !== 'string' || help === '') issues.push({ path: 'help', message: 'must be a non-empty string' });
  if (!Array.isArray(labelNames)) issues.push({ path: 'labelNames', message: 'must be an array of label names' });
  else
    labelNames.forEach((l, i) => {
      if (typeof l !== 'string' || !LABEL_NAME.test(l) || l === 'le')
        issues.push({
          path: `labelNames[${i}]`,
          message: 'must be a label name other than le ([a-zA-Z_][a-zA-Z0-9_]*, not __*)',
        });
      else if (labelNames.indexOf(l) !== i) issues.push({ path: `labelNames[${i}]`, message: `repeats ${l}` });
    });
  if (buckets !== undefined) {
    if (!Array.isArray(buckets)) issues.push({ path: 'buckets', message: 'must be an array of numbers' });
    else
      buckets.forEach((b, i) => {
        if (typeof b !== 'number' || !Number.isFinite(b))
          issues.push({ path: `buckets[${i}]`, message: 'must be a finite number' });
        else if (i > 0 && !(b > (buckets[i - 1] as number)))
          issues.push({ path: `buckets[${i}]`, message: 'must be greater than the bucket before it' });
      });
  }
  return issues;
}

/**
 * @internal Creates and registers a histogram family of the app's own.
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` naming each bad option.
 */
export function createHistogram(
  set: MetricSet,
  defaults: {
    readonly buckets: readonly number[];
    readonly native: NativeConfig | undefined;
    readonly cardinalityLimit: number;
    readonly exemplars: boolean;
  },
  options: HistogramOptions,
  taken: (name: string) => boolean,
  invalid: (what: string, value: unknown) => void,
): Histogram {
  const issues = optionIssues(options, taken);
  const native =
    options.nativeHistograms === undefined
      ? defaults.native
      : resolveNative(options.nativeHistograms, 'nativeHistograms', issues);
  if (issues.length > 0) throw new ObsConfigError('@obs/metrics', issues);
  const labelNames = [...(options.labelNames ?? [])];
  const family = set.register(
    new HistogramFamily({
      name: options.name,
      help: options.help,
      labelNames,
      buckets: native?.classicBuckets === false ? [] : [...(options.buckets ?? defaults.buckets)],
      native,
      maxSeries: defaults.cardinalityLimit,
      onOverflow: set.overflowCounter,
    }),
  );
  const what = `${options.name}.observe`;
  const values: string[] = new Array(labelNames.length);

  function record(labels: Readonly<Record<string, string>> | undefined, value: number): void {
    if (typeof value !== 'number') {
      invalid(`${what}: the value must be a number`, value);
      return;
    }
    let n = 0;
    if (labels !== undefined) {
      for (const k in labels) {
        const i = labelNames.indexOf(k);
        const v = labels[k];
        if (i < 0 || typeof v !== 'string') {
          invalid(`${what}: labels must be strings named ${JSON.stringify(labelNames)}`, JSON.stringify(labels));
          return;
        }
        values[i] = v;
        n++;
      }
    }
    if (n !== labelNames.length) {
      invalid(`${what}: labels must be strings named ${JSON.stringify(labelNames)}`, JSON.stringify(labels ?? {}));
      return;
    }
    const series = family.child(values);
    const bucket = family.observe(series, value);
    if (defaults.exemplars) {
      const exemplar = activeExemplar(value);
      if (exemplar !== undefined) {
        series.exemplars ??= [];
        series.exemplars[bucket] = exemplar;
      }
    }
  }

  return {
    name: options.name,
    observe(labelsOrValue: Readonly<Record<string, string>> | number, value?: number): void {
      if (typeof labelsOrValue === 'number') record(undefined, labelsOrValue);
      else if (typeof labelsOrValue === 'object' && labelsOrValue !== null) record(labelsOrValue, value as number);
      else invalid(`${what}: give a value, or labels and a value`, labelsOrValue);
    },
  };
}
