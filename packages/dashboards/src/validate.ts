import type { MetricDescriptor } from '@obs/core';
import { type DashboardIssue, DashboardValidationError } from './errors.ts';
import { type Dashboard, GRID_COLUMNS, type Panel, SCHEMA_VERSION } from './model.ts';
import { analyzePromql } from './query-analysis.ts';

/** Panel types current Grafana removed or replaced (Angular panels and their old plugins). */
export const DEPRECATED_PANEL_TYPES: readonly string[] = Object.freeze([
  'graph',
  'singlestat',
  'grafana-singlestat-panel',
  'table-old',
  'grafana-piechart-panel',
  'grafana-worldmap-panel',
  'grafana-polystat-panel',
  'natel-discrete-panel',
  'heatmap-old',
]);

/** Series Prometheus itself adds beside the scraped ones. */
export const PROMETHEUS_SERIES: readonly string[] = Object.freeze([
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'scrape_samples_post_metric_relabeling',
  'scrape_series_added',
  'ALERTS',
  'ALERTS_FOR_STATE',
]);

/** Options of {@link validateDashboard}. */
export interface ValidateOptions {
  /** The metric set: every series a target names must belong to it. Omit to skip that check. */
  readonly metrics?: readonly MetricDescriptor[];
  /** More series names that exist. @default PROMETHEUS_SERIES */
  readonly extraSeries?: readonly string[];
}

/** Every series name a metric set exposes: histograms' `_bucket`, `_sum`, `_count` included. */
export function seriesNames(metrics: readonly MetricDescriptor[]): Set<string> {
  const names = new Set<string>();
  for (const m of metrics) {
    names.add(m.name);
    if (m.type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
    if (m.type === 'summary') for (const s of ['_sum', '_count']) names.add(m.name + s);
  }
  return names;
}

const VARIABLE_USE = /\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)(?::[^\]]*)?\]\]/g;
const UID = /^[A-Za-z0-9_-]{1,40}$/;

function variablesIn(text: string): string[] {
  return [...text.matchAll(VARIABLE_USE)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

function overlaps(a: Panel, b: Panel): boolean {
  const p = a.gridPos;
  const q = b.gridPos;
  return p.x < q.x + q.w && q.x < p.x + p.w && p.y < q.y + q.h && q.y < p.y + p.h;
}

/**
 * Checks a dashboard without a Grafana server: uid, unique panel ids, the 24-column grid without
 * overlaps, declared variables, PromQL that parses and names only known metrics, no deprecated
 * panel types, the current schemaVersion. Returns every problem (empty when valid).
 */
export function validateDashboard(dashboard: Dashboard, options: ValidateOptions = {}): DashboardIssue[] {
  const issues: DashboardIssue[] = [];
  const uid = String(dashboard.uid);
  const issue = (path: string, message: string): void => void issues.push({ uid, path, message });
  if (!UID.test(uid)) issue('uid', 'must be 1 to 40 characters of A-Z, a-z, 0-9, - and _');
  if (typeof dashboard.title !== 'string' || dashboard.title.trim() === '') issue('title', 'must not be empty');
  if (dashboard.schemaVersion !== SCHEMA_VERSION)
    issue(
      'schemaVersion',
      `must be ${SCHEMA_VERSION}, the version current Grafana writes (got ${dashboard.schemaVersion})`,
    );

  const declared = new Set(dashboard.templating.list.map((v) => v.name));
  const known = options.metrics === undefined ? undefined : seriesNames(options.metrics);
  for (const s of options.extraSeries ?? PROMETHEUS_SERIES) known?.add(s);
  const checkVariables = (path: string, text: string | undefined): void => {
    if (text === undefined) return;
    for (const name of variablesIn(text))
      if (!name.startsWith('__') && !declared.has(name)) issue(path, `uses $${name}, which is not declared`);
  };
  dashboard.templating.list.forEach((v, i) => {
    checkVariables(`templating.list[${i}].query`, typeof v.query === 'string' ? v.query : v.query.query);
    checkVariables(`templating.list[${i}].datasource.uid`, v.datasource?.uid);
  });
  for (const [i, l] of dashboard.links.entries()) checkVariables(`links[${i}].url`, l.url);

  const ids = new Map<number, string>();
  const all: { panel: Panel; path: string }[] = [];
  for (const [i, panel] of dashboard.panels.entries()) {
    all.push({ panel, path: `panels[${i}]` });
    for (const [j, inner] of (panel.panels ?? []).entries())
      all.push({ panel: inner, path: `panels[${i}].panels[${j}]` });
  }
  for (const { panel, path } of all) {
    const seen = ids.get(panel.id);
    if (!Number.isInteger(panel.id) || panel.id < 1) issue(`${path}.id`, 'must be a positive integer');
    else if (seen !== undefined) issue(`${path}.id`, `duplicates the id of ${seen}`);
    else ids.set(panel.id, path);
    if (DEPRECATED_PANEL_TYPES.includes(panel.type))
      issue(
        `${path}.type`,
        `"${panel.type}" is deprecated: current Grafana cannot render it (use timeseries, stat...)`,
      );
    const g = panel.gridPos;
    if (!Number.isInteger(g.x) || !Number.isInteger(g.y) || !Number.isInteger(g.w) || !Number.isInteger(g.h))
      issue(`${path}.gridPos`, 'must have integer x, y, w and h');
    if (g.x < 0 || g.y < 0 || g.w < 1 || g.h < 1 || g.x + g.w > GRID_COLUMNS)
      issue(`${path}.gridPos`, `must lie inside the ${GRID_COLUMNS}-column grid (x=${g.x} w=${g.w} y=${g.y} h=${g.h})`);
    checkVariables(`${path}.title`, panel.title);
    checkVariables(`${path}.datasource.uid`, panel.datasource?.uid);
    for (const [k, l] of (panel.links ?? []).entries()) checkVariables(`${path}.links[${k}].url`, l.url);
    panel.targets?.forEach((t, k) => {
      const at = `${path}.targets[${k}]`;
      checkVariables(`${at}.expr`, t.expr);
      checkVariables(`${at}.legendFormat`, t.legendFormat);
      checkVariables(`${at}.datasource.uid`, t.datasource?.uid);
      const analysis = analyzePromql(t.expr);
      for (const e of analysis.errors) issue(`${at}.expr`, `PromQL does not parse: ${e}`);
      if (known !== undefined)
        for (const m of analysis.metrics)
          if (!known.has(m)) issue(`${at}.expr`, `names ${m}, which is not a known metric`);
    });
  }
  const top = dashboard.panels;
  for (let i = 0; i < top.length; i++)
    for (let j = i + 1; j < top.length; j++)
      if (overlaps(top[i]!, top[j]!)) issue(`panels[${j}].gridPos`, `overlaps panels[${i}] ("${top[i]!.title}")`);
  return issues;
}

/**
 * Validates several dashboards, and that their uids are unique.
 * @throws DashboardValidationError `OBS_ERR_DASHBOARDS_INVALID` listing every problem.
 */
export function assertValidDashboards(dashboards: readonly Dashboard[], options: ValidateOptions = {}): void {
  const issues: DashboardIssue[] = [];
  const uids = new Set<string>();
  for (const d of dashboards) {
    if (uids.has(d.uid)) issues.push({ uid: d.uid, path: 'uid', message: 'is used by another dashboard' });
    uids.add(d.uid);
    issues.push(...validateDashboard(d, options));
  }
  if (issues.length > 0) throw new DashboardValidationError(issues);
}
