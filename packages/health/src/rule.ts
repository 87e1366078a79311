import type { HealthStatus } from '@obs/core';
import type { RuleInput, StatusRule } from './types.ts';

/** The documented default: critical unhealthy makes unhealthy; non-critical unhealthy or any degraded makes degraded. */
export const defaultStatusRule: StatusRule = Object.freeze({
  criticalUnhealthy: 'unhealthy',
  nonCriticalUnhealthy: 'degraded',
  degraded: 'degraded',
});

const RANK: Readonly<Record<HealthStatus, number>> = { healthy: 0, degraded: 1, unhealthy: 2 };

/** The worse of two statuses. */
export function worst(a: HealthStatus, b: HealthStatus): HealthStatus {
  return RANK[b] > RANK[a] ? b : a;
}

/** Applies a {@link StatusRule} to the checks' statuses; no checks at all is healthy. */
export function overallStatus(checks: readonly RuleInput[], rule: StatusRule = defaultStatusRule): HealthStatus {
  let status: HealthStatus = 'healthy';
  for (const check of checks) {
    if (check.status === 'unhealthy')
      status = worst(status, check.critical ? rule.criticalUnhealthy : rule.nonCriticalUnhealthy);
    else if (check.status === 'degraded') status = worst(status, rule.degraded);
  }
  return status;
}

/** Whether a value is one of the three statuses. */
export function isStatus(value: unknown): value is HealthStatus {
  return value === 'healthy' || value === 'degraded' || value === 'unhealthy';
}
