import type { HealthConfig, RouteHandler } from '@obs/core';
import type { HealthChecker } from './checker.ts';
import { toIetfJson, toSeedJson } from './render.ts';
import type { HealthReport } from './types.ts';

/** @internal An express handler, typed through core so that this package needs no express types of its own. */
export type Handler = RouteHandler;
type Req = Parameters<Handler>[0];
type Res = Parameters<Handler>[1];

/** @internal What the three routes need. */
export interface RouteContext {
  readonly checker: HealthChecker;
  readonly config: HealthConfig;
  readonly signal: AbortSignal;
  readonly serviceId: string | undefined;
  readonly onError: (error: unknown) => void;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const IETF_TYPE = 'application/health+json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';

function send(res: Res, status: number, type: string, body: string): void {
  // An asynchronous answer may come after the client left or after another handler answered.
  if (res.headersSent || res.writableEnded) return;
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

// Only the route's own path (express strips the mount path) and only reads: a probe is never a write.
function accept(req: Req, res: Res, next: Parameters<Handler>[2]): boolean {
  if (req.path !== '/' && req.path !== '') {
    next();
    return false;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    send(res, 405, JSON_TYPE, '{"error":"method not allowed"}');
    return false;
  }
  return true;
}

function wantsIetf(req: Req): boolean {
  const accept = req.headers.accept;
  return accept?.includes('application/health+json') === true || req.query['format'] === 'ietf';
}

function hasFlag(req: Req, name: string): boolean {
  return req.query[name] !== undefined;
}

/** @internal Builds `/health`, `/livez` and `/readyz`. */
export function createRoutes(ctx: RouteContext): { health: Handler; livez: Handler; readyz: Handler } {
  // With when-authorized, /health is mounted with optional auth: core says whether the request carried
  // the health listener's credentials.
  const showDetails = (res: Res): boolean =>
    ctx.config.show_details === 'always' ||
    (ctx.config.show_details === 'when-authorized' && res.locals['obsAuthorized'] === true);

  // The seed JSON changes only when a result changes or the clock passes a second (timestamp and uptime),
  // so the body is built at most once per second per variant, whatever the request rate.
  const bodies = new Map<string, { report: HealthReport; second: number; body: string }>();
  function seedBody(report: HealthReport, details: boolean): string {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    const key = details ? 'details' : 'plain';
    const hit = bodies.get(key);
    if (hit !== undefined && hit.report === report && hit.second === second) return hit.body;
    const body = JSON.stringify(toSeedJson(report, { now, details }));
    bodies.set(key, { report, second, body });
    return body;
  }

  function respond(req: Req, res: Res, report: HealthReport): void {
    const details = showDetails(res);
    const code = report.status === 'unhealthy' ? 503 : 200;
    if (wantsIetf(req)) {
      send(res, code, IETF_TYPE, JSON.stringify(toIetfJson(report, { details, serviceId: ctx.serviceId })));
      return;
    }
    send(res, code, JSON_TYPE, seedBody(report, details));
  }

  function fail(res: Res, err: unknown): void {
    try {
      ctx.onError(err);
      send(res, 500, JSON_TYPE, '{"error":"internal error"}');
    } catch {
      // Nothing may escape into the host as an unhandled rejection.
    }
  }

  const health: Handler = (req, res, next) => {
    if (!accept(req, res, next)) return;
    const cached = hasFlag(req, 'refresh') ? undefined : ctx.checker.snapshot();
    if (cached !== undefined) {
      respond(req, res, cached);
      return;
    }
    const pending = hasFlag(req, 'refresh') ? ctx.checker.refresh() : ctx.checker.report();
    pending.then((report) => respond(req, res, report)).catch((err: unknown) => fail(res, err));
  };

  const livez: Handler = (req, res, next) => {
    if (!accept(req, res, next)) return;
    send(res, 200, TEXT_TYPE, hasFlag(req, 'verbose') ? '[+]ping ok\nlivez check passed\n' : 'ok\n');
  };

  function readiness(req: Req, res: Res, report: HealthReport | undefined): void {
    const details = showDetails(res);
    const lines: string[] = [];
    let ready = true;
    if (ctx.signal.aborted) {
      ready = false;
      lines.push('[-]shutdown failed: the service is shutting down');
    } else lines.push('[+]shutdown ok');
    for (const [name, r] of Object.entries(report?.checks ?? {})) {
      if (!r.critical) continue;
      if (r.status === 'unhealthy') {
        ready = false;
        lines.push(`[-]${name} failed: ${details ? (r.message ?? 'unhealthy') : 'reason withheld'}`);
      } else lines.push(`[+]${name} ok${r.status === 'degraded' ? ' (degraded)' : ''}`);
    }
    const verdict = ready ? 'readyz check passed' : 'readyz check failed';
    const verbose = hasFlag(req, 'verbose');
    // Like Kubernetes' own probes: the list on ?verbose or on failure, a bare "ok" otherwise.
    send(res, ready ? 200 : 503, TEXT_TYPE, verbose || !ready ? `${lines.join('\n')}\n${verdict}\n` : 'ok\n');
  }

  const readyz: Handler = (req, res, next) => {
    if (!accept(req, res, next)) return;
    // Fails at once when shutdown begins, without waiting on any check.
    if (ctx.signal.aborted) {
      readiness(req, res, ctx.checker.snapshot());
      return;
    }
    const cached = ctx.checker.snapshot();
    if (cached !== undefined) {
      readiness(req, res, cached);
      return;
    }
    ctx.checker
      .report()
      .then((report) => readiness(req, res, report))
      .catch((err: unknown) => fail(res, err));
  };

  return { health, livez, readyz };
}
