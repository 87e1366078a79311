import { type CoreErrorCode, ObsError } from '@obs/core';

/** The codes `@obs/dashboards` throws or reports: a closed union, so a misspelt code does not compile. */
export type DashboardsErrorCode = 'OBS_ERR_DASHBOARDS_INVALID' | 'OBS_ERR_DASHBOARDS_GENERATE';

// Retired codes stay listed (a code is never reused) but can no longer be thrown.
type Retired =
  | 'OBS_ERR_DASHBOARDS_RULES'
  | 'OBS_ERR_DASHBOARDS_USAGE'
  | 'OBS_ERR_DASHBOARDS_METRICS_MISSING'
  | 'OBS_ERR_DASHBOARDS_ALERTS_MISSING';

/** Every error code that `@obs/dashboards` throws or reports (kept in step with docs/errors.md). */
export const dashboardsErrorCodes: Readonly<Record<DashboardsErrorCode | Retired, string>> = Object.freeze({
  OBS_ERR_DASHBOARDS_INVALID:
    'A dashboard failed validation (duplicate uid or panel id, grid overlap, undeclared variable, bad PromQL, unknown metric, deprecated panel type, wrong schemaVersion).',
  OBS_ERR_DASHBOARDS_GENERATE: 'Generating a dashboard for /dashboards failed at run time; the request got a 500.',
  // Retired with the obs-dashboards command (an app composes its plugins and writes the files itself); kept
  // listed because a code is never reused.
  OBS_ERR_DASHBOARDS_RULES: 'Retired: rule files are read by @obs/alerts (alerts.rules), not by @obs/dashboards.',
  OBS_ERR_DASHBOARDS_USAGE: 'Retired with the obs-dashboards command.',
  OBS_ERR_DASHBOARDS_METRICS_MISSING: 'Retired with the obs-dashboards command.',
  OBS_ERR_DASHBOARDS_ALERTS_MISSING: 'Retired with the obs-dashboards command.',
});

/** @internal An `ObsError` with one of this package's codes: throw sites use it, so a misspelt code does not compile. */
export function dashboardsError(
  code: DashboardsErrorCode | CoreErrorCode,
  message: string,
  options?: ErrorOptions,
): ObsError {
  return new ObsError(code, message, options);
}

/** A problem found in a dashboard: where (`panels[3].targets[0].expr`) and what. */
export interface DashboardIssue {
  /** The dashboard's uid. */
  readonly uid: string;
  /** JSON path inside the dashboard. */
  readonly path: string;
  readonly message: string;
}

/** A dashboard that failed validation, with every problem found. */
export class DashboardValidationError extends ObsError {
  override name = 'DashboardValidationError';
  readonly issues: readonly DashboardIssue[];
  constructor(issues: readonly DashboardIssue[]) {
    super(
      'OBS_ERR_DASHBOARDS_INVALID',
      `[@obs/dashboards] invalid dashboard (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${issues
        .map((i) => `  - ${i.uid} ${i.path}: ${i.message}`)
        .join('\n')}`,
    );
    this.issues = Object.freeze([...issues]);
  }
}
