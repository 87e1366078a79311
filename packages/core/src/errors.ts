import { redactUrl } from './redact.ts';

/**
 * A stable error code: `OBS_ERR_<AREA>_<WHAT>`. A code is never renamed or reused. This is the open base type
 * of `ObsError.code`; each package declares the closed union of its own codes (`CoreErrorCode`,
 * `HealthErrorCode`...) and its throw sites use that, so a misspelt code does not compile.
 */
export type ObsErrorCode = `OBS_ERR_${Uppercase<string>}`;

/** The codes `@obs/core` throws or reports: a closed union, so a misspelt code does not compile. */
export type CoreErrorCode =
  | 'OBS_ERR_CONFIG_INVALID'
  | 'OBS_ERR_DURATION_INVALID'
  | 'OBS_ERR_PLUGIN_INVALID'
  | 'OBS_ERR_PLUGIN_DUPLICATE'
  | 'OBS_ERR_PLUGIN_DEPENDENCY'
  | 'OBS_ERR_PLUGIN_SETUP'
  | 'OBS_ERR_PLUGIN_START'
  | 'OBS_ERR_PLUGIN_STOP'
  | 'OBS_ERR_LIFECYCLE_TIMEOUT'
  | 'OBS_ERR_MONITOR_STATE'
  | 'OBS_ERR_SERVICE_MISSING'
  | 'OBS_ERR_SERVICE_DUPLICATE'
  | 'OBS_ERR_ENDPOINT_BIND'
  | 'OBS_ERR_ENDPOINT_NOT_BOUND'
  | 'OBS_ERR_ENDPOINT_CONFLICT'
  | 'OBS_ERR_LISTENER_THREW'
  | 'OBS_ERR_RECORD_INVALID';

/** Every error code that `@obs/core` throws or reports, with what it means (kept in step with docs/errors.md). */
export const coreErrorCodes: Readonly<Record<CoreErrorCode, string>> = Object.freeze({
  OBS_ERR_CONFIG_INVALID: 'The configuration (file, environment or overrides) has one or more problems.',
  OBS_ERR_DURATION_INVALID: 'A duration string is not of the form 30s, 5m, 2h34m12s or 89ms.',
  OBS_ERR_PLUGIN_INVALID: 'A plugin object does not follow the plugin contract.',
  OBS_ERR_PLUGIN_DUPLICATE: 'Two plugins with the same name were registered.',
  OBS_ERR_PLUGIN_DEPENDENCY: 'A plugin depends on a plugin that is not registered before it.',
  OBS_ERR_PLUGIN_SETUP: 'A plugin failed in setup().',
  OBS_ERR_PLUGIN_START: 'A plugin failed in start(); the plugins already started were stopped.',
  OBS_ERR_PLUGIN_STOP: 'A plugin failed in stop(); the others were still stopped.',
  OBS_ERR_LIFECYCLE_TIMEOUT: 'A plugin phase (setup, start or stop) did not finish within its timeout.',
  OBS_ERR_MONITOR_STATE:
    'A monitor method was called in a state that does not allow it (start twice, provide after start).',
  OBS_ERR_SERVICE_MISSING: 'A service was needed that no registered plugin provides.',
  OBS_ERR_SERVICE_DUPLICATE: 'Two plugins provide the same service.',
  OBS_ERR_ENDPOINT_BIND: 'A listener could not bind its port (in use, or not permitted).',
  OBS_ERR_ENDPOINT_NOT_BOUND: 'The URL of a listener was asked for, but it is not listening.',
  OBS_ERR_ENDPOINT_CONFLICT: 'Two routes were mounted on the same path of one server.',
  OBS_ERR_LISTENER_THREW: 'An event listener threw; the emitter was not affected.',
  OBS_ERR_RECORD_INVALID:
    'A recorder (recordApiCall, updateCacheStats...) got a value it cannot record; it was dropped.',
});

/** The base error of every @obs package: carries a stable `code`; tests match on `code`, not message text. */
export class ObsError extends Error {
  override name = 'ObsError';
  readonly code: ObsErrorCode;
  constructor(code: ObsErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** @internal An `ObsError` with one of core's codes: throw sites use it, so a misspelt code does not compile. */
export function coreError(code: CoreErrorCode, message: string, options?: ErrorOptions): ObsError {
  return new ObsError(code, message, options);
}

/** Where a configuration problem lies: the key path and, when known, the file, line and column or the env var. */
export interface ConfigIssue {
  /** Dotted key path, e.g. `monitoring.tracing.sample_rate`. */
  readonly path: string;
  /** What is wrong, in words a user can act on. */
  readonly message: string;
  /** The file the value came from. */
  readonly file?: string | undefined;
  /** 1-based line in `file`. */
  readonly line?: number | undefined;
  /** 1-based column in `file`. */
  readonly column?: number | undefined;
  /** The environment variable the value came from. */
  readonly env?: string | undefined;
}

/** Formats one issue as `file:line:col: path: message` (or `env VAR: path: message`). */
export function formatConfigIssue(issue: ConfigIssue): string {
  let where = '';
  if (issue.env !== undefined) where = `env ${issue.env}: `;
  else if (issue.file !== undefined) {
    where = issue.file;
    if (issue.line !== undefined) where += `:${issue.line}${issue.column === undefined ? '' : `:${issue.column}`}`;
    where += ': ';
  }
  // Messages may quote a value; credentials in it (a URL's userinfo, a token parameter) never get printed.
  return `${where}${issue.path === '' ? '' : `${issue.path}: `}${redactUrl(issue.message)}`;
}

/** Bad configuration: lists every problem at once, each with where it is. */
export class ObsConfigError extends ObsError {
  override name = 'ObsConfigError';
  readonly issues: readonly ConfigIssue[];
  constructor(plugin: string, issues: readonly ConfigIssue[]) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(
      'OBS_ERR_CONFIG_INVALID',
      `[${plugin}] invalid configuration (${count}):\n${issues.map((i) => `  - ${formatConfigIssue(i)}`).join('\n')}`,
    );
    this.issues = Object.freeze([...issues]);
  }
}

/** Turns anything thrown into an Error, keeping the original as `cause` when it was not one. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : `non-error thrown: ${String(value)}`, { cause: value });
}
