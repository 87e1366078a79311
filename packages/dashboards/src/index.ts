export type { DashboardIssue, DashboardsErrorCode } from './errors.ts';
export { DashboardValidationError, dashboardsErrorCodes } from './errors.ts';
export type { DefaultDashboardOptions, SeedDashboardOptions } from './generate.ts';
export { defaultDashboard, metricPrefix, seedDashboard } from './generate.ts';
export type {
  Dashboard,
  DashboardBuilder,
  DashboardBuilderOptions,
  DashboardLink,
  DataSourceRef,
  FieldConfigSource,
  GridPos,
  Panel,
  PanelLink,
  PanelOptions,
  PanelSpec,
  PanelType,
  PrometheusTarget,
  Threshold,
  ThresholdsConfig,
  ValueMapping,
  VariableModel,
} from './model.ts';
export {
  alertListPanel,
  createDashboardBuilder,
  DATASOURCE_VARIABLE_REF,
  datasourceVariable,
  GRID_COLUMNS,
  gaugePanel,
  heatmapPanel,
  labelValuesVariable,
  SCHEMA_VERSION,
  statPanel,
  tablePanel,
  timeseriesPanel,
  urlLink,
} from './model.ts';
export type { DashboardsConfig, DashboardsPlugin, DashboardsPluginOptions } from './plugin.ts';
export { dashboardsPlugin, dashboardsSection } from './plugin.ts';
export type { PromqlAnalysis } from './query-analysis.ts';
export { analyzePromql } from './query-analysis.ts';
export type { GeneratedFiles, ProvisioningOptions, Stack, StackImages, StackOptions } from './stack.ts';
export { composeStack, grafanaProvisioning, prometheusConfig } from './stack.ts';
export type { ValidateOptions } from './validate.ts';
export {
  assertValidDashboards,
  DEPRECATED_PANEL_TYPES,
  PROMETHEUS_SERIES,
  seriesNames,
  validateDashboard,
} from './validate.ts';
