import type { IncomingMessage, ServerResponse } from 'node:http';
import { redact, redactUrl } from '@obs/core';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import { scopeTracer, serverRootBound } from './internal/active.ts';
import { startRootByRatio } from './internal/ids.ts';
import { otelApi } from './internal/otel.ts';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from './internal/semconv.ts';

const { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } = otelApi;

/** Options of {@link tracingMiddleware}. */
export interface TracingMiddlewareOptions {
  /** @default the tracer of the running tracing plugin, else the global one */
  readonly tracer?: Tracer | undefined;
}

/** The request as the middleware reads it: node's, plus what express adds. */
export type TracedRequest = IncomingMessage & {
  readonly baseUrl?: string;
  readonly route?: { readonly path?: unknown } | undefined;
};

/** An express-compatible middleware: `(req, res, next)`. */
export type TracingMiddleware = (req: TracedRequest, res: ServerResponse, next: (error?: unknown) => void) => void;

const SERVER = { kind: SpanKind.SERVER };
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY']);
const methodOf = (method: string | undefined): string =>
  method !== undefined && METHODS.has(method) ? method : '_OTHER';

function routeOf(req: TracedRequest): string | undefined {
  const path = req.route?.path;
  if (typeof path !== 'string') return undefined;
  const full = `${req.baseUrl ?? ''}${path}`;
  return full === '' ? '/' : full;
}

// `host[:port]`, `[v6]:port`; parsed by hand: it runs for every sampled request.
function hostParts(host: string | undefined): { address?: string; port?: number } {
  if (host === undefined || host === '') return {};
  const close = host.startsWith('[') ? host.indexOf(']') : -1;
  const colon = host.indexOf(':', close === -1 ? 0 : close);
  // An IPv6 address is reported without its brackets.
  const address = close === -1 ? (colon === -1 ? host : host.slice(0, colon)) : host.slice(1, close);
  if (colon === -1) return { address };
  const port = Number(host.slice(colon + 1));
  return Number.isInteger(port) && port > 0 && port < 65_536 ? { address, port } : { address };
}

function endServerSpan(span: Span, req: TracedRequest, res: ServerResponse, method: string): void {
  const status = res.statusCode;
  span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  const route = routeOf(req);
  if (route !== undefined) {
    span.setAttribute(ATTR_HTTP_ROUTE, route);
    span.updateName(`${method} ${route}`);
  }
  if (status >= 500) {
    span.setStatus({ code: SpanStatusCode.ERROR });
    span.setAttribute(ATTR_ERROR_TYPE, String(status));
  } else if (!res.writableFinished) {
    // The client went away before the answer was complete.
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'response not completed' });
    span.setAttribute(ATTR_ERROR_TYPE, 'aborted');
  }
  span.end();
}

/**
 * Express middleware (any `(req, res, next)` framework) that creates a SERVER span per request with
 * the HTTP semantic conventions and the route template (`GET /users/:id`), continuing an incoming
 * `traceparent`; downstream handlers run in its context. Mount it first.
 */
export function tracingMiddleware(options: TracingMiddlewareOptions = {}): TracingMiddleware {
  const fixed = options.tracer;
  return (req, res, next) => {
    const headers = req.headers;
    // Without trace headers there is nothing to extract: skip the propagator on the common path.
    const parent: Context =
      headers.traceparent === undefined && headers.baggage === undefined
        ? ROOT_CONTEXT
        : propagation.extract(ROOT_CONTEXT, headers);
    const method = methodOf(req.method);
    const tracer = fixed ?? scopeTracer();
    // A new trace on our own provider: its sampling decision is taken before any span is built (#22).
    const bound = parent === ROOT_CONTEXT ? serverRootBound(tracer) : undefined;
    const span =
      bound === undefined ? tracer.startSpan(method, SERVER, parent) : startRootByRatio(tracer, method, SERVER, bound);
    if (span.isRecording()) {
      const { address, port } = hostParts(headers.host);
      const url = req.url ?? '/';
      const query = url.indexOf('?');
      const attributes: Attributes = {
        [ATTR_HTTP_REQUEST_METHOD]: method,
        [ATTR_URL_PATH]: query === -1 ? url : url.slice(0, query),
        [ATTR_URL_SCHEME]: (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http',
        [ATTR_NETWORK_PROTOCOL_VERSION]: req.httpVersion,
      };
      if (address !== undefined) attributes[ATTR_SERVER_ADDRESS] = address;
      if (port !== undefined) attributes[ATTR_SERVER_PORT] = port;
      if (headers['user-agent'] !== undefined) attributes[ATTR_USER_AGENT_ORIGINAL] = headers['user-agent'];
      const client = req.socket.remoteAddress;
      if (client !== undefined) attributes[ATTR_CLIENT_ADDRESS] = client;
      // One call: the SDK checks limits and values per call.
      span.setAttributes(attributes);
      // A response closes once; a plain listener spares once()'s wrapper and its removal.
      res.on('close', () => endServerSpan(span, req, res, method));
    }
    context.with(trace.setSpan(parent, span), next);
  };
}

const setter = { set: (carrier: Headers, key: string, value: string) => carrier.set(key, value) };

/** The W3C `traceparent`, `tracestate` and `baggage` headers of a context, for an HTTP client of your own. */
export function traceHeaders(from: Context = context.active()): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(from, headers);
  return headers;
}

/**
 * `fetch` in a CLIENT span that carries the current trace to the server (`traceparent`, `baggage`).
 * Answers of 400 and above set status ERROR; a network error is recorded and rethrown.
 */
export async function tracedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const request = input instanceof Request ? input : undefined;
  const url = new URL(request?.url ?? String(input));
  const method = methodOf((init?.method ?? request?.method ?? 'GET').toUpperCase());
  const parent = context.active();
  const span = scopeTracer().startSpan(method, { kind: SpanKind.CLIENT }, parent);
  if (span.isRecording()) {
    span.setAttributes({
      [ATTR_HTTP_REQUEST_METHOD]: method,
      // Userinfo and secret query parameters (access_token, api_key, sig...) never reach a span.
      [ATTR_URL_FULL]: redactUrl(url.href),
      [ATTR_SERVER_ADDRESS]: url.hostname,
      [ATTR_SERVER_PORT]: url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port),
    });
  }
  const headers = new Headers(init?.headers ?? request?.headers);
  propagation.inject(trace.setSpan(parent, span), headers, setter);
  try {
    const response = await fetch(input, { ...init, headers });
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.status);
    if (response.status >= 400) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute(ATTR_ERROR_TYPE, String(response.status));
    }
    return response;
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    span.recordException({ name: err.name, message: redact(err.message) });
    span.setStatus({ code: SpanStatusCode.ERROR, message: redact(err.message) });
    span.setAttribute(ATTR_ERROR_TYPE, err.name);
    throw error;
  } finally {
    span.end();
  }
}
