import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import type { NativeParts } from './cluster.ts';
import { markRoute } from './http-middleware.ts';
import {
  encodeExemplar,
  escapeHelp,
  escapeLabelValue,
  type Format,
  formatValue,
  isFamily,
  type JsonMetric,
  type JsonValue,
  PROTO_TYPES,
  type TextFormat,
  writeNative,
} from './internal/families.ts';
import { nativeKey, sumNative } from './internal/native-histogram.ts';
import { ProtoWriter } from './internal/protobuf.ts';

const gzipAsync = promisify(gzip);

/** Content types of the three formats. */
export const CONTENT_TYPES: Readonly<Record<Format, string>> = {
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
  protobuf: 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited',
};

interface ForeignMetric {
  get(): Promise<JsonMetric> | JsonMetric;
  getForPromString?(): Promise<JsonMetric & { values: (JsonValue & { sharedLabels?: Record<string, string> })[] }>;
}

function formatLabels(labels: Record<string, string | number>, exclude?: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(labels)) {
    if (exclude === undefined || !Object.hasOwn(exclude, name)) {
      out.push(`${name}="${typeof value === 'string' ? escapeLabelValue(value) : value}"`);
    }
  }
  return out;
}

// A metric we did not create (the app's own prom-client metrics, default metrics): rendered from its
// get() exactly as prom-client's registry does, without prom-client's renaming of counters in place.
async function renderForeign(metric: ForeignMetric, format: TextFormat): Promise<string> {
  const data = typeof metric.getForPromString === 'function' ? await metric.getForPromString() : await metric.get();
  const open = format === 'openmetrics';
  const isCounter = data.type === 'counter';
  const name = escapeHelp(open && isCounter ? data.name.replace(/_total$/, '') : data.name);
  let out = `# HELP ${name} ${escapeHelp(data.help)}\n# TYPE ${name} ${data.type}`;
  for (const value of data.values ?? []) {
    const shared = (value as { sharedLabels?: Record<string, string> }).sharedLabels ?? {};
    let metricName = value.metricName ?? name;
    if (open && isCounter) metricName = `${metricName}_total`;
    const parts = [...formatLabels(value.labels ?? {}, shared), formatLabels(shared).join(',')].filter(Boolean);
    out += `\n${metricName}${parts.length > 0 ? `{${parts.join(',')}}` : ''} ${formatValue(value.value)}`;
    if (open && value.exemplar) {
      const ex = value.exemplar;
      out += ` # {${formatLabels(ex.labelSet).join(',')}} ${formatValue(ex.value)} ${ex.timestamp}`;
    }
  }
  return out;
}

/** Renders every metric of a registry in one format, as prom-client's `registry.metrics()` would. */
export async function renderRegistry(registry: Registry, format: TextFormat, exemplars: boolean): Promise<string> {
  const blocks: string[] = [];
  for (const metric of registry.getMetricsAsArray() as unknown[]) {
    if (isFamily(metric)) {
      metric.refresh();
      blocks.push(metric.render(format, exemplars));
    } else {
      blocks.push(await renderForeign(metric as unknown as ForeignMetric, format));
    }
  }
  return format === 'openmetrics' ? `${blocks.join('\n')}\n# EOF\n` : `${blocks.join('\n\n')}\n`;
}

// The quality of `type` in an Accept header; protobuf counts only as the delimited MetricFamily stream.
function quality(accept: string, type: string): number {
  let best = -1;
  for (const range of accept.split(',')) {
    const [media = '', ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    if (media !== type && media !== '*/*') continue;
    if (media === PROTOBUF && !(params.includes(`proto=${MESSAGE}`) && params.includes('encoding=delimited'))) continue;
    const q = params.find((p) => p.startsWith('q='));
    const value = q === undefined ? 1 : Number(q.slice(2));
    // An exact match outranks */* at the same quality.
    const score = Number.isFinite(value) ? value + (media === type ? 0.0001 : 0) : 0;
    if (score > best) best = score;
  }
  return best;
}

const PROTOBUF = 'application/vnd.google.protobuf';
const MESSAGE = 'io.prometheus.client.metricfamily';

/**
 * The format a scraper asked for: protobuf (delimited MetricFamily messages, as Prometheus asks with native
 * histograms enabled) or OpenMetrics when it prefers them, Prometheus text otherwise.
 */
export function negotiateFormat(accept: string | undefined): Format {
  if (accept === undefined) return 'prometheus';
  const text = Math.max(quality(accept, 'text/plain'), 0);
  const proto = accept.includes(PROTOBUF) ? quality(accept, PROTOBUF) : -1;
  const open = accept.includes('application/openmetrics-text') ? quality(accept, 'application/openmetrics-text') : -1;
  if (proto > 0 && proto >= text && proto >= open) return 'protobuf';
  return open > 0 && open >= text ? 'openmetrics' : 'prometheus';
}

function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(',').some((part) => {
    const [coding = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    return (coding === 'gzip' || coding === '*') && !params.includes('q=0');
  });
}

interface ForeignJson {
  name: string;
  help: string;
  type: string;
  values: JsonValue[];
}

// A metric we did not create, from its get(): histograms and summaries regrouped by label set; a cluster's
// aggregate adds the sum of its processes' native histograms.
function encodeForeign(w: ProtoWriter, data: ForeignJson, natives?: NativeParts): void {
  const nativeSums = natives?.get(data.name);
  const values = data.values ?? [];
  if (values.length === 0) return;
  const family = w.begin();
  w.string(1, data.name);
  w.string(2, data.help);
  const type = PROTO_TYPES[data.type] ?? 3;
  w.uint(3, type);
  const labels = (v: JsonValue, skip: string): void => {
    for (const [name, value] of Object.entries(v.labels ?? {})) {
      if (name === skip) continue;
      const pair = w.begin(1);
      w.string(1, name);
      w.string(2, `${value}`);
      w.end(pair);
    }
  };
  if (type === 4 || type === 2) {
    // One Metric per label set (without le or quantile), in the order they first appear.
    const skip = type === 4 ? 'le' : 'quantile';
    const groups = new Map<string, { first: JsonValue; parts: JsonValue[]; sum: number; count: number }>();
    for (const v of values) {
      const key = JSON.stringify(Object.entries(v.labels ?? {}).filter(([k]) => k !== skip));
      let g = groups.get(key);
      if (g === undefined) {
        g = { first: v, parts: [], sum: 0, count: 0 };
        groups.set(key, g);
      }
      const suffix = v.metricName?.slice(data.name.length);
      if (suffix === '_sum') g.sum = v.value;
      else if (suffix === '_count') g.count = v.value;
      else g.parts.push(v);
    }
    for (const g of groups.values()) {
      const metric = w.begin(4);
      labels(g.first, skip);
      const body = w.begin(type === 4 ? 7 : 4);
      w.uint(1, g.count);
      w.double(2, g.sum);
      for (const part of g.parts) {
        const raw = part.labels?.[skip];
        const bound = raw === '+Inf' ? Number.POSITIVE_INFINITY : Number(raw);
        if (type === 4 && bound === Number.POSITIVE_INFINITY && part.exemplar == null) continue;
        const item = w.begin(3);
        if (type === 4) {
          w.uint(1, part.value);
          w.double(2, bound);
          const ex = part.exemplar;
          if (ex != null) encodeExemplar(w, 3, ex.labelSet, ex.value, ex.timestamp);
        } else {
          w.double(1, bound);
          w.double(2, part.value);
        }
        w.end(item);
      }
      const parts = type === 4 ? nativeSums?.get(nativeKey(g.first.labels ?? {})) : undefined;
      if (parts !== undefined) writeNative(w, sumNative(parts));
      w.end(body);
      w.end(metric);
    }
  } else {
    for (const v of values) {
      const metric = w.begin(4);
      labels(v, '');
      const body = w.begin(type === 0 ? 3 : type === 1 ? 2 : 5);
      w.double(1, v.value);
      const ex = v.exemplar;
      if (type === 0 && ex != null) encodeExemplar(w, 2, ex.labelSet, ex.value, ex.timestamp);
      w.end(body);
      w.end(metric);
    }
  }
  w.end(family);
}

let lastSize = 1 << 16;

/** Encodes every metric of a registry as length-delimited io.prometheus.client.MetricFamily messages. */
export async function encodeRegistry(
  registry: Registry,
  exemplars: boolean,
  natives?: NativeParts,
): Promise<Uint8Array> {
  // Sized from the last scrape, so a large one does not grow its buffer step by step each time.
  const w = new ProtoWriter(lastSize);
  for (const metric of registry.getMetricsAsArray() as unknown[]) {
    if (isFamily(metric)) {
      metric.refresh();
      metric.encode(w, exemplars);
    } else {
      encodeForeign(w, (await (metric as ForeignMetric).get()) as ForeignJson, natives);
    }
  }
  lastSize = Math.max(1 << 16, w.pos + (w.pos >> 3));
  return w.finish();
}

/**
 * An express handler serving `render(format)` with content negotiation and gzip, mounted with `get` or
 * `use`. Scrapes that arrive while a collection of the same format is running share it.
 */
export function expositionHandler(
  render: (format: Format) => Promise<string | Uint8Array>,
  onError: (error: unknown) => void,
): RequestHandler {
  const inflight = new Map<Format, Promise<string | Uint8Array>>();
  const collect = (format: Format): Promise<string | Uint8Array> => {
    let pending = inflight.get(format);
    if (pending === undefined) {
      pending = render(format).finally(() => inflight.delete(format));
      inflight.set(format, pending);
    }
    return pending;
  };
  return (req, res, next) => {
    // Mounted with use('/metrics', …) the handler sees the rest of the path and answers only '/';
    // as a route (get('/metrics', …)) express has matched the path already (#20).
    if (req.route === undefined && req.path !== '/') {
      next();
      return;
    }
    if (req.route === undefined) markRoute(req, req.baseUrl === '' ? '/' : req.baseUrl);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.status(405).set('Allow', 'GET, HEAD').end();
      return;
    }
    const format = negotiateFormat(req.headers.accept);
    collect(format)
      .then(async (text) => {
        res.set({
          'Content-Type': CONTENT_TYPES[format],
          'Cache-Control': 'no-store',
          Vary: 'Accept, Accept-Encoding',
        });
        if (acceptsGzip(req.headers['accept-encoding'])) {
          res.set('Content-Encoding', 'gzip').end(await gzipAsync(text));
        } else {
          res.end(text);
        }
      })
      .catch((err: unknown) => {
        onError(err);
        if (!res.headersSent) res.status(500).type('text/plain').end('metrics collection failed\n');
      });
  };
}
