import type { AlertRuleDescriptor } from '@obs/core';
import { createMetrics } from '@obs/metrics';
import { describe, expect, test } from 'vitest';
import { analyzePromql, defaultDashboard, type Panel, seedDashboard, validateDashboard } from '../src/index.ts';

const rules: AlertRuleDescriptor[] = [
  {
    name: 'API Error Rate High',
    expr: 'rate(trakt_api_requests_total{status!="200"}[5m]) > 0.1',
    threshold: 0.1,
    forMs: 300_000,
    severity: 'warning',
    labels: {},
    annotations: {},
  },
  {
    name: 'Cache Hit Ratio Low',
    expr: 'trakt_cache_hit_ratio < 0.5',
    threshold: 0.5,
    forMs: 600_000,
    severity: 'info',
    labels: {},
    annotations: {},
  },
];

const panelsNaming = (panels: readonly Panel[], metric: string) =>
  panels.filter((p) => p.targets?.some((t) => analyzePromql(t.expr).metrics.includes(metric)));

describe("the seed's dashboard", () => {
  test('has its three panels, the graph as a timeseries, and is valid against the real metric set', () => {
    const d = seedDashboard({ namespace: 'trakt' });
    expect(d.title).toBe('Export Trakt 4 Letterboxd');
    expect(d.panels.map((p) => [p.title, p.type, p.targets?.[0]?.expr])).toEqual([
      ['API Request Rate', 'timeseries', 'rate(trakt_api_requests_total[5m])'],
      ['Cache Performance', 'stat', 'trakt_cache_hit_ratio'],
      ['Export Operations', 'table', 'increase(trakt_export_operations_total[1h])'],
    ]);
    expect(
      validateDashboard(d, { metrics: createMetrics({ namespace: 'trakt', defaultMetrics: false }).descriptors() }),
    ).toEqual([]);
  });

  test('follows namespace and subsystem', () => {
    const d = seedDashboard({ namespace: 'trakt', subsystem: 'exporter' });
    expect(d.panels[0]!.targets![0]!.expr).toBe('rate(trakt_exporter_api_requests_total[5m])');
    const metrics = createMetrics({ namespace: 'trakt', subsystem: 'exporter', defaultMetrics: false }).descriptors();
    expect(validateDashboard(d, { metrics })).toEqual([]);
    expect(validateDashboard(seedDashboard({ namespace: 'trakt' }), { metrics }).map((i) => i.message)).toContain(
      'names trakt_api_requests_total, which is not a known metric',
    );
  });
});

describe('the default dashboard', () => {
  const full = createMetrics({ namespace: 'trakt', defaultMetrics: true });
  full.httpMiddleware(); // the http_server_* families exist once the middleware is made
  const metrics = full.descriptors();
  const d = defaultDashboard({ metrics, rules, namespace: 'trakt' });

  test('is valid: ids, grid, variables, PromQL and metric names', () => {
    expect(validateDashboard(d, { metrics })).toEqual([]);
    expect(d.templating.list.map((v) => [v.name, v.type])).toEqual([
      ['datasource', 'datasource'],
      ['job', 'query'],
      ['instance', 'query'],
    ]);
  });

  test('counters as rates, histograms as p50/p95/p99 and a heatmap, gauges as stat and timeseries', () => {
    const [requests] = panelsNaming(d.panels, 'trakt_api_requests_total');
    expect(requests).toMatchObject({ type: 'timeseries' });
    expect(requests!.targets![0]!.expr).toBe(
      'sum by (endpoint, status) (rate(trakt_api_requests_total{job=~"$job",instance=~"$instance"}[$__rate_interval]))',
    );
    const duration = panelsNaming(d.panels, 'trakt_api_duration_seconds_bucket');
    expect(duration.map((p) => p.type)).toEqual(['timeseries', 'heatmap']);
    expect(duration[0]!.targets!.map((t) => t.legendFormat)).toEqual(['p50', 'p95', 'p99']);
    expect(duration[0]!.fieldConfig!.defaults.unit).toBe('s');
    expect(panelsNaming(d.panels, 'trakt_worker_pool_active').map((p) => p.type)).toEqual(['stat', 'timeseries']);
    expect(panelsNaming(d.panels, 'trakt_cache_hit_ratio').map((p) => p.type)).toEqual(['gauge', 'timeseries']);
    const health = panelsNaming(d.panels, 'trakt_health_status');
    expect(health.map((p) => p.title)).toEqual(['Service health', 'Health by check']);
    expect(d.panels.filter((p) => p.type === 'alertlist')).toHaveLength(1);
    expect(d.panels.filter((p) => p.type === 'row').map((p) => p.title)).toEqual([
      'Health and alerts',
      'Application (trakt_*)',
      'HTTP server',
      '@obs internals',
      'Node.js process',
    ]);
  });

  test("draws the rules' thresholds on the panels of the metrics they watch", () => {
    const [requests] = panelsNaming(d.panels, 'trakt_api_requests_total');
    expect(requests!.fieldConfig!.defaults.thresholds!.steps).toEqual([
      { color: 'green', value: null },
      { color: 'orange', value: 0.1 },
    ]);
    expect(requests!.fieldConfig!.defaults.custom!['thresholdsStyle']).toEqual({ mode: 'dashed' });
    // "fires below": red-ish under the value, green from it up.
    for (const p of panelsNaming(d.panels, 'trakt_cache_hit_ratio'))
      expect(p.fieldConfig!.defaults.thresholds!.steps).toEqual([
        { color: 'blue', value: null },
        { color: 'green', value: 0.5 },
      ]);
    const [exports] = panelsNaming(d.panels, 'trakt_export_operations_total');
    expect(exports!.fieldConfig!.defaults.thresholds!.steps).toEqual([{ color: 'green', value: null }]);
  });

  test('follows namespace and subsystem', () => {
    const sub = createMetrics({ namespace: 'trakt', subsystem: 'exporter', defaultMetrics: false }).descriptors();
    const ds = defaultDashboard({ metrics: sub, namespace: 'trakt', subsystem: 'exporter' });
    expect(validateDashboard(ds, { metrics: sub })).toEqual([]);
    expect(panelsNaming(ds.panels, 'trakt_exporter_health_status')).toHaveLength(2);
  });
});
