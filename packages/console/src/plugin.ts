// consolePlugin(): the page, its runtime settings and the read-only path to the metrics listener.
import { readFile } from 'node:fs/promises';
import type { ObsConfig, ObsPlugin, PluginContext, RouteHandler } from '@obs/core';
import { type Asset, loadAssets } from './assets.ts';
import { type ConsolePluginOptions, resolveConsoleOptions } from './options.ts';
import { forward, PROXIED_PATHS } from './proxy.ts';

/** The console plugin, with the page's URL once started. */
export interface ConsolePlugin extends ObsPlugin {
  /** The page's URL (on the health listener), or undefined before start. */
  readonly url: URL | undefined;
}

/** What the page reads from `console.json` (its only settings: no inline script under the CSP). */
export interface ConsoleSettings {
  readonly service: string;
  /** The health JSON path on the page's origin (`[monitoring.health] endpoint`). */
  readonly health: string;
  /** Where the query and trace APIs are, relative to the page's origin. */
  readonly metricsBase: string;
  /** The prefix of the metric names (`<namespace>_<subsystem>_`). */
  readonly metricPrefix: string;
  /** How the health listener authenticates: the page asks for a bearer token only when it needs one. */
  readonly auth: 'none' | 'basic' | 'bearer';
  readonly refreshMs: number;
  readonly versions: Readonly<Record<string, string>>;
}

// The page loads only its own files and talks only to its own origin (the metrics APIs come through forward()).
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
});

function sharesPort(config: ObsConfig): boolean {
  return config.metrics_port !== 0 && config.metrics_port === config.health_port;
}

function metricPrefix(config: ObsConfig): string {
  const { namespace, subsystem } = config.prometheus;
  return [namespace, subsystem, ''].filter((p, i) => p !== '' || i === 2).join('_');
}

/**
 * The console page on the health listener: overall health and each check with its history, alerts and silences,
 * traces as waterfalls, the seed's graphs and a PromQL expression box, over the stack's own HTTP APIs.
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` for bad options.
 */
export function consolePlugin(options: ConsolePluginOptions = {}): ConsolePlugin {
  const opts = resolveConsoleOptions(options);
  let ctx: PluginContext | undefined;
  let base = '/';
  let assets: ReadonlyMap<string, Asset> | undefined;
  let settings: Buffer | undefined;
  let url: URL | undefined;

  function send(req: Parameters<RouteHandler>[0], res: Parameters<RouteHandler>[1], asset: Asset): void {
    res.set(SECURITY_HEADERS).set({ 'content-type': asset.type, 'cache-control': 'no-cache', etag: asset.etag });
    res.vary('accept-encoding');
    if (req.headers['if-none-match'] === asset.etag) return void res.status(304).end();
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    if (gzip) res.set('content-encoding', 'gzip');
    res.status(200).end(req.method === 'HEAD' ? undefined : gzip ? asset.gzip : asset.body);
  }

  const handler: RouteHandler = (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return void next();
    // Relative asset URLs need the trailing slash: /console -> /console/.
    if (req.path === '/' && base !== '/' && !req.originalUrl.split('?')[0]!.endsWith('/'))
      return void res.redirect(308, base);
    const name = req.path === '/' ? 'index.html' : req.path.slice(1);
    const asset = assets?.get(name);
    if (asset !== undefined) return void send(req, res, asset);
    if (req.path === '/console.json' && settings !== undefined) {
      res.set(SECURITY_HEADERS).set({ 'cache-control': 'no-store' }).type('json');
      return void res.end(settings);
    }
    if (req.path.startsWith('/api/metrics/') && ctx !== undefined) {
      const rest = req.path.slice('/api/metrics'.length);
      if (!PROXIED_PATHS.test(rest)) return void res.status(404).json({ error: 'not found' });
      let target: URL;
      try {
        target = new URL(
          rest + (req.originalUrl.split('?')[1] === undefined ? '' : `?${req.originalUrl.split('?')[1]}`),
          ctx.endpoints.url('metrics'),
        );
      } catch {
        return void res.status(503).json({ status: 'error', errorType: 'unavailable', error: 'no metrics listener' });
      }
      forward(req, res, target, ctx.signal).catch((error: unknown) => {
        ctx?.reportError(error);
        if (!res.headersSent)
          res.status(502).json({ status: 'error', errorType: 'unavailable', error: 'proxy failed' });
      });
      return;
    }
    next();
  };

  return {
    name: '@obs/console',
    get url() {
      return url;
    },
    setup(context) {
      ctx = context;
      const shared = sharesPort(context.config);
      base = opts.path ?? (shared ? '/console/' : '/');
      const auth = context.config.auth.health;
      // Basic auth: the page itself asks, so the browser prompts once and sends the credentials on every fetch.
      // A bearer token cannot be typed into a prompt: the page opens without it and asks for the token.
      const mode = auth === undefined || auth.bearer_token !== undefined ? 'optional' : 'required';
      context.endpoints.mount('health', base === '/' ? '/' : base.slice(0, -1), { auth: mode }, handler);
    },
    async start() {
      const c = ctx!;
      const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
        version: string;
      };
      assets = await loadAssets();
      const auth = c.config.auth.health;
      const page: ConsoleSettings = {
        service: c.config.tracing.service_name,
        health: c.config.health.endpoint,
        metricsBase: sharesPort(c.config) ? '/' : `${base}api/metrics/`,
        metricPrefix: metricPrefix(c.config),
        auth: auth === undefined ? 'none' : auth.bearer_token !== undefined ? 'bearer' : 'basic',
        refreshMs: opts.refreshIntervalMs,
        versions: { '@obs/console': pkg.version, node: process.version },
      };
      settings = Buffer.from(JSON.stringify(page));
      url = new URL(base, c.endpoints.url('health'));
    },
    async stop() {
      url = undefined;
    },
  };
}
