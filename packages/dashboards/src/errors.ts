import { ObsError, type ObsErrorCode } from '@obs/core';

/** Every error code that `@obs/dashboards` throws or reports (kept in step with docs/errors.md). */
export const dashboardsErrorCodes: Readonly<Record<ObsErrorCode, string>> = Object.freeze({
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
