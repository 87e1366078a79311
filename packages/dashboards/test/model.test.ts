import { defaultDashboard as grafanaDefaultDashboard } from '@grafana/schema';
import { ObsError } from '@obs/core';
import { describe, expect, test } from 'vitest';
import {
  alertListPanel,
  assertValidDashboards,
  createDashboardBuilder,
  type Dashboard,
  DashboardValidationError,
  datasourceVariable,
  gaugePanel,
  heatmapPanel,
  labelValuesVariable,
  SCHEMA_VERSION,
  statPanel,
  tablePanel,
  timeseriesPanel,
  urlLink,
  validateDashboard,
} from '../src/index.ts';

const metrics = [
  { name: 'trakt_api_requests_total', type: 'counter', help: 'API requests', labelNames: ['endpoint', 'status'] },
  {
    name: 'trakt_api_duration_seconds',
    type: 'histogram',
    help: 'API duration',
    labelNames: ['endpoint'],
    unit: 'seconds',
  },
] as const;

function sample(): Dashboard {
  return createDashboardBuilder({ uid: 'sample', title: 'Sample' })
    .variable(datasourceVariable())
    .variable(labelValuesVariable('job', 'trakt_api_requests_total'))
    .link(urlLink('Jaeger', 'http://localhost:16686'))
    .row('Requests')
    .panel(
      timeseriesPanel({
        title: 'rate',
        targets: [{ expr: 'rate(trakt_api_requests_total{job=~"$job"}[$__rate_interval])' }],
      }),
    )
    .panel(statPanel({ title: 'stat', targets: [{ expr: 'sum(trakt_api_requests_total)' }] }))
    .panel(gaugePanel({ title: 'gauge', targets: [{ expr: 'sum(trakt_api_requests_total)' }] }))
    .panel(tablePanel({ title: 'table', targets: [{ expr: 'trakt_api_requests_total' }] }))
    .panel(
      heatmapPanel({
        title: 'heatmap',
        targets: [{ expr: 'sum by (le) (rate(trakt_api_duration_seconds_bucket[5m]))' }],
      }),
    )
    .panel(alertListPanel({ title: 'alerts' }))
    .build();
}

describe('the builder', () => {
  test('places panels on the 24-column grid left to right, wrapping, with unique ids and refIds', () => {
    const d = sample();
    expect(d.schemaVersion).toBe(SCHEMA_VERSION);
    expect(d.panels.map((p) => [p.type, p.gridPos.x, p.gridPos.y, p.gridPos.w])).toEqual([
      ['row', 0, 0, 24],
      ['timeseries', 0, 1, 12],
      ['stat', 12, 1, 6],
      ['gauge', 18, 1, 6],
      ['table', 0, 9, 12],
      ['heatmap', 12, 9, 12],
      ['alertlist', 0, 17, 12],
    ]);
    expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
    expect(d.panels[1]!.targets![0]!.refId).toBe('A');
    expect(d.panels[4]!.targets![0]).toMatchObject({ format: 'table', instant: true });
    expect(d.panels[5]!.targets![0]).toMatchObject({ format: 'heatmap' });
    expect(d.panels[6]!.targets).toBeUndefined();
    expect(validateDashboard(d, { metrics: [...metrics] })).toEqual([]);
  });

  test('its schemaVersion is the one @grafana/schema 13 writes', () => {
    expect(SCHEMA_VERSION).toBe(grafanaDefaultDashboard.schemaVersion);
  });
});

describe('validation', () => {
  const broken = (change: (d: Dashboard) => void): Dashboard => {
    const d = sample();
    change(d);
    return d;
  };
  const pathsOf = (d: Dashboard) => validateDashboard(d, { metrics: [...metrics] }).map((i) => i.path);

  test('duplicate panel ids', () => {
    expect(
      pathsOf(
        broken((d) => {
          d.panels[2]!.id = d.panels[1]!.id;
        }),
      ),
    ).toEqual(['panels[2].id']);
  });
  test('panels outside the grid, and overlapping panels', () => {
    expect(
      pathsOf(
        broken((d) => {
          d.panels[3]!.gridPos.w = 7;
        }),
      ),
    ).toEqual(['panels[3].gridPos']);
    expect(
      pathsOf(
        broken((d) => {
          d.panels[2]!.gridPos.x = 8;
        }),
      ),
    ).toEqual(['panels[2].gridPos']);
  });
  test('undeclared variables; built-in ones are fine', () => {
    expect(
      pathsOf(
        broken((d) => {
          d.templating.list.splice(1, 1);
        }),
      ),
    ).toEqual(['panels[1].targets[0].expr']);
    expect(
      pathsOf(
        broken((d) => {
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable
          d.panels[1]!.title = 'per ${instance}';
        }),
      ),
    ).toEqual(['panels[1].title']);
  });
  test('PromQL that does not parse, and metrics that do not exist', () => {
    expect(
      pathsOf(
        broken((d) => {
          d.panels[2]!.targets![0]!.expr = 'sum(rate(x[5m]';
        }),
      ),
    ).toContain('panels[2].targets[0].expr');
    const issues = validateDashboard(
      broken((d) => {
        d.panels[2]!.targets![0]!.expr = 'sum({__name__="trakt_nope"}) + trakt_api_duration_seconds_count';
      }),
      { metrics: [...metrics] },
    );
    expect(issues.map((i) => i.message)).toEqual(['names trakt_nope, which is not a known metric']);
  });
  test('deprecated panel types and an old schemaVersion', () => {
    expect(
      pathsOf(
        broken((d) => {
          d.panels[1]!.type = 'graph';
        }),
      ),
    ).toEqual(['panels[1].type']);
    expect(
      pathsOf(
        broken((d) => {
          d.schemaVersion = 16;
        }),
      ),
    ).toEqual(['schemaVersion']);
  });
  test('assertValidDashboards throws every problem at once, and checks uids are unique', () => {
    const d = sample();
    let caught: unknown;
    try {
      assertValidDashboards([d, { ...d, panels: [] }], { metrics: [...metrics] });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DashboardValidationError);
    expect(caught).toBeInstanceOf(ObsError);
    expect((caught as ObsError).code).toBe('OBS_ERR_DASHBOARDS_INVALID');
    expect((caught as DashboardValidationError).issues.map((i) => i.path)).toEqual(['uid']);
  });
});
