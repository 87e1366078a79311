import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import { markRoute } from './http-middleware.ts';
import {
  escapeHelp,
  escapeLabelValue,
  type Format,
  formatValue,
  isFamily,
  type JsonMetric,
  type JsonValue,
} from './internal/families.ts';

const gzipAsync = promisify(gzip);

/** Content types of the two formats. */
export const CONTENT_TYPES: Readonly<Record<Format, string>> = {
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
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
async function renderForeign(metric: ForeignMetric, format: Format): Promise<string> {
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
export async function renderRegistry(registry: Registry, format: Format, exemplars: boolean): Promise<string> {
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

function quality(accept: string, type: string): number {
  let best = -1;
  for (const range of accept.split(',')) {
    const [media = '', ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    if (media !== type && media !== '*/*') continue;
    const q = params.find((p) => p.startsWith('q='));
    const value = q === undefined ? 1 : Number(q.slice(2));
    // An exact match outranks */* at the same quality.
    const score = Number.isFinite(value) ? value + (media === type ? 0.0001 : 0) : 0;
    if (score > best) best = score;
  }
  return best;
}

/** The format a scraper asked for: OpenMetrics when it prefers it, Prometheus text otherwise. */
export function negotiateFormat(accept: string | undefined): Format {
  if (accept === undefined || !accept.includes('application/openmetrics-text')) return 'prometheus';
  const open = quality(accept, 'application/openmetrics-text');
  const text = Math.max(quality(accept, 'text/plain'), 0);
  return open > 0 && open >= text ? 'openmetrics' : 'prometheus';
}

function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(',').some((part) => {
    const [coding = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    return (coding === 'gzip' || coding === '*') && !params.includes('q=0');
  });
}

/**
 * An express handler serving `render(format)` with content negotiation and gzip, mounted with `get` or
 * `use`. Scrapes that arrive while a collection of the same format is running share it.
 */
export function expositionHandler(
  render: (format: Format) => Promise<string>,
  onError: (error: unknown) => void,
): RequestHandler {
  const inflight = new Map<Format, Promise<string>>();
  const collect = (format: Format): Promise<string> => {
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
