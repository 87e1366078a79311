import { splitCredentials } from '../internal/url.ts';
import type { DispatchedAlert } from './dispatcher.ts';
import { httpFailure, requestFailure } from './http-failure.ts';
import { post } from './http-post.ts';

/** Options of {@link createAlertmanagerClient}. */
export interface AlertmanagerClientOptions {
  /** Alertmanager's base URL, as `http://alertmanager:9093`. */
  readonly url: string;
  /** Each POST is aborted after this long. @default 10000 */
  readonly timeoutMs?: number;
  /** `generatorURL` of every alert. @default "" */
  readonly generatorURL?: string;
}

/** Hands alerts to a real Alertmanager through its API v2, as Prometheus does. */
export interface AlertmanagerClient {
  /**
   * POSTs to `/api/v2/alerts`. Firing alerts get `endsAt` = now + `validForMs`, so that Alertmanager resolves
   * them if they are not sent again (Prometheus re-sends every minute and uses four times that).
   * @throws NotificationError `OBS_ERR_ALERTS_NOTIFY` when Alertmanager refuses or cannot be reached
   */
  post(alerts: readonly DispatchedAlert[], options?: { validForMs?: number; signal?: AbortSignal }): Promise<void>;
}

/** A client of Alertmanager's API v2 for alerts. */
export function createAlertmanagerClient(options: AlertmanagerClientOptions): AlertmanagerClient {
  // Userinfo in the URL becomes basic auth: fetch refuses it in the URL.
  const { url: base, headers: auth } = splitCredentials(options.url.endsWith('/') ? options.url : `${options.url}/`);
  const endpoint = new URL('api/v2/alerts', base);
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    async post(alerts, { validForMs = 4 * 60_000, signal } = {}) {
      const now = Date.now();
      const body = alerts.map((a) => ({
        labels: a.labels,
        annotations: a.annotations ?? {},
        startsAt: new Date(a.startsAt).toISOString(),
        endsAt: new Date(a.status === 'firing' ? now + validForMs : (a.endsAt ?? now)).toISOString(),
        generatorURL: options.generatorURL ?? '',
      }));
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      const onAbort = (): void => controller.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        let response: Response;
        try {
          response = await post(endpoint, JSON.stringify(body), { headers: auth, signal: controller.signal });
        } catch (error) {
          throw requestFailure('alertmanager', error, controller.signal);
        }
        if (!response.ok) throw await httpFailure('alertmanager', response);
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
    },
  };
}
