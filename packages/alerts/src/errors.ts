import type { ObsErrorCode } from '@obs/core';

/** Every error code that `@obs/alerts` throws or reports (kept in step with docs/errors.md). */
export const alertsErrorCodes: Readonly<Record<ObsErrorCode, string>> = Object.freeze({
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
