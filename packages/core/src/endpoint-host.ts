import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ErrorRequestHandler, Express, RequestHandler } from 'express';
import type { EndpointAuth, ObsConfig } from './config/sections.ts';
import { coreError, toError } from './errors.ts';
import type { ObsLogger } from './logger.ts';

/** The named listeners: `metrics` on `metrics_port`, `health` on `health_port`. */
export type ListenerName = 'metrics' | 'health';

/** An express request handler (or router), as plugins mount them. */
export type RouteHandler = RequestHandler;

/**
 * How a mounted route uses its listener's auth (`[monitoring.auth.<listener>]`).
 *
 * Every route is write-protected, whatever these options: a request with a method other than GET, HEAD and
 * OPTIONS (a write: POST, PUT, PATCH, DELETE...) is refused with 403 when its `Origin` is not the request's own
 * (scheme and Host) or its `Sec-Fetch-Site` is not `same-origin` or `none`; with 401 when the listener has auth
 * and the request does not carry it (even on `auth: 'optional'` routes); with 403 when the listener has no auth
 * and the client is not on loopback (127.0.0.0/8, ::1); and with 415 when it is a POST, PUT or PATCH, or carries
 * a body, without `Content-Type: application/json`.
 */
export interface MountOptions {
  /**
   * `required`: requests without valid credentials get 401. `optional`: every read passes, and
   * `res.locals.obsAuthorized` says whether it carried valid credentials (false when no auth is set);
   * writes still need the credentials (see above).
   * @default "required"
   */
  readonly auth?: 'required' | 'optional';
  /**
   * POST on this route is a read, not a write (Prometheus's query API takes form-encoded `POST /api/v1/query`):
   * a POST is then let through like a GET, with any content type and under the route's `auth` mode, and only
   * the cross-origin check (`Origin`, `Sec-Fetch-Site`) still applies to it. Other writes stay protected.
   * @default false
   */
  readonly postIsRead?: boolean;
}

/** Where plugins mount their HTTP routes; the monitor binds the listeners on start and closes them on stop. */
export interface EndpointHost {
  /**
   * Serves `handlers` (express middleware or routers) under `path` on a listener, behind that listener's
   * auth (when one is configured, `res.locals.obsAuthorized` is true past it).
   * @throws ObsError `OBS_ERR_ENDPOINT_CONFLICT` when the path is taken on the same server;
   *   `OBS_ERR_MONITOR_STATE` after start.
   */
  mount(listener: ListenerName, path: string, ...handlers: RequestHandler[]): void;
  /** The same, with options: `mount('health', '/health', { auth: 'optional' }, handler)`. */
  mount(listener: ListenerName, path: string, options: MountOptions, ...handlers: RequestHandler[]): void;
  /**
   * The base URL a listener is reachable at (the bound port, with port 0 resolved).
   * @throws ObsError `OBS_ERR_ENDPOINT_NOT_BOUND` when nothing is mounted on it or the monitor is not started.
   */
  url(listener: ListenerName): URL;
}

interface Mount {
  readonly listener: ListenerName;
  readonly path: string;
  readonly handlers: readonly RequestHandler[];
  readonly auth: 'required' | 'optional';
  readonly postIsRead: boolean;
}

interface Bound {
  readonly server: Server;
  readonly url: URL;
  readonly listeners: readonly ListenerName[];
}

/** @internal The host with the lifecycle hooks the monitor drives. */
export interface EndpointHostInternals extends EndpointHost {
  bind(): Promise<void>;
  close(): Promise<void>;
  seal(): void;
}

const LISTENERS: readonly ListenerName[] = ['metrics', 'health'];

function portOf(config: ObsConfig, listener: ListenerName): number {
  return listener === 'metrics' ? config.metrics_port : config.health_port;
}

// Port 0 means "any free port" for each listener, so two zeros never share a server.
function serverKey(config: ObsConfig, listener: ListenerName): string {
  const port = portOf(config, listener);
  return port === 0 ? `ephemeral:${listener}` : `port:${port}`;
}

// Hashing both sides first keeps the comparison constant-time whatever the lengths.
function safeEqual(a: string, b: string): boolean {
  const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

function authMiddleware(
  auth: EndpointAuth | undefined,
  listener: ListenerName,
  mode: 'required' | 'optional',
): RequestHandler | undefined {
  if (auth === undefined) {
    return mode === 'optional'
      ? (_req, res, next) => {
          res.locals['obsAuthorized'] = false;
          next();
        }
      : undefined;
  }
  const bearer = auth.bearer_token;
  const basic = auth.username === undefined ? undefined : `${auth.username}:${auth.password ?? ''}`;
  const challenge = bearer === undefined ? `Basic realm="${listener}"` : `Bearer realm="${listener}"`;
  return (req, res, next) => {
    const header = req.headers.authorization ?? '';
    const space = header.indexOf(' ');
    const scheme = header.slice(0, space).toLowerCase();
    const value = header.slice(space + 1).trim();
    const ok =
      (bearer !== undefined && scheme === 'bearer' && safeEqual(value, bearer)) ||
      (basic !== undefined && scheme === 'basic' && safeEqual(Buffer.from(value, 'base64').toString('utf8'), basic));
    res.locals['obsAuthorized'] = ok;
    if (ok || mode === 'optional') {
      next();
      return;
    }
    res.status(401).set('WWW-Authenticate', challenge).json({ error: 'unauthorized' });
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** @internal Whether a socket's peer address is on loopback: 127.0.0.0/8, ::1, or 127.x mapped into IPv6. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

// The origin the request was addressed to: its scheme and Host header, normalized as browsers write Origin.
function ownOrigin(req: IncomingMessage): string | undefined {
  const host = req.headers.host;
  if (host === undefined || host === '') return undefined;
  const scheme = (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
  try {
    return new URL(`${scheme}://${host}`).origin;
  } catch {
    return undefined;
  }
}

function sameOrigin(origin: string, req: IncomingMessage): boolean {
  const own = ownOrigin(req);
  if (own === undefined) return false;
  try {
    return new URL(origin).origin === own;
  } catch {
    return false;
  }
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function isJson(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  return type !== undefined && type.split(';')[0]!.trim().toLowerCase() === 'application/json';
}

// Secure by default for every route: a browser page elsewhere cannot make a write (CSRF, DNS rebinding), and
// without auth only this host can. Runs after the auth middleware, which sets res.locals.obsAuthorized.
function writeGuard(auth: EndpointAuth | undefined, listener: ListenerName, postIsRead: boolean): RequestHandler {
  const challenge = auth?.bearer_token === undefined ? `Basic realm="${listener}"` : `Bearer realm="${listener}"`;
  return (req, res, next) => {
    const method = req.method.toUpperCase();
    if (SAFE_METHODS.has(method)) {
      next();
      return;
    }
    const origin = req.headers.origin;
    const site = req.headers['sec-fetch-site'];
    if (
      (origin !== undefined && !sameOrigin(origin, req)) ||
      (site !== undefined && site !== 'same-origin' && site !== 'none')
    ) {
      res
        .status(403)
        .json({ error: 'cross-origin request refused', message: 'writes are accepted only from the same origin' });
      return;
    }
    if (postIsRead && method === 'POST') {
      next();
      return;
    }
    if (auth !== undefined) {
      if (res.locals['obsAuthorized'] !== true) {
        res.status(401).set('WWW-Authenticate', challenge).json({ error: 'unauthorized' });
        return;
      }
    } else if (!isLoopbackAddress(req.socket.remoteAddress)) {
      res.status(403).json({
        error: 'forbidden',
        message: `writes need [monitoring.auth.${listener}] when they do not come from this host`,
      });
      return;
    }
    if ((BODY_METHODS.has(method) || hasBody(req)) && !isJson(req)) {
      res.status(415).json({ error: 'unsupported media type', message: 'the body must be application/json' });
      return;
    }
    next();
  };
}

// The status of a client error thrown by a handler (http-errors' `status`, `statusCode`), or undefined for a fault.
function clientStatus(err: unknown): number | undefined {
  if (err instanceof URIError) return 400;
  if (typeof err !== 'object' || err === null) return undefined;
  const { status, statusCode } = err as { status?: unknown; statusCode?: unknown };
  const found = typeof status === 'number' ? status : statusCode;
  return typeof found === 'number' && Number.isInteger(found) && found >= 400 && found < 500 ? found : undefined;
}

// What the HTTP parser rejected, as the status the client should see.
function parserStatus(err: NodeJS.ErrnoException): number {
  if (err.code === 'HPE_HEADER_OVERFLOW') return 431;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  if (err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return 413;
  return 400;
}

function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = parserStatus(err);
  const body = JSON.stringify({ error: (STATUS_CODES[status] ?? 'Bad Request').toLowerCase() });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** @internal Creates the endpoint host of a monitor. */
export function createEndpointHost(
  config: ObsConfig,
  logger: ObsLogger,
  onError: (error: Error) => void,
): EndpointHostInternals {
  const mounts: Mount[] = [];
  const bound = new Map<string, Bound>();
  let sealed = false;

  function mount(listener: ListenerName, path: string, ...rest: (RequestHandler | MountOptions)[]): void {
    const options = typeof rest[0] === 'object' ? (rest.shift() as MountOptions) : {};
    const handlers = rest as RequestHandler[];
    if (sealed) throw coreError('OBS_ERR_MONITOR_STATE', `[@obs/core] cannot mount ${path} after the monitor started`);
    if (!LISTENERS.includes(listener)) {
      throw coreError('OBS_ERR_PLUGIN_INVALID', `[@obs/core] unknown listener "${listener}" (use metrics or health)`);
    }
    if (!path.startsWith('/'))
      throw coreError('OBS_ERR_PLUGIN_INVALID', `[@obs/core] mount path must start with "/": ${path}`);
    const key = serverKey(config, listener);
    const clash = mounts.find((m) => m.path === path && serverKey(config, m.listener) === key);
    if (clash !== undefined) {
      throw coreError(
        'OBS_ERR_ENDPOINT_CONFLICT',
        `[@obs/core] ${path} is already mounted on port ${portOf(config, listener)} (by the ${clash.listener} listener)`,
      );
    }
    mounts.push({
      listener,
      path,
      handlers,
      auth: options.auth ?? 'required',
      postIsRead: options.postIsRead === true,
    });
  }

  function buildApp(express: () => Express, group: readonly Mount[]): Express {
    const app = express();
    app.disable('x-powered-by');
    app.set('query parser', 'simple');
    // A path whose percent-encoding is malformed names nothing: 400 before any route has to decode it.
    app.use((req, res, next) => {
      try {
        decodeURIComponent(req.path);
      } catch {
        res.status(400).json({ error: 'bad request', message: 'malformed percent-encoding in the path' });
        return;
      }
      next();
    });
    for (const m of group) {
      const listenerAuth = config.auth[m.listener];
      // Writes need to know who is asking even on a route whose reads are open to all.
      const auth =
        authMiddleware(listenerAuth, m.listener, m.auth) ?? authMiddleware(listenerAuth, m.listener, 'optional');
      app.use(
        m.path,
        ...(auth === undefined ? [] : [auth]),
        writeGuard(listenerAuth, m.listener, m.postIsRead),
        ...m.handlers,
      );
    }
    if (!group.some((m) => m.path === '/')) {
      app.get('/', (_req, res) => {
        res.json({ endpoints: group.map((m) => m.path) });
      });
    }
    app.use((_req, res) => {
      res.status(404).json({ error: 'not found' });
    });
    const onFailure: ErrorRequestHandler = (err, _req, res, _next) => {
      // A client's mistake (a malformed URI, a body too large) is answered as such, not reported as our fault.
      const status = clientStatus(err);
      if (status === undefined) onError(toError(err));
      if (res.headersSent) res.end();
      else if (status === undefined) res.status(500).json({ error: 'internal error' });
      else res.status(status).json({ error: (STATUS_CODES[status] ?? 'bad request').toLowerCase() });
    };
    app.use(onFailure);
    return app;
  }

  async function listen(server: Server, port: number, names: readonly ListenerName[]): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const fail = (err: NodeJS.ErrnoException): void => {
        const why =
          err.code === 'EADDRINUSE' ? 'the port is in use' : err.code === 'EACCES' ? 'permission denied' : err.message;
        reject(
          coreError(
            'OBS_ERR_ENDPOINT_BIND',
            `[@obs/core] cannot listen on ${config.host}:${port} for ${names.join(' and ')}: ${why} (${err.code ?? 'error'})`,
            { cause: err },
          ),
        );
      };
      server.once('error', fail);
      server.listen({ port, host: config.host }, () => {
        server.off('error', fail);
        resolve();
      });
    });
  }

  async function bind(): Promise<void> {
    if (config.headers_timeout > config.request_timeout) {
      logger.warn(
        `[@obs/core] headers_timeout (${config.headers_timeout}ms) is longer than request_timeout (${config.request_timeout}ms): using ${config.request_timeout}ms for both`,
      );
    }
    if (mounts.length === 0) return;
    // express is loaded when a listener binds, not when @obs/core is imported: a run that serves nothing
    // (a batch job pushing to a Pushgateway) never loads it, and the others load it at start (#22).
    const { default: express } = await import('express');
    const groups = new Map<string, Mount[]>();
    for (const m of mounts) {
      const key = serverKey(config, m.listener);
      groups.set(key, [...(groups.get(key) ?? []), m]);
    }
    for (const [key, group] of groups) {
      const names = [...new Set(group.map((m) => m.listener))];
      const headersTimeout = Math.min(config.headers_timeout, config.request_timeout);
      // Node checks the timeouts every 30s by default: a 1s timeout would take up to 31s to answer 408.
      const connectionsCheckingInterval = Math.min(30_000, Math.max(100, Math.floor(headersTimeout / 4)));
      const server = createServer({ connectionsCheckingInterval }, buildApp(express, group));
      server.requestTimeout = config.request_timeout;
      server.headersTimeout = headersTimeout;
      server.on('clientError', onClientError);
      const port = portOf(config, names[0]!);
      await listen(server, port, names);
      const address = server.address() as AddressInfo;
      const host =
        config.host === '0.0.0.0'
          ? '127.0.0.1'
          : config.host === '::'
            ? '[::1]'
            : address.family === 'IPv6'
              ? `[${address.address}]`
              : address.address;
      const url = new URL(`http://${host}:${address.port}/`);
      bound.set(key, { server, url, listeners: names });
      // The address really bound (0.0.0.0 reaches every interface), and a URL that works from this host.
      const at =
        address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
      const wildcard = address.address === '0.0.0.0' || address.address === '::';
      logger.info(`@obs: ${names.join(' and ')} listening on ${at} (${url.href}${wildcard ? ' from this host' : ''})`, {
        endpoints: group.map((m) => m.path),
      });
    }
  }

  async function close(): Promise<void> {
    const servers = [...bound.values()];
    bound.clear();
    await Promise.all(
      servers.map(
        ({ server }) =>
          new Promise<void>((resolve) => {
            // Give in-flight responses a moment, then cut what is left: a scrape must not hold up shutdown.
            const force = setTimeout(() => server.closeAllConnections(), 1_000);
            server.close(() => {
              clearTimeout(force);
              resolve();
            });
            server.closeIdleConnections();
          }),
      ),
    );
  }

  function url(listener: ListenerName): URL {
    const found = bound.get(serverKey(config, listener));
    if (found === undefined || !found.listeners.includes(listener)) {
      throw coreError(
        'OBS_ERR_ENDPOINT_NOT_BOUND',
        `[@obs/core] the ${listener} listener is not listening (no plugin mounted a route on it, or the monitor is not started)`,
      );
    }
    return new URL(found.url.href);
  }

  return {
    mount,
    url,
    bind,
    close,
    seal: () => {
      sealed = true;
    },
  };
}
