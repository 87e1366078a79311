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
