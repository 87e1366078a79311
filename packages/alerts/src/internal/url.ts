// URL facts that the config, the plugin options, the dispatcher and the Alertmanager config all ask.

/** Whether `text` is an absolute http:// or https:// URL. */
export function isHttpUrl(text: string): boolean {
  return URL.canParse(text) && /^https?:$/.test(new URL(text).protocol);
}

/** Whether a webhook URL is Slack's (it gets Slack's message format). */
export function isSlackWebhook(text: string): boolean {
  return URL.canParse(text) && new URL(text).hostname === 'hooks.slack.com';
}

/** The page listing the alerts (`/alerts` on the health listener) under the app's external URL. */
export function alertsPageUrl(externalURL: string): string {
  return `${externalURL.replace(/\/+$/, '')}/alerts`;
}

/**
 * `text` without its userinfo, which fetch refuses (and would put in its error message), and the userinfo as a
 * basic `Authorization` header.
 */
export function splitCredentials(text: string): { url: URL; headers: Record<string, string> } {
  const url = new URL(text);
  if (url.username === '' && url.password === '') return { url, headers: {} };
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  return { url, headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } };
}
