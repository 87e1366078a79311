// What a failed HTTP delivery becomes (webhook, Slack, Alertmanager): a NotificationError that keeps the
// status and Retry-After and never the URL, which can hold a secret.
import { isRetryableStatus, NotificationError, parseRetryAfter } from './notification.ts';

/** Reads a non-2xx answer into a NotificationError that keeps the status and Retry-After. */
export async function httpFailure(channel: string, response: Response): Promise<NotificationError> {
  // Drain the body so that the connection can be reused or closed.
  await response.arrayBuffer().catch(() => undefined);
  return new NotificationError(channel, `HTTP ${response.status}`, {
    status: response.status,
    retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
    retryable: isRetryableStatus(response.status),
  });
}

/** Wraps a fetch failure without its message, which can contain the URL. */
export function requestFailure(channel: string, error: unknown, signal: AbortSignal): NotificationError {
  if (signal.aborted) return new NotificationError(channel, 'request aborted (timeout or shutdown)');
  const e = error as { code?: unknown; cause?: { code?: unknown } } | undefined;
  // node:http puts the code on the error, fetch on its cause.
  const code = e?.code ?? e?.cause?.code;
  return new NotificationError(channel, `request failed${typeof code === 'string' ? ` (${code})` : ''}`);
}
