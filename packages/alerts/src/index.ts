export type { Alert, AlertEngine, AlertEngineOptions, ForState, RestoredAlert } from './alerts.ts';
export { createAlertEngine } from './alerts.ts';
export type { AlertsQuietHoursConfig, AlertsRouteConfig } from './config.ts';
export type { AlertsErrorCode } from './errors.ts';
export { alertsErrorCodes } from './errors.ts';
export { exportPrometheusRules } from './export.ts';
export type { AlertmanagerClientOptions } from './notify/alertmanager-client.ts';
export type { AlertmanagerConfig, AlertmanagerConfigOptions } from './notify/alertmanager-config.ts';
export { alertmanagerConfig } from './notify/alertmanager-config.ts';
export type { EmailChannelOptions } from './notify/channels/email.ts';
export { createEmailChannel } from './notify/channels/email.ts';
export type { LogChannelOptions } from './notify/channels/log.ts';
export { createLogChannel } from './notify/channels/log.ts';
export type { SlackChannelOptions } from './notify/channels/slack.ts';
export { createSlackChannel } from './notify/channels/slack.ts';
export type { WebhookChannelOptions, WebhookPayload } from './notify/channels/webhook.ts';
export { createWebhookChannel } from './notify/channels/webhook.ts';
export type {
  DispatchedAlert,
  Dispatcher,
  InhibitRule,
  LabelMatcher,
  QuietHours,
  Route,
  RouteDefaults,
  Silence,
} from './notify/dispatcher.ts';
export type { Notification, NotificationAlert, NotificationChannel } from './notify/notification.ts';
export { NotificationError } from './notify/notification.ts';
export type { RetryOptions } from './notify/notifier.ts';
export type { NotificationsOptions } from './notify/pipeline.ts';
export type { AlertsPlugin, AlertsPluginOptions } from './plugin.ts';
export { alertsPlugin } from './plugin.ts';
export type { PrometheusQueryOptions } from './remote.ts';
export { createPrometheusQuery } from './remote.ts';
export type { RuleTestResult } from './rule-tests.ts';
export { runRuleTests } from './rule-tests.ts';
export type { AlertRule, AlertRuleInput, AlertSeverity, RecordingRule, RuleGroup, SeedRulesOptions } from './rules.ts';
export { loadRuleGroups, loadRulesFile, parseRuleGroups, parseRules, seedRules } from './rules.ts';
