import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { EndpointAuth, ObsConfig } from './config/sections.ts';
import { ObsError, toError } from './errors.ts';
import type { ObsLogger } from './logger.ts';

/** The named listeners: `metrics` on `metrics_port`, `health` on `health_port`. */
export type ListenerName = 'metrics' | 'health';

/** An express request handler (or router), as plugins mount them. */
export type RouteHandler = RequestHandler;

/** How a mounted route uses its listener's auth (`[monitoring.auth.<listener>]`). */
export interface MountOptions {
  /**
   * `required`: requests without valid credentials get 401. `optional`: every request passes, and
   * `res.locals.obsAuthorized` says whether it carried valid credentials (false when no auth is set).
   * @default "required"
   */
  readonly auth?: 'required' | 'optional';
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
    if (sealed)
      throw new ObsError('OBS_ERR_MONITOR_STATE', `[@obs/core] cannot mount ${path} after the monitor started`);
    if (!LISTENERS.includes(listener)) {
      throw new ObsError(
        'OBS_ERR_PLUGIN_INVALID',
        `[@obs/core] unknown listener "${listener}" (use metrics or health)`,
      );
    }
    if (!path.startsWith('/'))
      throw new ObsError('OBS_ERR_PLUGIN_INVALID', `[@obs/core] mount path must start with "/": ${path}`);
    const key = serverKey(config, listener);
    const clash = mounts.find((m) => m.path === path && serverKey(config, m.listener) === key);
    if (clash !== undefined) {
      throw new ObsError(
        'OBS_ERR_ENDPOINT_CONFLICT',
        `[@obs/core] ${path} is already mounted on port ${portOf(config, listener)} (by the ${clash.listener} listener)`,
      );
    }
    mounts.push({ listener, path, handlers, auth: options.auth ?? 'required' });
  }

  function buildApp(group: readonly Mount[]): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.set('query parser', 'simple');
    for (const m of group) {
      const auth = authMiddleware(config.auth[m.listener], m.listener, m.auth);
      app.use(m.path, ...(auth === undefined ? [] : [auth]), ...m.handlers);
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
      onError(toError(err));
      if (!res.headersSent) res.status(500).json({ error: 'internal error' });
      else res.end();
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
          new ObsError(
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
    const groups = new Map<string, Mount[]>();
    for (const m of mounts) {
      const key = serverKey(config, m.listener);
      groups.set(key, [...(groups.get(key) ?? []), m]);
    }
    for (const [key, group] of groups) {
      const names = [...new Set(group.map((m) => m.listener))];
      const server = createServer(buildApp(group));
      server.requestTimeout = config.request_timeout;
      server.headersTimeout = Math.min(config.headers_timeout, config.request_timeout);
      server.on('clientError', (_err, socket) => {
        if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
        else socket.destroy();
      });
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
      logger.info(`@obs: ${names.join(' and ')} listening on ${url.href}`, {
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
      throw new ObsError(
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
