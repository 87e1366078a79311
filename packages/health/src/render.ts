import type { HealthStatus } from '@obs/core';
import { formatLatency, formatSeconds, isoSeconds } from './internal/format.ts';
import type { HealthReport } from './types.ts';

/** One check in the seed's `/health` JSON. */
export interface SeedCheckJson {
  readonly status: HealthStatus;
  readonly latency: string;
  readonly message?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** The seed's `/health` JSON: `status`, `timestamp`, `uptime`, `checks`. */
export interface SeedHealthJson {
  readonly status: HealthStatus;
  readonly timestamp: string;
  readonly uptime: string;
  readonly checks: Readonly<Record<string, SeedCheckJson>>;
}

/** How to render a report. */
export interface RenderOptions {
  /** The time the response is for, in ms since the epoch. @default Date.now() */
  readonly now?: number | undefined;
  /** The service's uptime in ms. @default process uptime */
  readonly uptimeMs?: number | undefined;
  /** Include each check's `message` and `details`. @default true */
  readonly details?: boolean | undefined;
}

/** Renders a report as the seed's `/health` JSON; without details, each check shows only status and latency. */
export function toSeedJson(report: HealthReport, options: RenderOptions = {}): SeedHealthJson {
  const details = options.details ?? true;
  const checks: Record<string, SeedCheckJson> = {};
  for (const [name, r] of Object.entries(report.checks)) {
    const check: { -readonly [K in keyof SeedCheckJson]: SeedCheckJson[K] } = {
      status: r.status,
      latency: formatLatency(r.latencyMs),
    };
    if (details && r.message !== undefined) check.message = r.message;
    if (details && r.details !== undefined) check.details = r.details;
    checks[name] = check;
  }
  return {
    status: report.status,
    timestamp: isoSeconds(options.now ?? Date.now()),
    uptime: formatSeconds(options.uptimeMs ?? process.uptime() * 1000),
    checks,
  };
}

/** The IETF draft's status words. */
export type IetfStatus = 'pass' | 'warn' | 'fail';

const IETF: Readonly<Record<HealthStatus, IetfStatus>> = { healthy: 'pass', degraded: 'warn', unhealthy: 'fail' };

/** Maps a status to the IETF health-check draft's `pass`, `warn` or `fail`. */
export function toIetfStatus(status: HealthStatus): IetfStatus {
  return IETF[status];
}

/** One entry of the IETF format's `checks`. */
export interface IetfCheckJson {
  readonly componentId: string;
  readonly status: IetfStatus;
  readonly time: string;
  readonly observedValue: number;
  readonly observedUnit: 'ms';
  readonly output?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** The `application/health+json` document (draft-inadarei-api-health-check). */
export interface IetfHealthJson {
  readonly status: IetfStatus;
  readonly serviceId?: string;
  readonly description?: string;
  readonly output?: string;
  readonly checks?: Readonly<Record<string, readonly IetfCheckJson[]>>;
}

/** Options of {@link toIetfJson}. */
export interface IetfRenderOptions {
  /** Include `checks` with outputs. @default true */
  readonly details?: boolean | undefined;
  /** The draft's `serviceId`. @default omitted */
  readonly serviceId?: string | undefined;
}

/**
 * Renders a report in the IETF health-check format: each check under `<name>:responseTime` with its latency as
 * `observedValue` in ms, `output` only for warn and fail (as the draft asks).
 */
export function toIetfJson(report: HealthReport, options: IetfRenderOptions = {}): IetfHealthJson {
  const details = options.details ?? true;
  const base = {
    status: toIetfStatus(report.status),
    ...(options.serviceId === undefined ? {} : { serviceId: options.serviceId }),
  };
  if (!details) return base;
  const checks: Record<string, IetfCheckJson[]> = {};
  for (const [name, r] of Object.entries(report.checks)) {
    const status = toIetfStatus(r.status);
    checks[`${name}:responseTime`] = [
      {
        componentId: name,
        status,
        time: isoSeconds(r.checkedAt),
        observedValue: Math.round(r.latencyMs),
        observedUnit: 'ms',
        ...(status !== 'pass' && r.message !== undefined ? { output: r.message } : {}),
        ...(r.details === undefined ? {} : { details: r.details }),
      },
    ];
  }
  return { ...base, checks };
}
