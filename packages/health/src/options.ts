import { type ConfigSection, ObsConfigError, z } from '@obs/core';
import type { HealthCheck, StatusRule, StatusRuleFunction } from './types.ts';

declare module '@obs/core' {
  interface HealthConfig {
    /** Path of the liveness probe on the health listener. @default "/livez" */
    readonly livez_endpoint: string;
    /** Path of the readiness probe on the health listener. @default "/readyz" */
    readonly readyz_endpoint: string;
    /**
     * Whether `/livez` and `/readyz` need `[monitoring.auth.health]` like `/health` does. Off, they answer
     * without credentials (as Kubernetes and Docker probes send none); `/readyz?verbose` then gives the failing
     * checks' reasons only to authorized requests when `show_details = "when-authorized"`. @default false
     */
    readonly probes_auth: boolean;
    /** Service status when a critical check is unhealthy. @default "unhealthy" */
    readonly critical_unhealthy: 'healthy' | 'degraded' | 'unhealthy';
    /** Service status when a non-critical check is unhealthy. @default "degraded" */
    readonly non_critical_unhealthy: 'healthy' | 'degraded' | 'unhealthy';
    /** Service status when any check is degraded. @default "degraded" */
    readonly any_degraded: 'healthy' | 'degraded' | 'unhealthy';
    /**
     * The built-in checks that need no input, on unless listed out: `memory`, `disk_space` (on `disk_path`) and
     * `cache` (from the first `cache:updated` on). A check of the same name registered by the app replaces its
     * default. @default ["memory", "disk_space", "cache"]
     */
    readonly default_checks: readonly DefaultCheckName[];
    /** The folder the default `disk_space` check watches, relative to the TOML file. @default "" (the working directory) */
    readonly disk_path: string;
  }
}

/** The built-in checks that need no input, on by default. */
export type DefaultCheckName = 'memory' | 'disk_space' | 'cache';

/** Every default check, in the order they are registered. */
export const DEFAULT_CHECKS: readonly DefaultCheckName[] = Object.freeze(['memory', 'disk_space', 'cache']);

const status = (fallback: 'healthy' | 'degraded' | 'unhealthy') =>
  z.enum(['healthy', 'degraded', 'unhealthy']).default(fallback);
const path = (fallback: string) =>
  z
    .string()
    .regex(/^\/[^\s?#]*$/, { message: 'must be a path starting with "/"' })
    .default(fallback);

/** The keys `@obs/health` adds to `[monitoring.health]`: probe paths and the overall-status rule. */
export const healthConfigSection: ConfigSection = {
  name: 'health',
  schema: z.object({
    livez_endpoint: path('/livez'),
    readyz_endpoint: path('/readyz'),
    probes_auth: z.boolean().default(false),
    critical_unhealthy: status('unhealthy'),
    non_critical_unhealthy: status('degraded'),
    any_degraded: status('degraded'),
    default_checks: z.array(z.enum(['memory', 'disk_space', 'cache'])).default([...DEFAULT_CHECKS]),
    disk_path: z.string().default(''),
  }),
};

/** Options of {@link healthPlugin}; timing, paths and visibility come from `[monitoring.health]`. */
export interface HealthPluginOptions {
  /** Checks to register before start (more can be added through the `health.checker` service). @default [] */
  readonly checks?: readonly HealthCheck[] | undefined;
  /** Overrides the config's status rule: a partial {@link StatusRule}, or a function. @default from config */
  readonly rule?: Partial<StatusRule> | StatusRuleFunction | undefined;
  /** `serviceId` in the IETF format. @default config `[monitoring.tracing] service_name` */
  readonly serviceId?: string | undefined;
  /** The built-in checks that need no input to run; `false` or `[]`: none. @default config `default_checks` */
  readonly defaultChecks?: readonly DefaultCheckName[] | false | undefined;
}

/** The validated, frozen plugin options. */
export interface ResolvedHealthOptions {
  readonly checks: readonly HealthCheck[];
  readonly rule: Partial<StatusRule> | StatusRuleFunction | undefined;
  readonly serviceId: string | undefined;
  readonly defaultChecks: readonly DefaultCheckName[] | undefined;
}

/**
 * Validates the plugin options once, in the factory.
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` listing every problem.
 */
export function resolveHealthOptions(input: HealthPluginOptions = {}): ResolvedHealthOptions {
  const issues: { path: string; message: string }[] = [];
  if (typeof input !== 'object' || input === null)
    throw new ObsConfigError('@obs/health', [{ path: '', message: 'options must be an object' }]);
  if (input.checks !== undefined && !Array.isArray(input.checks))
    issues.push({ path: 'checks', message: 'must be an array of checks' });
  if (
    input.rule !== undefined &&
    typeof input.rule !== 'function' &&
    (typeof input.rule !== 'object' || input.rule === null)
  )
    issues.push({ path: 'rule', message: 'must be an object or a function' });
  if (input.serviceId !== undefined && (typeof input.serviceId !== 'string' || input.serviceId === ''))
    issues.push({ path: 'serviceId', message: 'must be a non-empty string' });
  const defaults = input.defaultChecks;
  if (
    defaults !== undefined &&
    defaults !== false &&
    !(Array.isArray(defaults) && defaults.every((d) => DEFAULT_CHECKS.includes(d)))
  )
    issues.push({ path: 'defaultChecks', message: `must be false or a list of ${DEFAULT_CHECKS.join(', ')}` });
  if (issues.length > 0) throw new ObsConfigError('@obs/health', issues);
  return Object.freeze({
    defaultChecks:
      defaults === false ? Object.freeze([]) : defaults === undefined ? undefined : Object.freeze([...defaults]),
    checks: Object.freeze([...(input.checks ?? [])]),
    rule: input.rule,
    serviceId: input.serviceId,
  });
}
