// Read-only pass-through from the page's origin to the metrics listener's query and trace APIs.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The metrics listener's GET APIs the page reads (Prometheus's HTTP API v1 and @obs/tracing's /traces). */
export const PROXIED_PATHS: RegExp =
  /^\/(?:api\/v1\/(?:query|query_range|series|labels|label\/[^/]+\/values|format_query|status\/buildinfo|rules|alerts)|traces)$/;

/**
 * Forwards one GET to `target` (the metrics listener): the caller's own credentials go along, so the metrics
 * listener's auth decides, and the page needs no connect-src beyond its own origin nor CORS on the other port.
 */
export async function forward(
  req: IncomingMessage,
  res: ServerResponse,
  target: URL,
  signal: AbortSignal,
): Promise<void> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (req.headers.authorization !== undefined) headers['authorization'] = req.headers.authorization;
  let upstream: Response;
  try {
    upstream = await fetch(target, { headers, signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)]) });
  } catch {
    if (!res.headersSent)
      res
        .writeHead(502, { 'content-type': 'application/json; charset=utf-8' })
        .end(
          JSON.stringify({ status: 'error', errorType: 'unavailable', error: 'the metrics listener did not answer' }),
        );
    return;
  }
  const body = Buffer.from(await upstream.arrayBuffer());
  const out: Record<string, string> = {
    'content-type': upstream.headers.get('content-type') ?? 'application/json',
    'cache-control': 'no-store',
  };
  // The browser prompts for the metrics listener's basic auth only if it sees its challenge.
  const challenge = upstream.headers.get('www-authenticate');
  if (challenge !== null) out['www-authenticate'] = challenge;
  res.writeHead(upstream.status, out).end(req.method === 'HEAD' ? undefined : body);
}
