// POSTs of the HTTP channels (webhook, Slack, Alertmanager) through node:http, not fetch: fetch adds browser
// headers (`sec-fetch-mode`, `accept-language`) and says `User-Agent: node`; Alertmanager sends neither.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createRequire } from 'node:module';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** What our requests say they are, as Alertmanager says `Alertmanager/0.25.0`. */
export const USER_AGENT: string = `@obs/alerts/${version}`;

// Statuses whose Response may not have a body.
const NULL_BODY = new Set([101, 204, 205, 304]);

function toHeaders(raw: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [k, v] of Object.entries(raw))
    if (v !== undefined) for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
  return headers;
}

/**
 * POSTs `body` and resolves with the answer as a `Response` (redirects are not followed); rejects on network
 * errors and on abort. Userinfo in the URL becomes basic auth.
 */
export function post(
  url: string | URL,
  body: string,
  options: { readonly headers?: Readonly<Record<string, string>>; readonly signal?: AbortSignal } = {},
): Promise<Response> {
  const target = typeof url === 'string' ? new URL(url) : url;
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const payload = Buffer.from(body, 'utf8');
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'POST',
        headers: {
          'user-agent': USER_AGENT,
          'content-type': 'application/json',
          ...options.headers,
          'content-length': String(payload.length),
        },
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('error', reject);
        res.once('end', () => {
          const status = res.statusCode ?? 0;
          const init = { status, statusText: res.statusMessage ?? '', headers: toHeaders(res.headers) };
          resolve(new Response(NULL_BODY.has(status) ? null : Buffer.concat(chunks), init));
        });
      },
    );
    req.once('error', reject);
    req.end(payload);
  });
}
