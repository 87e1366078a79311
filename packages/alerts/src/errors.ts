import { type CoreErrorCode, ObsError } from '@obs/core';

/** The codes `@obs/alerts` throws or reports: a closed union, so a misspelt code does not compile. */
export type AlertsErrorCode =
  | 'OBS_ERR_ALERTS_PARSE'
  | 'OBS_ERR_ALERTS_UNSUPPORTED'
  | 'OBS_ERR_ALERTS_RULE_INVALID'
  | 'OBS_ERR_ALERTS_RULES_FILE'
  | 'OBS_ERR_ALERTS_EVAL'
  | 'OBS_ERR_ALERTS_NOTIFY'
  | 'OBS_ERR_ALERTS_STATE'
  | 'OBS_ERR_ALERTS_SILENCE_LIMIT';

// Retired codes stay listed (a code is never reused) but can no longer be thrown.
type Retired = 'OBS_ERR_ALERTS_TEST_SCRIPT';

/** Every error code that `@obs/alerts` throws or reports (kept in step with docs/errors.md). */
export const alertsErrorCodes: Readonly<Record<AlertsErrorCode | Retired, string>> = Object.freeze({
  OBS_ERR_ALERTS_PARSE:
    'A PromQL expression does not parse, or its types do not fit (the message gives line and column).',
  OBS_ERR_ALERTS_UNSUPPORTED:
    'A PromQL expression uses a function or construct outside the embedded engine (named, with its position).',
  OBS_ERR_ALERTS_RULE_INVALID: 'An alert rule is malformed: no name, a bad duration, severity, label or template.',
  OBS_ERR_ALERTS_RULES_FILE: 'A rule file cannot be read or is not valid YAML in either supported format.',
  OBS_ERR_ALERTS_EVAL: 'Evaluating a rule failed at run time; the rule keeps its previous state.',
  OBS_ERR_ALERTS_NOTIFY:
    'A notification could not be delivered to a channel (refused, timed out, an HTTP or SMTP error); retried, then dropped and counted.',
  OBS_ERR_ALERTS_TEST_SCRIPT:
    'Retired: PromQL test scripts run with `obs-promql promqltest` (@obs/promql), which fails with OBS_ERR_PROMQL_TEST_SCRIPT.',
  OBS_ERR_ALERTS_STATE: 'The notification state file cannot be read or written; the app goes on without it.',
  OBS_ERR_ALERTS_SILENCE_LIMIT:
    'A new silence would exceed max_silences active or pending silences (a 400 on POST /silences); expire one first.',
});

/** @internal An `ObsError` with one of this package's codes: throw sites use it, so a misspelt code does not compile. */
export function alertsError(code: AlertsErrorCode | CoreErrorCode, message: string, options?: ErrorOptions): ObsError {
  return new ObsError(code, message, options);
}
