import { type ConfigIssue, ObsConfigError } from '@obs/core';
import type { Request, RequestHandler, Response } from 'express';
import { CounterFamily, type CounterSeries, HistogramFamily, type HistogramSeries } from './internal/families.ts';
import type { MetricSet } from './internal/metric-set.ts';
import type { NativeConfig, NativeHistogramOptions } from './internal/native-histogram.ts';
import { resolveNative } from './options.ts';

/** Options of `metrics.httpMiddleware()`. */
export interface HttpMetricsOptions {
  /** Label the status as the code (`404`) or its class (`4xx`). @default "code" */
  readonly status?: 'code' | 'class';
  /** Duration buckets, in seconds. @default [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] */
  readonly buckets?: readonly number[];
  /** Size buckets, in bytes. @default [100, 1000, 10000, 100000, 1000000, 10000000] */
  readonly sizeBuckets?: readonly number[];
  /** The route label of requests no route matched. @default "unmatched" */
  readonly unmatchedRoute?: string;
  /**
   * Native (exponential) histograms besides the classic buckets for the three histograms: `true` for the
   * defaults, the options, or `false`. @default the metric set's (`nativeHistograms`, `[monitoring.prometheus] native_histograms`)
   */
  readonly nativeHistograms?: boolean | NativeHistogramOptions;
  /** Requests to leave out (health probes, the scrape itself). @default none */
  readonly ignore?: (req: Request) => boolean;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SIZE_BUCKETS = [100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

interface Handles {
  readonly count: CounterSeries;
  readonly duration: HistogramSeries;
  readonly requestSize: HistogramSeries;
  readonly responseSize: HistogramSeries;
}

interface Layer {
  readonly route?: { readonly path: unknown };
  readonly rawPath?: unknown;
  readonly handle?: { readonly stack?: readonly Layer[] };
}

interface AppLike {
  readonly router?: { readonly stack?: readonly Layer[] };
  readonly mountpath?: unknown;
  readonly parent?: AppLike;
}

function joinPath(prefix: string, path: unknown): string {
  const part = Array.isArray(path) ? String(path[0] ?? '') : String(path ?? '');
  const joined = `${prefix.endsWith('/') ? prefix.slice(0, -1) : prefix}${part === '/' ? '' : part}`;
  return joined === '' ? '/' : joined;
}

// Route templates are not on the request: express only keeps the last matched route relative to its
// router, and req.baseUrl holds the matched prefix with its values. So the app's router tree is
// indexed once (and again when a route is new), mapping each Route object to its full template.
const templates = new WeakMap<object, string>();

function mountPrefix(app: AppLike | undefined): string {
  if (app?.parent === undefined) return '';
  return joinPath(mountPrefix(app.parent), app.mountpath);
}

function index(stack: readonly Layer[] | undefined, prefix: string, depth: number): void {
  if (stack === undefined || depth > 32) return;
  for (const layer of stack) {
    if (layer.route !== undefined) {
      if (!templates.has(layer.route)) templates.set(layer.route, joinPath(prefix, layer.route.path));
    } else if (Array.isArray(layer.handle?.stack)) {
      index(layer.handle.stack, joinPath(prefix, layer.rawPath ?? ''), depth + 1);
    }
  }
}

// Requests answered by a handler mounted with use() (the exposition handler): no Route object, so the
// handler records the template itself, its mount path (#20).
const mounted = new WeakMap<object, string>();

/** Labels a request answered by a `use()`-mounted handler with `template` instead of "unmatched". */
export function markRoute(req: Request, template: string): void {
  mounted.set(req, template);
}

/** The route template of a handled request (`/users/:id/movies`), or undefined when no route matched. */
export function routeTemplate(req: Request): string | undefined {
  const route = req.route as object | undefined;
  if (route === undefined) return mounted.get(req);
  let template = templates.get(route);
  if (template === undefined) {
    const app = req.app as unknown as AppLike;
    index(app.router?.stack, mountPrefix(app), 0);
    template = templates.get(route) ?? joinPath(req.baseUrl, (route as { path: unknown }).path);
    templates.set(route, template);
  }
  return template;
}

/** Creates the HTTP server families in `set` and returns the middleware that feeds them. */
/** @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` for bad native histogram options. */
export function createHttpMiddleware(
  set: MetricSet,
  limit: number,
  defaultNative: NativeConfig | undefined,
  options: HttpMetricsOptions = {},
): RequestHandler {
  const issues: ConfigIssue[] = [];
  const native =
    options.nativeHistograms === undefined
      ? defaultNative
      : resolveNative(options.nativeHistograms, 'nativeHistograms', issues);
  if (issues.length > 0) throw new ObsConfigError('@obs/metrics', issues);
  const byClass = options.status === 'class';
  const unmatched = options.unmatchedRoute ?? 'unmatched';
  const ignore = options.ignore;
  const labelNames = ['method', 'route', 'status'];
  const limited = { maxSeries: limit, onOverflow: set.overflowCounter };
  const count = set.register(
    new CounterFamily({ name: 'http_server_requests_total', help: 'HTTP requests served', labelNames, ...limited }),
  );
  const duration = set.register(
    new HistogramFamily({
      name: 'http_server_request_duration_seconds',
      help: 'HTTP request duration, from the first middleware to the end of the response',
      labelNames,
      buckets: native?.classicBuckets === false ? [] : (options.buckets ?? DURATION_BUCKETS),
      native,
      unit: 'seconds',
      ...limited,
    }),
  );
  const sizes = {
    labelNames,
    buckets: native?.classicBuckets === false ? [] : (options.sizeBuckets ?? SIZE_BUCKETS),
    native,
    unit: 'bytes',
    ...limited,
  };
  const requestSize = set.register(
    new HistogramFamily({
      name: 'http_server_request_size_bytes',
      help: 'HTTP request body size (Content-Length)',
      ...sizes,
    }),
  );
  const responseSize = set.register(
    new HistogramFamily({
      name: 'http_server_response_size_bytes',
      help: 'HTTP response body size (Content-Length)',
      ...sizes,
    }),
  );
  // route -> method -> status code -> handles: lookups with the strings and the number the request already
  // has, so that a request allocates no key (#22).
  const cache = new Map<string, Map<string, Map<number, Handles>>>();
  let cached = 0;

  function handles(method: string, route: string, code: number): Handles {
    let byMethod = cache.get(route);
    if (byMethod === undefined) {
      byMethod = new Map();
      if (cached < limit) cache.set(route, byMethod);
    }
    let byCode = byMethod.get(method);
    if (byCode === undefined) {
      byCode = new Map();
      byMethod.set(method, byCode);
    }
    let found = byCode.get(code);
    if (found === undefined) {
      const values = [method, route, byClass ? `${Math.floor(code / 100)}xx` : `${code}`];
      found = {
        count: count.child(values),
        duration: duration.child(values),
        requestSize: requestSize.child(values),
        responseSize: responseSize.child(values),
      };
      if (cached < limit) {
        byCode.set(code, found);
        cached++;
      }
    }
    return found;
  }

  function record(req: Request, res: Response, started: number): void {
    const method = METHODS.has(req.method) ? req.method : 'OTHER';
    const route = routeTemplate(req) ?? unmatched;
    const h = handles(method, route, res.statusCode);
    h.count.value++;
    duration.observe(h.duration, (performance.now() - started) / 1000);
    const inBytes = Number(req.headers['content-length']);
    if (inBytes >= 0) requestSize.observe(h.requestSize, inBytes);
    const outBytes = Number(res.getHeader('content-length'));
    if (outBytes >= 0) responseSize.observe(h.responseSize, outBytes);
  }

  return (req, res, next) => {
    if (ignore?.(req)) {
      next();
      return;
    }
    const started = performance.now();
    // A response emits 'close' once, whether it completed or the client went away first.
    res.on('close', () => record(req, res, started));
    next();
  };
}
