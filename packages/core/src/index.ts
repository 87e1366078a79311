export type { EventBus, EventBusOptions, ObsEvents, ObsListener } from './bus.ts';
export { createEventBus } from './bus.ts';
export type { ConfigInput, LoadConfigOptions } from './config/load.ts';
export { configIssueAt, loadConfig, resolveConfigPath } from './config/load.ts';
export type {
  AlertsConfig,
  ConfigSection,
  EndpointAuth,
  HealthConfig,
  MonitoringConfig,
  ObsConfig,
  ObsConfigSections,
  PrometheusConfig,
  TracingConfig,
  TracingExporterName,
} from './config/sections.ts';
export { configDuration } from './config/sections.ts';
export { defaultServiceName } from './config/service-name.ts';
export type {
  ActiveAlertStatus,
  AlertRuleDescriptor,
  AlertState,
  HealthCheckResult,
  HealthStatus,
  MetricDescriptor,
  MetricSample,
  MetricStore,
  RuleGroupStatus,
  RuleStatus,
  SeriesMatcher,
  StoredSeries,
} from './contracts.ts';
export { formatDuration, parseDuration, tryParseDuration } from './duration.ts';
export type { EndpointHost, ListenerName, MountOptions, RouteHandler } from './endpoint-host.ts';
export type { ConfigIssue, CoreErrorCode, ObsErrorCode } from './errors.ts';
export { coreErrorCodes, formatConfigIssue, ObsConfigError, ObsError, toError } from './errors.ts';
export { lazyZ as z } from './internal/lazy-zod.ts';
export type { ConsoleLoggerOptions, LogLevel, ObsLogger } from './logger.ts';
export { createConsoleLogger, silentLogger } from './logger.ts';
export type { Monitor, MonitorOptions, MonitorState } from './monitor.ts';
export { createMonitor } from './monitor.ts';
export type { ObsPlugin, ObsServices, PluginContext } from './plugin.ts';
export { isSecretKey, REDACTED, redact, redactUrl } from './redact.ts';
