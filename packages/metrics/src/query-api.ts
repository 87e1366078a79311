// Prometheus's HTTP API v1 over the embedded store: the same paths, parameters, JSON shapes, status codes and
// error types as a Prometheus server, so promtool, Grafana and the console query the app itself.
import type { ActiveAlertStatus, MetricDescriptor, RuleGroupStatus, RuleStatus } from '@obs/core';
import {
  type Annotation,
  type Expr,
  type FloatHistogram,
  formatExpr,
  histogramBuckets,
  labelsKey,
  type Matcher,
  type ParsedExpr,
  PromqlError,
  parse,
  type QueryResult,
} from '@obs/promql';
import express, { type Request, type Response, Router } from 'express';
import { metricsError } from './errors.ts';
import {
  BadData,
  formValue,
  formValues,
  invalidParam,
  isLabelName,
  limitParam,
  MAX_TIME,
  MIN_TIME,
  matcherSets,
  parseDuration,
  parseErrorText,
  parseTime,
  timeParam,
} from './internal/api-params.ts';
import { createQueryRunner, QueryStopped } from './internal/query-runner.ts';
import type { EmbeddedStore } from './store.ts';

/** Options of {@link queryApi}. */
export interface QueryApiOptions {
  readonly store: EmbeddedStore;
  readonly descriptors: () => readonly MetricDescriptor[];
  /** @default 10000 */
  readonly timeoutMs?: number;
  /** Samples one query (or one step of a range query) may load. @default 5000000 */
  readonly maxSamples?: number;
  /** @default 4 */
  readonly concurrency?: number;
  /** The rule groups and their alerts, when a plugin evaluates rules (the `alerts.status` service). */
  readonly rules?: () => readonly RuleGroupStatus[] | undefined;
  /** Failures that are ours (500). */
  readonly onError?: (error: Error) => void;
}

type ErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'unavailable' | 'internal' | 'not_found';

const STATUS: Readonly<Record<ErrorType, number>> = {
  bad_data: 400,
  execution: 422,
  timeout: 503,
  canceled: 503,
  unavailable: 503,
  internal: 500,
  not_found: 404,
};

// Prometheus's points-per-series limit of a range query.
const MAX_POINTS = 11_000;

/**
 * A float as Prometheus's API writes it (util/jsonutil MarshalFloat): Go's strconv.FormatFloat(v, 'f', -1, 64),
 * or 'e' (`1e-07`, `2.938735877055719e-39`, `1e+21`) when 0 < |v| < 1e-6 or |v| >= 1e21.
 */
function formatFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) {
    // JavaScript's shortest digits, with Go's exponent of at least two digits.
    const [mantissa, exp = '+0'] = v.toExponential().split('e');
    const sign = exp[0] === '-' ? '-' : '+';
    return `${mantissa}e${sign}${exp.replace(/^[+-]/, '').padStart(2, '0')}`;
  }
  // Within those bounds JavaScript writes every digit without an exponent, as Go's 'f' does (Go keeps the sign of -0).
  return Object.is(v, -0) ? '-0' : String(v);
}

function position(text: string, at: number): string {
  const before = text.slice(0, Math.max(0, at));
  const line = before.split('\n').length;
  return `${line}:${at - before.lastIndexOf('\n')}`;
}

/** Prometheus's `warnings` and `infos`: `PromQL warning: ... (1:6)`. */
function annotationTexts(query: string, annotations: readonly Annotation[]): { warnings: string[]; infos: string[] } {
  const warnings: string[] = [];
  const infos: string[] = [];
  for (const a of annotations) {
    const text = `PromQL ${a.level}: ${a.message} (${position(query, a.at)})`;
    (a.level === 'warning' ? warnings : infos).push(text);
  }
  return { warnings, infos };
}

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

// Prometheus writes labels sorted by name.
function sorted(labels: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(labels).sort(compareStrings)) out[name] = labels[name]!;
  return out;
}

function send(res: Response, status: number, body: Record<string, unknown>): void {
  res.status(status).type('application/json').send(JSON.stringify(body));
}

function success(res: Response, data: unknown, notes: { warnings?: string[]; infos?: string[] } = {}): void {
  const body: Record<string, unknown> = { status: 'success' };
  if (data !== undefined) body['data'] = data;
  if (notes.warnings !== undefined && notes.warnings.length > 0) body['warnings'] = notes.warnings;
  if (notes.infos !== undefined && notes.infos.length > 0) body['infos'] = notes.infos;
  send(res, 200, body);
}

function failure(res: Response, type: ErrorType, message: string): void {
  send(res, STATUS[type], { status: 'error', errorType: type, error: message });
}

function parseQuery(text: string): ParsedExpr {
  try {
    return parse(text);
  } catch (err) {
    if (err instanceof PromqlError) throw invalidParam('query', parseErrorText(err));
    throw err;
  }
}

const seconds = (ms: number): number => ms / 1000;

/**
 * A native histogram as Prometheus's API writes it (util/jsonutil MarshalHistogram): count and sum, then the
 * non-empty buckets as [boundary rule, lower, upper, count], no `buckets` key when there are none.
 */
function histogramJson(h: FloatHistogram): Record<string, unknown> {
  const out: Record<string, unknown> = { count: formatFloat(h.count), sum: formatFloat(h.sum) };
  const buckets = histogramBuckets(h)
    .filter((b) => b.count !== 0)
    .map((b) => [b.boundaryRule, formatFloat(b.lower), formatFloat(b.upper), formatFloat(b.count)]);
  if (buckets.length > 0) out['buckets'] = buckets;
  return out;
}

function resultJson(result: QueryResult, timeMs: number, limit: number): { data: unknown; truncated: boolean } {
  const v = result.value;
  switch (v.type) {
    case 'scalar':
      return { data: { resultType: 'scalar', result: [seconds(timeMs), formatFloat(v.value)] }, truncated: false };
    case 'string':
      return { data: { resultType: 'string', result: [seconds(timeMs), v.value] }, truncated: false };
    case 'vector': {
      const samples = limit > 0 ? v.samples.slice(0, limit) : v.samples;
      return {
        data: {
          resultType: 'vector',
          result: samples.map((s) =>
            s.histogram === undefined
              ? { metric: sorted(s.labels), value: [seconds(timeMs), formatFloat(s.value)] }
              : { metric: sorted(s.labels), histogram: [seconds(timeMs), histogramJson(s.histogram)] },
          ),
        },
        truncated: samples.length < v.samples.length,
      };
    }
    case 'matrix': {
      const series = limit > 0 ? v.series.slice(0, limit) : v.series;
      return {
        data: {
          resultType: 'matrix',
          // As Prometheus writes a series: `values` only with float points, `histograms` only with histogram ones.
          result: series.map((s) => {
            const out: Record<string, unknown> = { metric: sorted(s.labels) };
            if (s.t.length > 0 || s.histograms === undefined)
              out['values'] = s.t.map((t, i) => [seconds(t), formatFloat(s.v[i]!)]);
            const hs = s.histograms;
            if (hs !== undefined && hs.t.length > 0)
              out['histograms'] = hs.t.map((t, i) => [seconds(t), histogramJson(hs.h[i]!)]);
            return out;
          }),
        },
        truncated: series.length < v.series.length,
      };
    }
  }
}

function timeoutParam(req: Request): number | undefined {
  const text = formValue(req, 'timeout');
  if (text === '') return undefined;
  try {
    return parseDuration(text);
  } catch (err) {
    throw invalidParam('timeout', (err as Error).message);
  }
}

// `lookback_delta` (Prometheus 2.43+): a duration as `step` takes it; zero or less keeps the default. Go truncates
// the duration to whole milliseconds for the engine.
function lookbackParam(req: Request): { lookbackMs?: number } {
  const text = formValue(req, 'lookback_delta');
  if (text === '') return {};
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw new BadData(`error parsing lookback delta duration: ${(err as Error).message}`);
  }
  return ms > 0 ? { lookbackMs: Math.trunc(ms) } : {};
}

function selectorsOf(expr: Expr): Matcher[][] {
  const out: Matcher[][] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) visit(n);
      return;
    }
    if (typeof node !== 'object' || node === null || !('kind' in node)) return;
    if ((node as { kind: string }).kind === 'vector')
      out.push([...(node as unknown as { matchers: Matcher[] }).matchers]);
    for (const value of Object.values(node)) visit(value);
  };
  visit(expr);
  return out;
}

function compareLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): number {
  const an = Object.keys(a).sort();
  const bn = Object.keys(b).sort();
  for (let i = 0; i < Math.min(an.length, bn.length); i++) {
    const c = compareStrings(an[i]!, bn[i]!) || compareStrings(a[an[i]!]!, b[bn[i]!]!);
    if (c !== 0) return c;
  }
  return an.length - bn.length;
}

/**
 * An express router serving Prometheus's HTTP API v1 (mount it at `/api/v1`, with POST as a read):
 * query, query_range, series, labels, label values, metadata, query_exemplars, format_query, status/buildinfo.
 */
export function queryApi(options: QueryApiOptions): Router {
  const { store } = options;
  const runner = createQueryRunner(store, {
    timeoutMs: options.timeoutMs ?? 10_000,
    maxSamples: options.maxSamples ?? 5_000_000,
    concurrency: options.concurrency ?? 4,
  });
  const router = Router();
  router.use(express.urlencoded({ extended: false, limit: '1mb' }));

  type Handler = (req: Request, res: Response, signal: AbortSignal) => Promise<void> | void;
  const handle =
    (fn: Handler) =>
    (req: Request, res: Response): void => {
      const aborted = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) aborted.abort();
      });
      Promise.resolve()
        .then(() => fn(req, res, aborted.signal))
        .catch((err: unknown) => {
          if (res.headersSent) return;
          if (err instanceof BadData) failure(res, 'bad_data', err.message);
          else if (err instanceof QueryStopped) failure(res, err.type, err.message);
          else if (err instanceof PromqlError && err.code === 'OBS_ERR_PROMQL_EVAL')
            failure(res, 'execution', err.message.replace(/^\[@obs\/promql\] /, ''));
          else if (
            err instanceof PromqlError &&
            (err.code === 'OBS_ERR_PROMQL_PARSE' || err.code === 'OBS_ERR_PROMQL_UNSUPPORTED')
          )
            failure(res, 'bad_data', `invalid parameter "query": ${parseErrorText(err)}`);
          else {
            const error = err instanceof Error ? err : new Error(String(err));
            options.onError?.(
              metricsError('OBS_ERR_METRICS_QUERY', `[@obs/metrics] query API failure: ${error.message}`, {
                cause: err,
              }),
            );
            failure(res, 'internal', error.message);
          }
        });
    };
  const readRoute = (path: string, fn: Handler): void => {
    router.get(path, handle(fn));
    router.post(path, handle(fn));
  };

  readRoute('/query', async (req, res, signal) => {
    const limit = limitParam(req);
    const time = timeParam(req, 'time', Date.now());
    const timeoutMs = timeoutParam(req);
    const lookback = lookbackParam(req);
    const text = formValue(req, 'query');
    const query = parseQuery(text);
    const result = await runner.instant(query, time, {
      signal,
      ...lookback,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    const { data, truncated } = resultJson(result, time, limit);
    const notes = annotationTexts(text, result.annotations);
    if (truncated) notes.warnings.push('results truncated due to limit');
    success(res, data, notes);
  });

  readRoute('/query_range', async (req, res, signal) => {
    const limit = limitParam(req);
    const at = (name: string): number => {
      try {
        return parseTime(formValue(req, name));
      } catch (err) {
        throw invalidParam(name, (err as Error).message);
      }
    };
    const start = at('start');
    const end = at('end');
    if (end < start) throw invalidParam('end', 'end timestamp must not be before start time');
    let step: number;
    try {
      step = parseDuration(formValue(req, 'step'));
    } catch (err) {
      throw invalidParam('step', (err as Error).message);
    }
    if (!(step > 0))
      throw invalidParam(
        'step',
        'zero or negative query resolution step widths are not accepted. Try a positive integer',
      );
    if ((end - start) / step > MAX_POINTS)
      throw new BadData(
        'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
      );
    const timeoutMs = timeoutParam(req);
    const lookback = lookbackParam(req);
    const text = formValue(req, 'query');
    const query = parseQuery(text);
    if (query.type !== 'scalar' && query.type !== 'vector')
      throw invalidParam(
        'query',
        `invalid expression type "${query.type === 'matrix' ? 'range vector' : 'string'}" for range query, must be Scalar or instant Vector`,
      );
    const result = await runner.range(
      query,
      { startMs: start, endMs: end, stepMs: Math.round(step) },
      { signal, ...lookback, ...(timeoutMs === undefined ? {} : { timeoutMs }) },
    );
    const { data, truncated } = resultJson(result, start, limit);
    const notes = annotationTexts(text, result.annotations);
    if (truncated) notes.warnings.push('results truncated due to limit');
    success(res, data, notes);
  });

  // The series of every matcher set (all series when there is none) with samples in [start, end].
  const seriesIn = (sets: readonly Matcher[][], start: number, end: number): Map<string, Record<string, string>> => {
    const found = new Map<string, Record<string, string>>();
    for (const set of sets.length === 0 ? [[]] : sets)
      for (const labels of store.selectLabels(set, start - 1, end)) found.set(labelsKey(labels), sorted(labels));
    return found;
  };
  const rangeParams = (req: Request): { sets: Matcher[][]; start: number; end: number; limit: number } => {
    const start = timeParam(req, 'start', MIN_TIME);
    const end = timeParam(req, 'end', MAX_TIME);
    const limit = limitParam(req);
    return { sets: matcherSets(formValues(req, 'match[]')), start, end, limit };
  };
  const truncate = <T>(list: T[], limit: number): { list: T[]; warnings: string[] } =>
    limit > 0 && list.length > limit
      ? { list: list.slice(0, limit), warnings: ['results truncated due to limit'] }
      : { list, warnings: [] };

  readRoute('/series', (req, res) => {
    if (formValues(req, 'match[]').length === 0) throw new BadData('no match[] parameter provided');
    const { sets, start, end, limit } = rangeParams(req);
    const series = [...seriesIn(sets, start, end).values()].sort(compareLabels);
    const { list, warnings } = truncate(series, limit);
    success(res, list, { warnings });
  });

  readRoute('/labels', (req, res) => {
    const { sets, start, end, limit } = rangeParams(req);
    const names = new Set<string>();
    // Every series of every set: a name seen twice is one name, so no series needs deduplicating first.
    for (const set of sets.length === 0 ? [[]] : sets)
      for (const labels of store.selectLabels(set, start - 1, end)) for (const n in labels) names.add(n);
    const { list, warnings } = truncate([...names].sort(compareStrings), limit);
    success(res, list, { warnings });
  });

  router.get(
    '/label/:name/values',
    handle((req, res) => {
      const name = String(req.params['name']);
      if (!isLabelName(name)) throw new BadData(`invalid label name: ${JSON.stringify(name)}`);
      const { sets, start, end, limit } = rangeParams(req);
      const values = new Set<string>();
      for (const set of sets.length === 0 ? [[]] : sets)
        for (const labels of store.selectLabels(set, start - 1, end)) {
          const v = labels[name];
          if (v !== undefined && v !== '') values.add(v);
        }
      const { list, warnings } = truncate([...values].sort(compareStrings), limit);
      success(res, list, { warnings });
    }),
  );

  router.get(
    '/metadata',
    handle((req, res) => {
      const number = (name: string): number => {
        const text = formValue(req, name);
        if (text === '') return -1;
        if (!/^[+-]?\d+$/.test(text)) throw new BadData(`${name} must be a number`);
        return Number(text);
      };
      const limit = number('limit');
      const perMetric = number('limit_per_metric');
      const metric = formValue(req, 'metric');
      const data: Record<string, { type: string; help: string; unit: string }[]> = {};
      for (const d of options.descriptors()) {
        if (limit >= 0 && Object.keys(data).length >= limit) break;
        // Prometheus scrapes OpenMetrics, whose counter families are named without `_total`, and we write no UNIT.
        const name = d.type === 'counter' ? d.name.replace(/_total$/, '') : d.name;
        if (metric !== '' && metric !== name) continue;
        if (perMetric === 0) continue;
        data[name] = [{ type: d.type, help: d.help, unit: '' }];
      }
      success(res, data);
    }),
  );

  readRoute('/query_exemplars', (req, res) => {
    const start = timeParam(req, 'start', MIN_TIME);
    const end = timeParam(req, 'end', MAX_TIME);
    if (end < start) throw invalidParam('end', 'end timestamp must not be before start timestamp');
    const query = parseQuery(formValue(req, 'query'));
    const sets = selectorsOf(query.expr);
    if (sets.length === 0) {
      success(res, undefined);
      return;
    }
    const data = store
      .exemplars(sets, start, end)
      .sort((a, b) => compareLabels(a.labels, b.labels))
      .map((s) => ({
        seriesLabels: sorted(s.labels),
        exemplars: s.exemplars.map((e) => ({ labels: e.labels, value: formatFloat(e.value), timestamp: seconds(e.t) })),
      }));
    success(res, data);
  });

  readRoute('/format_query', (req, res) => {
    success(res, formatExpr(parseQuery(formValue(req, 'query')).expr, { pretty: true }));
  });

  router.get(
    '/status/buildinfo',
    handle((_req, res) => {
      success(res, {
        version: '3.0.0',
        revision: '@obs/metrics',
        branch: 'embedded',
        buildUser: '@obs/metrics',
        buildDate: '',
        goVersion: `node ${process.version}`,
      });
    }),
  );

  // Rules and alerts are evaluated by @obs/alerts (the `alerts.status` service); with none, "no rules" is true.
  router.get(
    '/rules',
    handle((req, res) => {
      const type = formValue(req, 'type');
      if (type !== '' && type !== 'alert' && type !== 'record')
        throw new BadData(`invalid type ${JSON.stringify(type)}: use alert or record`);
      const names = formValues(req, 'rule_name[]');
      const groupNames = formValues(req, 'rule_group[]');
      const files = formValues(req, 'file[]');
      const groups = [];
      for (const g of options.rules?.() ?? []) {
        if (groupNames.length > 0 && !groupNames.includes(g.name)) continue;
        if (files.length > 0 && !files.includes(g.file)) continue;
        const rules = g.rules.filter(
          (r) =>
            (type === '' || (type === 'alert') === (r.type === 'alerting')) &&
            (names.length === 0 || names.includes(r.name)),
        );
        // As Prometheus: a filter that leaves a group without rules leaves the group out.
        if (rules.length === 0 && (type !== '' || names.length > 0)) continue;
        groups.push({
          name: g.name,
          file: g.file,
          rules: rules.map(ruleJson),
          interval: g.intervalMs / 1000,
          limit: g.limit,
          evaluationTime: g.evaluationMs / 1000,
          lastEvaluation: goTime(g.lastEvaluation),
        });
      }
      success(res, { groups });
    }),
  );
  router.get(
    '/alerts',
    handle((_req, res) => {
      const alerts = [];
      for (const g of options.rules?.() ?? [])
        for (const r of g.rules) for (const a of r.alerts ?? []) alerts.push(alertJson(a));
      success(res, { alerts });
    }),
  );

  router.use(
    handle((req, res) => {
      failure(res, 'not_found', `unknown API endpoint ${req.method} /api/v1${req.path}`);
    }),
  );
  return router;
}

// Go's time.Time in JSON (RFC 3339 with the fraction's trailing zeros cut), and its zero time before a first run.
function goTime(ms: number | undefined): string {
  if (ms === undefined) return '0001-01-01T00:00:00Z';
  return new Date(ms).toISOString().replace(/\.?0*Z$/, 'Z');
}

// strconv.FormatFloat(v, 'e', -1, 64): shortest digits, an exponent of at least two digits.
function goExponent(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
}

function alertJson(a: ActiveAlertStatus): Record<string, unknown> {
  return {
    labels: sorted(a.labels),
    annotations: sorted(a.annotations),
    state: a.state,
    activeAt: goTime(a.activeAt),
    ...(a.keepFiringSince === undefined ? {} : { keepFiringSince: goTime(a.keepFiringSince) }),
    value: goExponent(a.value),
  };
}

// Prometheus's AlertingRule and RecordingRule, fields in its order (lastError only when set).
function ruleJson(r: RuleStatus): Record<string, unknown> {
  const tail = {
    health: r.health,
    ...(r.lastError === undefined ? {} : { lastError: r.lastError }),
    evaluationTime: r.evaluationMs / 1000,
    lastEvaluation: goTime(r.lastEvaluation),
    type: r.type,
  };
  if (r.type === 'recording')
    return {
      name: r.name,
      query: r.query,
      ...(Object.keys(r.labels).length === 0 ? {} : { labels: sorted(r.labels) }),
      ...tail,
    };
  return {
    state: r.state ?? 'inactive',
    name: r.name,
    query: r.query,
    duration: (r.forMs ?? 0) / 1000,
    keepFiringFor: (r.keepFiringForMs ?? 0) / 1000,
    labels: sorted(r.labels),
    annotations: sorted(r.annotations ?? {}),
    alerts: (r.alerts ?? []).map(alertJson),
    ...tail,
  };
}
