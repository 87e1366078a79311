import { type EventBus, formatDuration, type HealthStatus, toError } from '@obs/core';
import { healthError } from './errors.ts';
import { CHECK_NAME, collectIssues, type DurationInput } from './internal/format.ts';
import { defaultStatusRule, isStatus, overallStatus } from './rule.ts';
import type {
  CheckReport,
  HealthCheck,
  HealthCheckOutcome,
  HealthReport,
  RuleInput,
  StatusRule,
  StatusRuleFunction,
} from './types.ts';

/** Options of {@link createHealthChecker}. */
export interface HealthCheckerOptions {
  /** Checks to register at once. @default [] */
  readonly checks?: readonly HealthCheck[] | undefined;
  /** Default longest time a check may take, in ms or like `"5s"`. @default 5s */
  readonly timeout?: DurationInput | undefined;
  /** How often `start()` refreshes every check in the background. @default 30s */
  readonly interval?: DurationInput | undefined;
  /** The overall-status rule: a partial {@link StatusRule} over the default, or a function. @default defaultStatusRule */
  readonly rule?: Partial<StatusRule> | StatusRuleFunction | undefined;
  /** Where `health:changed` (and, without `onError`, `obs:error`) are emitted. @default none */
  readonly bus?: EventBus | undefined;
  /** Receives run-time failures (a check returning garbage, a throwing rule). @default `obs:error` on `bus`, else ignored */
  readonly onError?: ((error: Error) => void) | undefined;
}

/** Runs checks with timeouts, caches their results and derives the overall status. */
export interface HealthChecker {
  /**
   * Adds a check; returns the function that removes it. A started checker runs it at once.
   * @throws ObsError `OBS_ERR_HEALTH_CHECK_INVALID` for a malformed check; `OBS_ERR_HEALTH_CHECK_DUPLICATE` for a taken name.
   */
  register(check: HealthCheck): () => void;
  /** Removes a check and its result; returns whether it was registered. */
  unregister(name: string): boolean;
  /** The registered checks' names, in registration order. */
  names(): string[];
  /** The cached results; checks that have none yet run first (bounded by their timeouts). Never rejects. */
  report(): Promise<HealthReport>;
  /** Runs the named checks (default: all) now, sharing any run in flight, and returns the new report. Never rejects. */
  refresh(names?: readonly string[]): Promise<HealthReport>;
  /** The cached report without running anything, or undefined while a check has no result yet. */
  snapshot(): HealthReport | undefined;
  /** Starts the background refresh every `interval` and attaches the checks (subscriptions, observers). */
  start(): void;
  /** Stops the refresh, aborts running checks and detaches. Idempotent; the checker can start again. */
  stop(): Promise<void>;
  /** Whether `start()` was called and `stop()` not since. */
  readonly running: boolean;
}

/** @internal Settings a plugin fills in at setup, from the monitor's config and bus. */
export interface CheckerSettings {
  timeoutMs: number;
  intervalMs: number;
  rule: StatusRule | StatusRuleFunction;
  bus: EventBus | undefined;
  onError: (error: Error) => void;
}

interface Entry {
  readonly check: HealthCheck;
  readonly critical: boolean;
  readonly timeoutMs: number | undefined;
  result: CheckReport | undefined;
  inflight: Promise<CheckReport> | undefined;
  // Set when a run timed out but its promise has not settled: no new run starts until it does,
  // so a check that ignores its signal cannot pile up invocations.
  hung: boolean;
  cancel: ((reason: Error) => void) | undefined;
  detach: (() => void) | undefined;
}

const RESERVED = 'overall';

function validateCheck(check: HealthCheck): void {
  const fail = (why: string): never => {
    throw healthError('OBS_ERR_HEALTH_CHECK_INVALID', `[@obs/health] invalid health check: ${why}`);
  };
  if (typeof check !== 'object' || check === null) fail('a check must be an object');
  if (typeof check.name !== 'string' || !CHECK_NAME.test(check.name))
    fail(`name must match ${CHECK_NAME} (got ${JSON.stringify(check.name)})`);
  if (check.name === RESERVED) fail(`"${RESERVED}" is reserved for the service status`);
  if (typeof check.check !== 'function') fail(`"${check.name}" has no check() function`);
  if (check.critical !== undefined && typeof check.critical !== 'boolean')
    fail(`"${check.name}": critical must be a boolean`);
  if (check.attach !== undefined && typeof check.attach !== 'function')
    fail(`"${check.name}": attach must be a function`);
}

function timeoutOf(check: HealthCheck): number | undefined {
  if (check.timeout === undefined) return undefined;
  const issues = collectIssues('@obs/health');
  const ms = issues.optionalDuration(`checks.${check.name}.timeout`, check.timeout);
  if (ms === undefined || issues.issues.length > 0) {
    throw healthError(
      'OBS_ERR_HEALTH_CHECK_INVALID',
      `[@obs/health] invalid health check "${check.name}": ${issues.issues[0]?.message ?? 'bad timeout'}`,
    );
  }
  return ms;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** @internal The checker with the settings hook the plugin needs. */
export function createCheckerCore(options: HealthCheckerOptions = {}): {
  checker: HealthChecker;
  settings: CheckerSettings;
} {
  const issues = collectIssues('@obs/health');
  const timeoutMs = issues.duration('timeout', options.timeout, 5_000);
  const intervalMs = issues.duration('interval', options.interval, 30_000);
  let rule: StatusRule | StatusRuleFunction = defaultStatusRule;
  if (typeof options.rule === 'function') rule = options.rule;
  else if (options.rule !== undefined) {
    for (const [key, value] of Object.entries(options.rule)) {
      if (!(key in defaultStatusRule)) issues.issues.push({ path: `rule.${key}`, message: 'is not a rule key' });
      else if (!isStatus(value))
        issues.issues.push({ path: `rule.${key}`, message: 'must be healthy, degraded or unhealthy' });
    }
    rule = { ...defaultStatusRule, ...options.rule };
  }
  if (options.onError !== undefined && typeof options.onError !== 'function')
    issues.issues.push({ path: 'onError', message: 'must be a function' });
  issues.throwIfAny();

  const settings: CheckerSettings = {
    timeoutMs,
    intervalMs,
    rule,
    bus: options.bus,
    onError:
      options.onError ??
      ((error) => {
        settings.bus?.emit('obs:error', { plugin: '@obs/health', error });
      }),
  };
  const entries = new Map<string, Entry>();
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let cached: HealthReport | undefined;
  let overall: HealthStatus | undefined;

  function reportError(error: unknown): void {
    try {
      settings.onError(toError(error));
    } catch {
      // An error handler that throws must not reach the check loop.
    }
  }

  function attach(entry: Entry): void {
    if (entry.check.attach === undefined || entry.detach !== undefined) return;
    try {
      const refresh = (): void => {
        if (entries.get(entry.check.name) === entry) void run(entry);
      };
      entry.detach = entry.check.attach({ bus: settings.bus, refresh }) ?? (() => {});
    } catch (err) {
      reportError(err);
    }
  }

  function detach(entry: Entry): void {
    const undo = entry.detach;
    entry.detach = undefined;
    try {
      undo?.();
    } catch (err) {
      reportError(err);
    }
  }

  function normalize(name: string, outcome: unknown): HealthCheckOutcome {
    const invalid = (why: string): HealthCheckOutcome => {
      reportError(
        healthError('OBS_ERR_HEALTH_CHECK_RESULT', `[@obs/health] check "${name}" returned an invalid result: ${why}`),
      );
      return { status: 'unhealthy', message: `invalid result: ${why}` };
    };
    if (typeof outcome !== 'object' || outcome === null) return invalid('not an object');
    const { status, message, details } = outcome as HealthCheckOutcome;
    if (!isStatus(status)) return invalid(`status ${JSON.stringify(status)} is not healthy, degraded or unhealthy`);
    if (details !== undefined) {
      if (!isPlainObject(details)) return invalid('details is not a plain object');
      try {
        JSON.stringify(details);
      } catch (err) {
        return invalid(`details are not JSON (${toError(err).message})`);
      }
    }
    return {
      status,
      message: message === undefined || message === null ? undefined : String(message),
      details: details === undefined ? undefined : Object.freeze({ ...details }),
    };
  }

  function store(entry: Entry, outcome: HealthCheckOutcome, latencyMs: number): CheckReport {
    const result: CheckReport = Object.freeze({
      status: outcome.status,
      message: outcome.message,
      details: outcome.details,
      latencyMs,
      critical: entry.critical,
      checkedAt: Date.now(),
    });
    const previous = entry.result?.status;
    // A check unregistered while it ran keeps no result.
    if (entries.get(entry.check.name) !== entry) return result;
    entry.result = result;
    cached = undefined;
    if (previous !== result.status)
      settings.bus?.emit('health:changed', { check: entry.check.name, previous, current: result.status, result });
    updateOverall();
    return result;
  }

  function computeStatus(checks: readonly RuleInput[]): HealthStatus {
    if (typeof settings.rule !== 'function') return overallStatus(checks, settings.rule);
    try {
      const status = settings.rule(checks);
      if (isStatus(status)) return status;
      reportError(
        healthError('OBS_ERR_HEALTH_CHECK_RESULT', `[@obs/health] the status rule returned ${JSON.stringify(status)}`),
      );
    } catch (err) {
      reportError(err);
    }
    return overallStatus(checks, defaultStatusRule);
  }

  function build(): HealthReport | undefined {
    if (cached !== undefined) return cached;
    const checks: Record<string, CheckReport> = {};
    const inputs: RuleInput[] = [];
    let checkedAt = 0;
    for (const [name, entry] of entries) {
      const result = entry.result;
      if (result === undefined) return undefined;
      checks[name] = result;
      inputs.push({ name, critical: result.critical, status: result.status });
      if (result.checkedAt > checkedAt) checkedAt = result.checkedAt;
    }
    cached = Object.freeze({
      status: computeStatus(inputs),
      checkedAt: checkedAt === 0 ? Date.now() : checkedAt,
      checks: Object.freeze(checks),
    });
    return cached;
  }

  function updateOverall(): void {
    const report = build();
    // The overall status is only announced once every check has a result, so a partial first run does not flap.
    if (report === undefined || report.status === overall) return;
    const previous = overall;
    overall = report.status;
    const failing = Object.entries(report.checks).filter(([, r]) => r.status !== 'healthy');
    let latencyMs = 0;
    for (const r of Object.values(report.checks)) latencyMs = Math.max(latencyMs, r.latencyMs);
    settings.bus?.emit('health:changed', {
      check: RESERVED,
      previous,
      current: report.status,
      result: {
        status: report.status,
        message:
          failing.length === 0 ? 'all checks healthy' : failing.map(([name, r]) => `${name} ${r.status}`).join(', '),
        latencyMs,
      },
    });
  }

  function run(entry: Entry): Promise<CheckReport> {
    if (entry.inflight !== undefined) return entry.inflight;
    if (entry.hung && entry.result !== undefined) return Promise.resolve(entry.result);
    const limit = entry.timeoutMs ?? settings.timeoutMs;
    const controller = new AbortController();
    let started = performance.now();
    // Set when check() returns or throws without a promise: its latency must not include the other checks'
    // synchronous work that runs before this continuation gets its turn.
    let syncEnd: number | undefined;
    const promise = new Promise<CheckReport>((resolve) => {
      let done = false;
      const finish = (outcome: HealthCheckOutcome, latencyMs: number, keep = true): void => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        entry.cancel = undefined;
        entry.inflight = undefined;
        if (keep) resolve(store(entry, outcome, latencyMs));
        else resolve(entry.result ?? { ...outcome, latencyMs, critical: entry.critical, checkedAt: Date.now() });
      };
      const deadline = setTimeout(() => {
        entry.hung = true;
        const message = `timed out after ${formatDuration(limit)}`;
        controller.abort(
          healthError('OBS_ERR_HEALTH_CHECK_TIMEOUT', `[@obs/health] check "${entry.check.name}" ${message}`),
        );
        finish({ status: 'unhealthy', message }, limit);
      }, limit);
      entry.cancel = (reason) => {
        controller.abort(reason);
        // A run cut short by stop() or unregister() is not a finding about the dependency: keep no result.
        finish({ status: 'unhealthy', message: 'the checker stopped' }, performance.now() - started, false);
      };
      Promise.resolve()
        .then(() => {
          started = performance.now();
          try {
            const outcome = entry.check.check({ signal: controller.signal });
            if (typeof (outcome as PromiseLike<unknown> | undefined)?.then !== 'function') syncEnd = performance.now();
            return outcome;
          } catch (err) {
            syncEnd = performance.now();
            throw err;
          }
        })
        .then(
          (outcome) => {
            const latencyMs = (syncEnd ?? performance.now()) - started;
            if (done) entry.hung = false;
            else finish(normalize(entry.check.name, outcome), latencyMs);
          },
          (err: unknown) => {
            const latencyMs = (syncEnd ?? performance.now()) - started;
            if (done) entry.hung = false;
            else finish({ status: 'unhealthy', message: toError(err).message }, latencyMs);
          },
        );
    });
    // `finish` may already have run synchronously (never today, but cheap to guard).
    if (entry.cancel !== undefined) entry.inflight = promise;
    return promise;
  }

  async function refresh(names?: readonly string[]): Promise<HealthReport> {
    const chosen = names === undefined ? [...entries.values()] : names.flatMap((n) => entries.get(n) ?? []);
    await Promise.all(chosen.map(run));
    return report();
  }

  async function report(): Promise<HealthReport> {
    for (;;) {
      const ready = build();
      if (ready !== undefined) return ready;
      const missing = [...entries.values()].filter((e) => e.result === undefined);
      await Promise.all(missing.map(run));
    }
  }

  function tick(): void {
    refresh().catch((err: unknown) =>
      reportError(
        healthError(
          'OBS_ERR_HEALTH_REFRESH_FAILED',
          `[@obs/health] background refresh failed: ${toError(err).message}`,
          {
            cause: err,
          },
        ),
      ),
    );
  }

  const checker: HealthChecker = {
    register(check) {
      validateCheck(check);
      const ms = timeoutOf(check);
      if (entries.has(check.name)) {
        throw healthError(
          'OBS_ERR_HEALTH_CHECK_DUPLICATE',
          `[@obs/health] a health check named "${check.name}" is already registered`,
        );
      }
      const entry: Entry = {
        check,
        critical: check.critical ?? true,
        timeoutMs: ms,
        result: undefined,
        inflight: undefined,
        hung: false,
        cancel: undefined,
        detach: undefined,
      };
      entries.set(check.name, entry);
      cached = undefined;
      if (running) {
        attach(entry);
        void run(entry);
      }
      return () => {
        if (entries.get(check.name) === entry) checker.unregister(check.name);
      };
    },
    unregister(name) {
      const entry = entries.get(name);
      if (entry === undefined) return false;
      entries.delete(name);
      entry.cancel?.(healthError('OBS_ERR_HEALTH_STOPPED', `[@obs/health] check "${name}" was unregistered`));
      detach(entry);
      cached = undefined;
      updateOverall();
      return true;
    },
    names: () => [...entries.keys()],
    report,
    refresh,
    snapshot: build,
    start() {
      if (running) return;
      running = true;
      for (const entry of entries.values()) attach(entry);
      timer = setInterval(tick, settings.intervalMs);
      // A background refresh must never keep the host process alive.
      timer.unref();
      tick();
    },
    async stop() {
      running = false;
      clearInterval(timer);
      timer = undefined;
      const reason = healthError('OBS_ERR_HEALTH_STOPPED', '[@obs/health] the health checker stopped');
      for (const entry of entries.values()) {
        entry.cancel?.(reason);
        detach(entry);
      }
    },
    get running() {
      return running;
    },
  };
  for (const check of options.checks ?? []) checker.register(check);
  return { checker, settings };
}

/**
 * A standalone health checker (the plugin builds one on the monitor's bus and config).
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` for bad options; ObsError `OBS_ERR_HEALTH_CHECK_INVALID` or
 *   `OBS_ERR_HEALTH_CHECK_DUPLICATE` for a bad check in `checks`.
 */
export function createHealthChecker(options: HealthCheckerOptions = {}): HealthChecker {
  return createCheckerCore(options).checker;
}
