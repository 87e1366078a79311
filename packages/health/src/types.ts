import type { EventBus, HealthCheckResult, HealthStatus } from '@obs/core';
import type { DurationInput } from './internal/format.ts';

export type { DurationInput } from './internal/format.ts';

/** What a check gets when it runs. */
export interface HealthCheckContext {
  /** Aborted when the check times out or the checker stops: pass it to fetch, queries and timers. */
  readonly signal: AbortSignal;
}

/** What a check returns; the checker adds the latency it measured. */
export interface HealthCheckOutcome {
  readonly status: HealthStatus;
  /** One line for people: `Trakt API responding normally`. */
  readonly message?: string | undefined;
  /** JSON-serializable facts shown under `details` (`hit_ratio`, `expires_in`); never secrets. */
  readonly details?: Readonly<Record<string, unknown>> | undefined;
}

/** What a check may subscribe to while its checker runs (the cache check listens to `cache:updated`). */
export interface HealthCheckAttachContext {
  /** The bus of the monitor, or the one given to `createHealthChecker`; undefined without one. */
  readonly bus: EventBus | undefined;
  /** Runs this check again now (sharing a run in flight): for checks fed by events, so `/health` shows live values. */
  refresh(): void;
}

/** One health check. */
export interface HealthCheck {
  /** Unique within a checker; the key under `checks` in `/health`. Matches `[A-Za-z_][A-Za-z0-9_.:-]*`; not `overall`. */
  readonly name: string;
  /** Whether an unhealthy result makes the whole service unhealthy (and not ready). @default true */
  readonly critical?: boolean | undefined;
  /** Longest the check may take, in ms or like `"2s"`. @default the checker's timeout (config `timeout`, 5s) */
  readonly timeout?: DurationInput | undefined;
  /** Runs the check. A throw or rejection counts as unhealthy with the error's message. */
  check(context: HealthCheckContext): HealthCheckOutcome | Promise<HealthCheckOutcome>;
  /** Called when the checker starts (or on register once started); returns what undoes it on stop or unregister. */
  attach?(context: HealthCheckAttachContext): (() => void) | undefined;
}

/** The last result of one check, as the checker keeps it. */
export interface CheckReport extends HealthCheckResult {
  readonly critical: boolean;
  /** When the result was taken, in ms since the epoch. */
  readonly checkedAt: number;
}

/** A snapshot of every check and the overall status. */
export interface HealthReport {
  readonly status: HealthStatus;
  /** When the newest result was taken, in ms since the epoch. */
  readonly checkedAt: number;
  /** Every registered check, by name, in registration order. */
  readonly checks: Readonly<Record<string, CheckReport>>;
}

/**
 * The overall-status rule: which status the service takes when a critical check is unhealthy, when a
 * non-critical check is unhealthy, and when any check is degraded. The worst applicable status wins;
 * with nothing applicable the service is healthy.
 */
export interface StatusRule {
  /** @default "unhealthy" */
  readonly criticalUnhealthy: HealthStatus;
  /** @default "degraded" */
  readonly nonCriticalUnhealthy: HealthStatus;
  /** @default "degraded" */
  readonly degraded: HealthStatus;
}

/** One check as a custom rule sees it. */
export interface RuleInput {
  readonly name: string;
  readonly critical: boolean;
  readonly status: HealthStatus;
}

/** A custom overall-status rule; if it throws, the default rule applies and the error is reported. */
export type StatusRuleFunction = (checks: readonly RuleInput[]) => HealthStatus;
