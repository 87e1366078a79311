import { ObsConfigError } from '@obs/core';
import { collectIssues, type DurationInput, formatLatency } from '../internal/format.ts';
import type { HealthCheck, HealthCheckOutcome } from '../types.ts';

/** A connection or pool the database check can ping: anything with `ping()`, `query(sql)`, `prepare(sql)` or `exec(sql)`. */
export type DatabaseConnection =
  | { ping(): unknown }
  | { query(sql: string): unknown }
  | { prepare(sql: string): { get(): unknown } }
  | { exec(sql: string): unknown };

/** Options of {@link databaseCheck}: give `ping`, or a `connection` to adapt. */
export interface DatabaseCheckOptions {
  /** Pings the database; a rejection or throw is unhealthy. */
  readonly ping?: ((signal: AbortSignal) => unknown) | undefined;
  /**
   * A connection or pool: `ping()` (mysql2, ioredis), else `query(sql)` (pg, mysql2/promise), else
   * `prepare(sql).get()` (better-sqlite3, node:sqlite), else `exec(sql)` (sql.js). Callback-only clients need `ping`.
   */
  readonly connection?: DatabaseConnection | undefined;
  /** The statement the `query`, `prepare` and `exec` adapters run. @default "SELECT 1" */
  readonly query?: string | undefined;
  /** @default "database" */
  readonly name?: string | undefined;
  /** A ping slower than this is degraded, in ms or like `"500ms"`. @default 1s */
  readonly slowAfter?: DurationInput | undefined;
  /** @default true */
  readonly critical?: boolean | undefined;
  /** @default the checker's timeout */
  readonly timeout?: DurationInput | undefined;
}

const has = (value: unknown, key: string): boolean =>
  typeof (value as Record<string, unknown> | null)?.[key] === 'function';

const NO_PING = 'has none of ping(), query(), prepare() or exec()';

// The adapter for a connection, or undefined when it has none of the four methods.
function adapt(connection: DatabaseConnection, sql: string): (() => Promise<unknown>) | undefined {
  const c = connection as Record<string, (...args: unknown[]) => unknown>;
  if (has(c, 'ping')) return async () => c['ping']!.call(connection);
  if (has(c, 'query')) return async () => c['query']!.call(connection, sql);
  if (has(c, 'prepare')) return async () => (c['prepare']!.call(connection, sql) as { get(): unknown }).get();
  if (has(c, 'exec')) return async () => c['exec']!.call(connection, sql);
  return undefined;
}

/**
 * Adapts a connection object to a ping function (see {@link DatabaseCheckOptions.connection}).
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` when the object has none of `ping`, `query`, `prepare`, `exec`.
 */
export function pingConnection(connection: DatabaseConnection, sql = 'SELECT 1'): () => Promise<unknown> {
  const ping = adapt(connection, sql);
  if (ping === undefined)
    throw new ObsConfigError('@obs/health pingConnection', [{ path: 'connection', message: NO_PING }]);
  return ping;
}

/**
 * The seed's database check: times a ping. Healthy when it answers, degraded when slower than `slowAfter`,
 * unhealthy when it fails.
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` for bad options (neither `ping` nor a usable `connection`).
 */
export function databaseCheck(options: DatabaseCheckOptions): HealthCheck {
  const issues = collectIssues('@obs/health databaseCheck');
  const name = issues.name('name', options?.name, 'database');
  const slowMs = issues.duration('slowAfter', options?.slowAfter, 1_000);
  issues.optionalDuration('timeout', options?.timeout);
  let ping: ((signal: AbortSignal) => unknown) | undefined;
  if (typeof options?.ping === 'function') ping = options.ping;
  else if (options?.ping !== undefined) issues.issues.push({ path: 'ping', message: 'must be a function' });
  else if (options?.connection !== undefined) {
    ping = adapt(options.connection, options.query ?? 'SELECT 1');
    if (ping === undefined) issues.issues.push({ path: 'connection', message: NO_PING });
  } else issues.issues.push({ path: 'ping', message: 'give ping or connection' });
  issues.throwIfAny();
  const run = ping!;

  async function check({ signal }: { signal: AbortSignal }): Promise<HealthCheckOutcome> {
    const started = performance.now();
    await run(signal);
    const ms = performance.now() - started;
    const details = { ping: formatLatency(ms) };
    if (ms > slowMs) return { status: 'degraded', message: `database answers slowly (${formatLatency(ms)})`, details };
    return { status: 'healthy', message: 'database answering', details };
  }

  return {
    name,
    critical: options.critical ?? true,
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
    check,
  };
}
