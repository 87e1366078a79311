export type { HealthChecker, HealthCheckerOptions } from './checker.ts';
export { createHealthChecker } from './checker.ts';
export type { ApiConnectivityOptions } from './checks/api.ts';
export { apiConnectivityCheck } from './checks/api.ts';
export type { AuthStatusOptions, TokenStatus } from './checks/auth.ts';
export { authStatusCheck } from './checks/auth.ts';
export type { CacheCheckOptions } from './checks/cache.ts';
export { cacheCheck } from './checks/cache.ts';
export type { DatabaseCheckOptions, DatabaseConnection } from './checks/database.ts';
export { databaseCheck, pingConnection } from './checks/database.ts';
export type { DiskSpaceOptions } from './checks/disk.ts';
export { diskSpaceCheck } from './checks/disk.ts';
export type { MemoryCheckOptions } from './checks/memory.ts';
export { memoryCheck } from './checks/memory.ts';
export type { HealthErrorCode } from './errors.ts';
export { healthErrorCodes } from './errors.ts';
export type { HealthPluginOptions, ResolvedHealthOptions } from './options.ts';
export { healthConfigSection, resolveHealthOptions } from './options.ts';
export type { HealthPlugin } from './plugin.ts';
export { healthPlugin } from './plugin.ts';
export type {
  IetfCheckJson,
  IetfHealthJson,
  IetfRenderOptions,
  IetfStatus,
  RenderOptions,
  SeedCheckJson,
  SeedHealthJson,
} from './render.ts';
export { toIetfJson, toIetfStatus, toSeedJson } from './render.ts';
export { defaultStatusRule, overallStatus } from './rule.ts';
export type {
  CheckReport,
  DurationInput,
  HealthCheck,
  HealthCheckAttachContext,
  HealthCheckContext,
  HealthCheckOutcome,
  HealthReport,
  RuleInput,
  StatusRule,
  StatusRuleFunction,
} from './types.ts';
