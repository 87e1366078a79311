export type { AlertmanagerConfig, AlertmanagerConfigOptions } from './alertmanager.ts';
export { alertmanagerConfig } from './alertmanager.ts';
export type { AlertmanagerClient, AlertmanagerClientOptions } from './alertmanager-api.ts';
export { createAlertmanagerClient } from './alertmanager-api.ts';
export type { Alert, AlertEngine, AlertEngineOptions } from './alerts.ts';
export { createAlertEngine } from './alerts.ts';
export type { LogChannelOptions, WebhookChannelOptions } from './channels.ts';
export { createLogChannel, createWebhookChannel } from './channels.ts';
export type { AlertsQuietHoursConfig, AlertsRouteConfig } from './config.ts';
export type {
  ChannelStats,
  CloseOptions,
  DeliveryEvent,
  Notifier,
  NotifierOptions,
  RetryOptions,
  UnsentNotification,
} from './delivery.ts';
export { backoffDelay, createNotifier } from './delivery.ts';
export type {
  DispatchedAlert,
  Dispatcher,
  DispatcherOptions,
  DispatcherState,
  InhibitRule,
  LabelMatcher,
  QuietHours,
  Route,
  RouteDefaults,
  Silence,
} from './dispatcher.ts';
export { createDispatcher, ROUTE_DEFAULTS } from './dispatcher.ts';
export type { EmailChannelOptions } from './email.ts';
export { createEmailChannel, emailBodies } from './email.ts';
export { alertsErrorCodes } from './errors.ts';
export { exportPrometheusRules } from './export.ts';
export type { SeriesPoint } from './internal/series-notation.ts';
export { parseSeriesDesc } from './internal/series-notation.ts';
export type { Notification, NotificationAlert, NotificationChannel, WebhookPayload } from './notification.ts';
export {
  describeAlert,
  fingerprint,
  formatDuration,
  NotificationError,
  notificationTitle,
  parseRetryAfter,
  webhookPayload,
  ZERO_TIME,
} from './notification.ts';
export type { NotificationPipeline, NotificationsOptions } from './notifications.ts';
export { channelsFromConfig } from './notifications.ts';
export type { AlertsPlugin, AlertsPluginOptions } from './plugin.ts';
export { alertsPlugin } from './plugin.ts';
export type { Matcher } from './promql/ast.ts';
export type { EvaluateOptions, PromValue, SampleSource, SelectedSeries, VectorSample } from './promql/engine.ts';
export { evaluate } from './promql/engine.ts';
export type { Labels } from './promql/labels.ts';
export type { ParsedExpr } from './promql/parse.ts';
export { parsePromQL } from './promql/parse.ts';
export type { PrometheusQueryOptions } from './remote.ts';
export { createPrometheusQuery } from './remote.ts';
export type { RuleTestResult } from './rule-tests.ts';
export { runRuleTests } from './rule-tests.ts';
export type { AlertRule, AlertRuleInput, AlertSeverity } from './rules.ts';
export { compileRule, loadRulesFile, parseRules, seedRules } from './rules.ts';
export type { SlackChannelOptions } from './slack.ts';
export { createSlackChannel, SLACK_COLORS, slackMessage } from './slack.ts';
export type { SampleStore, SampleStoreOptions, SampleStoreStats } from './store.ts';
export { createSampleStore } from './store.ts';
export { expandTemplate, humanize } from './template.ts';
