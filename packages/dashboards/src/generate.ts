import type { AlertRuleDescriptor, MetricDescriptor } from '@obs/core';
import {
  alertListPanel,
  createDashboardBuilder,
  type Dashboard,
  datasourceVariable,
  gaugePanel,
  heatmapPanel,
  labelValuesVariable,
  type PanelOptions,
  type PanelSpec,
  statPanel,
  type Threshold,
  tablePanel,
  timeseriesPanel,
  urlLink,
} from './model.ts';
import { analyzePromql } from './query-analysis.ts';

/** The metric name prefix as Prometheus' BuildFQName makes it: ``, `trakt`, or `trakt_exporter`. */
export function metricPrefix(namespace = '', subsystem = ''): string {
  return [namespace, subsystem].filter((p) => p !== '').join('_');
}

// A metric's full name under a prefix that may be empty (`api_requests_total` or `trakt_api_requests_total`).
const named = (prefix: string, name: string): string => (prefix === '' ? name : `${prefix}_${name}`);

/** Options of {@link seedDashboard}. */
export interface SeedDashboardOptions {
  /** @default "" */
  readonly namespace?: string;
  /** @default "" */
  readonly subsystem?: string;
  /** @default "export-trakt-4-letterboxd" */
  readonly uid?: string;
}

/**
 * The seed's dashboard "Export Trakt 4 Letterboxd" with its three panels; its `graph` panel is a
 * `timeseries`, since current Grafana has no `graph`. Metric names follow namespace and subsystem.
 */
export function seedDashboard(options: SeedDashboardOptions = {}): Dashboard {
  const p = metricPrefix(options.namespace, options.subsystem);
  return createDashboardBuilder({
    uid: options.uid ?? 'export-trakt-4-letterboxd',
    title: 'Export Trakt 4 Letterboxd',
    tags: ['obs', 'trakt'],
  })
    .variable(datasourceVariable())
    .panel(
      timeseriesPanel({
        title: 'API Request Rate',
        targets: [{ expr: `rate(${named(p, 'api_requests_total')}[5m])`, legendFormat: '{{endpoint}} {{status}}' }],
        unit: 'reqps',
      }),
    )
    .panel(
      statPanel({
        title: 'Cache Performance',
        targets: [{ expr: named(p, 'cache_hit_ratio') }],
        unit: 'percentunit',
        min: 0,
        max: 1,
      }),
    )
    .panel(
      tablePanel({
        title: 'Export Operations',
        targets: [{ expr: `increase(${named(p, 'export_operations_total')}[1h])` }],
        width: 24,
      }),
    )
    .build();
}

/** A threshold line an alert rule puts on the panels of the metrics it watches. */
interface RuleLine {
  readonly rule: string;
  readonly value: number;
  /** `above`: the rule fires above the value (`>`), `below`: under it (`<`). */
  readonly side: 'above' | 'below';
  readonly severity: AlertRuleDescriptor['severity'];
}

const SEVERITY_COLORS: Readonly<Record<AlertRuleDescriptor['severity'], string>> = {
  info: 'blue',
  warning: 'orange',
  critical: 'red',
};

const baseName = (series: string): string => series.replace(/_(bucket|sum|count)$/, '');

function ruleLines(rules: readonly AlertRuleDescriptor[]): Map<string, RuleLine[]> {
  const lines = new Map<string, RuleLine[]>();
  for (const rule of rules) {
    const analysis = analyzePromql(rule.expr);
    const op = analysis.comparison?.op;
    const value = rule.threshold ?? analysis.comparison?.value;
    if (value === undefined || op === undefined || op === '==' || op === '!=') continue;
    const line: RuleLine = {
      rule: rule.name,
      value,
      side: op.startsWith('>') ? 'above' : 'below',
      severity: rule.severity,
    };
    for (const m of analysis.metrics) {
      for (const name of new Set([m, baseName(m)])) lines.set(name, [...(lines.get(name) ?? []), line]);
    }
  }
  return lines;
}

function thresholdSteps(lines: readonly RuleLine[]): Threshold[] {
  const below = lines.filter((l) => l.side === 'below').sort((a, b) => a.value - b.value);
  const above = lines.filter((l) => l.side === 'above').sort((a, b) => a.value - b.value);
  // Grafana's steps go upward from minus infinity: a "fires below" rule colours the base, and green
  // starts at its value; a "fires above" rule colours from its value up.
  const steps: Threshold[] = [
    { color: below[0] === undefined ? 'green' : SEVERITY_COLORS[below[0].severity], value: null },
  ];
  for (const [i, l] of below.entries())
    steps.push({
      color: below[i + 1] === undefined ? 'green' : SEVERITY_COLORS[below[i + 1]!.severity],
      value: l.value,
    });
  for (const l of above) steps.push({ color: SEVERITY_COLORS[l.severity], value: l.value });
  return steps.sort((a, b) => (a.value ?? Number.NEGATIVE_INFINITY) - (b.value ?? Number.NEGATIVE_INFINITY));
}

function withRules(options: PanelOptions, lines: readonly RuleLine[] | undefined): PanelOptions {
  if (lines === undefined || lines.length === 0) return options;
  const described = lines
    .map((l) => `${l.rule} (${l.side === 'above' ? '>' : '<'} ${l.value}, ${l.severity})`)
    .join('; ');
  return {
    ...options,
    thresholds: thresholdSteps(lines),
    description: `${options.description ?? ''}${options.description ? ' ' : ''}Alert rules: ${described}.`,
  };
}

function unitOf(m: MetricDescriptor): string {
  const unit = m.unit ?? /_(seconds|bytes|ratio)(_total)?$/.exec(m.name)?.[1];
  if (m.type === 'counter') {
    if (unit === 'seconds') return 's';
    if (unit === 'bytes') return 'Bps';
    return /request/.test(m.name) ? 'reqps' : 'ops';
  }
  if (unit === 'seconds') return 's';
  if (unit === 'bytes') return 'bytes';
  if (unit === 'ratio') return 'percentunit';
  return 'short';
}

const legendOf = (labels: readonly string[], fallback: string): string =>
  labels.length === 0 ? fallback : labels.map((l) => `{{${l}}}`).join(' ');

/** Options of {@link defaultDashboard}. */
export interface DefaultDashboardOptions {
  /** The metric set, as the `metrics.descriptors` service gives it. */
  readonly metrics: readonly MetricDescriptor[];
  /** The loaded alert rules (the `alerts.rules` service); their thresholds are drawn on the panels. @default [] */
  readonly rules?: readonly AlertRuleDescriptor[];
  /** @default "" */
  readonly namespace?: string;
  /** @default "" */
  readonly subsystem?: string;
  /** @default "obs-overview" */
  readonly uid?: string;
  /** @default "Service overview" */
  readonly title?: string;
  /** Links shown at the top (to Jaeger, Alertmanager...). @default [] */
  readonly links?: readonly { readonly title: string; readonly url: string }[];
}

interface Group {
  readonly title: string;
  readonly match: (name: string) => boolean;
}

/**
 * The complete dashboard of a metric set: health and alerts first, then counters as rates, histograms
 * as p50/p95/p99 and a heatmap, gauges as stat (or gauge, for ratios) and time series, grouped in rows;
 * every query filtered by `$job` and `$instance` on a `$datasource`.
 */
export function defaultDashboard(options: DefaultDashboardOptions): Dashboard {
  const prefix = metricPrefix(options.namespace, options.subsystem);
  const metrics = [...options.metrics].sort((a, b) => a.name.localeCompare(b.name));
  const lines = ruleLines(options.rules ?? []);
  const sel = (name: string, extra = ''): string =>
    `${name}{job=~"$job",instance=~"$instance"${extra === '' ? '' : `,${extra}`}}`;
  const rate = (name: string): string => `rate(${sel(name)}[$__rate_interval])`;
  const b = createDashboardBuilder({
    uid: options.uid ?? 'obs-overview',
    title: options.title ?? 'Service overview',
    description: `Generated by @obs/dashboards from the live metric set (${metrics.length} metrics).`,
    tags: ['obs', 'generated'],
  });
  b.variable(datasourceVariable());
  const anchor = metrics.find((m) => m.type === 'counter' || m.type === 'gauge') ?? metrics[0];
  const anchorSeries = anchor === undefined ? 'up' : anchor.type === 'histogram' ? `${anchor.name}_count` : anchor.name;
  b.variable(labelValuesVariable('job', anchorSeries));
  b.variable(labelValuesVariable('instance', `${anchorSeries}{job=~"$job"}`));
  for (const link of options.links ?? []) b.link(urlLink(link.title, link.url));

  const health = metrics.find((m) => m.name === named(prefix, 'health_status'));
  const alerts = metrics.find((m) => m.name === 'ALERTS');
  b.row('Health and alerts');
  if (health !== undefined) {
    const mappings = [
      {
        type: 'value' as const,
        options: {
          '1': { text: 'healthy', color: 'green', index: 0 },
          '0.5': { text: 'degraded', color: 'orange', index: 1 },
          '0': { text: 'unhealthy', color: 'red', index: 2 },
        },
      },
    ];
    const thresholds: Threshold[] = [
      { color: 'red', value: null },
      { color: 'orange', value: 0.5 },
      { color: 'green', value: 1 },
    ];
    b.panel(
      statPanel({
        title: 'Service health',
        description: health.help,
        targets: [{ expr: `min(${sel(health.name, 'check="overall"')})`, legendFormat: 'overall' }],
        mappings,
        thresholds,
        options: { graphMode: 'none', colorMode: 'background' },
        width: 6,
      }),
    );
    b.panel(
      timeseriesPanel({
        title: 'Health by check',
        description: health.help,
        targets: [{ expr: `min by (check) (${sel(health.name)})`, legendFormat: '{{check}}' }],
        min: 0,
        max: 1,
        mappings,
        thresholds,
        width: 6,
      }),
    );
  }
  b.panel(alertListPanel({ title: 'Firing and pending alerts', width: health === undefined ? 12 : 6 }));
  if (alerts !== undefined) {
    b.panel(
      tablePanel({
        title: 'Active alerts',
        description: alerts.help,
        targets: [{ expr: 'sum by (alertname, alertstate, severity) (ALERTS)' }],
        width: 6,
      }),
    );
  }

  const groups: Group[] = [
    {
      title: prefix === '' ? 'Application' : `Application (${prefix}_*)`,
      match: (n) => prefix !== '' && n.startsWith(`${prefix}_`),
    },
    { title: 'HTTP server', match: (n) => n.startsWith('http_') },
    { title: '@obs internals', match: (n) => n.startsWith('obs_') },
    { title: 'Node.js process', match: (n) => n.startsWith('process_') || n.startsWith('nodejs_') },
    { title: 'Other metrics', match: () => true },
  ];
  const placed = new Set<string>(['ALERTS', ...(health === undefined ? [] : [health.name])]);
  for (const group of groups) {
    const members = metrics.filter((m) => !placed.has(m.name) && group.match(m.name));
    if (members.length === 0) continue;
    b.row(group.title);
    for (const m of members) {
      placed.add(m.name);
      for (const spec of panelsFor(m, sel, rate, lines.get(m.name))) b.panel(spec);
    }
  }
  return b.build();
}

function panelsFor(
  m: MetricDescriptor,
  sel: (name: string, extra?: string) => string,
  rate: (name: string) => string,
  lines: readonly RuleLine[] | undefined,
): PanelSpec[] {
  const unit = unitOf(m);
  const labels = m.labelNames;
  const by = labels.length === 0 ? 'sum' : `sum by (${labels.join(', ')})`;
  switch (m.type) {
    case 'counter':
      return [
        timeseriesPanel(
          withRules(
            {
              title: `${m.name} (per second)`,
              description: m.help,
              targets: [{ expr: `${by} (${rate(m.name)})`, legendFormat: legendOf(labels, m.name) }],
              unit,
            },
            lines,
          ),
        ),
      ];
    case 'histogram': {
      const grouped = labels.filter((l) => l !== 'le');
      const bucketsBy = `sum by (le) (${rate(`${m.name}_bucket`)})`;
      return [
        timeseriesPanel(
          withRules(
            {
              title: `${m.name}: p50, p95, p99`,
              description: m.help,
              targets: [0.5, 0.95, 0.99].map((q) => ({
                expr: `histogram_quantile(${q}, ${bucketsBy})`,
                legendFormat: `p${Math.round(q * 100)}`,
              })),
              unit,
            },
            lines,
          ),
        ),
        heatmapPanel({
          title: `${m.name}: distribution`,
          description: `${m.help}${grouped.length > 0 ? ` (all ${grouped.join(', ')} together)` : ''}`,
          targets: [{ expr: `sum by (le) (increase(${sel(`${m.name}_bucket`)}[$__rate_interval]))` }],
          unit,
        }),
      ];
    }
    case 'summary':
      return [
        timeseriesPanel({
          title: `${m.name}: mean`,
          description: m.help,
          targets: [
            {
              expr: `${by} (${rate(`${m.name}_sum`)}) / ${by} (${rate(`${m.name}_count`)})`,
              legendFormat: legendOf(labels, 'mean'),
            },
          ],
          unit,
        }),
      ];
    default: {
      const current: PanelOptions = withRules(
        {
          title: m.name,
          description: m.help,
          targets: [
            { expr: labels.length === 0 ? `sum(${sel(m.name)})` : sel(m.name), legendFormat: legendOf(labels, m.name) },
          ],
          unit,
          width: 4,
          ...(unit === 'percentunit' ? { min: 0, max: 1 } : {}),
        },
        lines,
      );
      const history = withRules(
        {
          title: `${m.name} over time`,
          description: m.help,
          targets: [{ expr: sel(m.name), legendFormat: legendOf(labels, m.name) }],
          unit,
          width: 8,
        },
        lines,
      );
      return [unit === 'percentunit' ? gaugePanel(current) : statPanel(current), timeseriesPanel(history)];
    }
  }
}
