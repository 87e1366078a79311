// The subset of Grafana's dashboard JSON (schemaVersion 42, as @grafana/schema 13 defines it) that the
// generators write. Plain data: what JSON.stringify gives is what Grafana imports.

/** The dashboard JSON schema version current Grafana (12.x / @grafana/schema 13) writes. */
export const SCHEMA_VERSION = 42;

/** The grid is 24 columns wide. */
export const GRID_COLUMNS = 24;

/** A reference to a data source; `uid` may be a variable such as `${datasource}`. */
export interface DataSourceRef {
  type?: string;
  uid?: string;
}

/** Where a panel sits: columns `x`..`x+w` of 24, rows `y`..`y+h`. */
export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** One step of a threshold scale; the first has `value: null` (minus infinity). */
export interface Threshold {
  color: string;
  value: number | null;
}

/** Thresholds of a panel's values. */
export interface ThresholdsConfig {
  mode: 'absolute' | 'percentage';
  steps: Threshold[];
}

/** A value-to-text mapping (health status 1 = healthy...). */
export interface ValueMapping {
  type: 'value';
  options: Record<string, { text: string; color?: string; index?: number }>;
}

/** A link shown on a panel or on the dashboard. */
export interface DashboardLink {
  title: string;
  type: 'link' | 'dashboards';
  url: string;
  icon: string;
  tooltip: string;
  tags: string[];
  asDropdown: boolean;
  includeVars: boolean;
  keepTime: boolean;
  targetBlank: boolean;
}

/** A link on a panel (data links / panel links). */
export interface PanelLink {
  title: string;
  url: string;
  targetBlank?: boolean;
}

/** A Prometheus query of a panel. */
export interface PrometheusTarget {
  refId: string;
  datasource?: DataSourceRef;
  expr: string;
  legendFormat?: string;
  /** `time_series` for graphs, `table` for tables, `heatmap` for bucket heatmaps. */
  format?: 'time_series' | 'table' | 'heatmap';
  instant?: boolean;
  range?: boolean;
  editorMode?: 'code';
}

/** The panel types the builder makes. */
export type PanelType = 'timeseries' | 'stat' | 'table' | 'heatmap' | 'gauge' | 'alertlist';

/** Field defaults and overrides of a panel. */
export interface FieldConfigSource {
  defaults: {
    unit?: string;
    min?: number;
    max?: number;
    decimals?: number;
    thresholds?: ThresholdsConfig;
    mappings?: ValueMapping[];
    color?: { mode: string };
    custom?: Record<string, unknown>;
  };
  overrides: unknown[];
}

/** A panel, or a row (`type: 'row'`). */
export interface Panel {
  id: number;
  type: PanelType | 'row' | (string & {});
  title: string;
  gridPos: GridPos;
  description?: string;
  datasource?: DataSourceRef;
  targets?: PrometheusTarget[];
  fieldConfig?: FieldConfigSource;
  options?: Record<string, unknown>;
  links?: PanelLink[];
  /** Rows only. */
  collapsed?: boolean;
  /** Rows only: the panels of a collapsed row. */
  panels?: Panel[];
}

/** A template variable. */
export interface VariableModel {
  type: 'datasource' | 'query' | 'custom' | 'constant' | 'interval' | 'textbox';
  name: string;
  label?: string;
  query: string | { query: string; refId: string; qryType?: number };
  datasource?: DataSourceRef;
  definition?: string;
  refresh?: 0 | 1 | 2;
  includeAll?: boolean;
  multi?: boolean;
  allValue?: string;
  current?: { text?: string | string[]; value?: string | string[]; selected?: boolean };
  hide?: 0 | 1 | 2;
  regex?: string;
  sort?: number;
  options?: unknown[];
}

/** A whole dashboard, as Grafana imports and provisions it. */
export interface Dashboard {
  uid: string;
  title: string;
  description?: string;
  tags: string[];
  timezone: string;
  editable: boolean;
  graphTooltip: 0 | 1 | 2;
  time: { from: string; to: string };
  refresh: string;
  schemaVersion: number;
  version: number;
  panels: Panel[];
  templating: { list: VariableModel[] };
  annotations: { list: unknown[] };
  links: DashboardLink[];
}

/** What every panel factory takes. */
export interface PanelOptions {
  title: string;
  description?: string;
  /** PromQL queries; `refId`s are assigned A, B, C... when missing. */
  targets?: readonly (Omit<PrometheusTarget, 'refId'> & { refId?: string })[];
  /** A Grafana unit id: `s`, `bytes`, `percentunit`, `reqps`, `ops`, `short`. */
  unit?: string;
  min?: number;
  max?: number;
  decimals?: number;
  thresholds?: readonly Threshold[];
  /** How a timeseries draws its thresholds. @default "off" (or "dashed" when thresholds are given) */
  thresholdsStyle?: 'off' | 'line' | 'dashed' | 'area' | 'line+area' | 'dashed+area';
  mappings?: readonly ValueMapping[];
  links?: readonly PanelLink[];
  options?: Record<string, unknown>;
  /** Width in grid columns (1..24). */
  width?: number;
  /** Height in grid rows. */
  height?: number;
}

/** A panel before the builder places it and numbers it. */
export interface PanelSpec {
  readonly panel: Omit<Panel, 'id' | 'gridPos'>;
  readonly width: number;
  readonly height: number;
}

/** The `${datasource}` reference every generated panel uses. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable, not a JS template
export const DATASOURCE_VARIABLE_REF: DataSourceRef = Object.freeze({ type: 'prometheus', uid: '${datasource}' });

const REF_IDS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function makePanel(type: PanelType, o: PanelOptions, defaults: { width: number; height: number }): PanelSpec {
  const thresholds: ThresholdsConfig = {
    mode: 'absolute',
    steps: o.thresholds === undefined ? [{ color: 'green', value: null }] : o.thresholds.map((t) => ({ ...t })),
  };
  const custom: Record<string, unknown> = {};
  if (type === 'timeseries') {
    custom['drawStyle'] = 'line';
    custom['lineWidth'] = 1;
    custom['fillOpacity'] = 10;
    custom['showPoints'] = 'never';
    custom['thresholdsStyle'] = {
      mode: o.thresholdsStyle ?? (o.thresholds !== undefined && o.thresholds.length > 1 ? 'dashed' : 'off'),
    };
  }
  const panel: Omit<Panel, 'id' | 'gridPos'> = {
    type,
    title: o.title,
    ...(o.description === undefined ? {} : { description: o.description }),
    datasource: { ...DATASOURCE_VARIABLE_REF },
    targets: (o.targets ?? []).map((t, i) => ({
      datasource: { ...DATASOURCE_VARIABLE_REF },
      editorMode: 'code',
      ...t,
      refId: t.refId ?? REF_IDS[i % REF_IDS.length]!,
    })),
    fieldConfig: {
      defaults: {
        ...(o.unit === undefined ? {} : { unit: o.unit }),
        ...(o.min === undefined ? {} : { min: o.min }),
        ...(o.max === undefined ? {} : { max: o.max }),
        ...(o.decimals === undefined ? {} : { decimals: o.decimals }),
        thresholds,
        mappings: (o.mappings ?? []).map((m) => ({ ...m })),
        color: { mode: type === 'timeseries' ? 'palette-classic' : 'thresholds' },
        custom,
      },
      overrides: [],
    },
    options: { ...o.options },
    ...(o.links === undefined ? {} : { links: o.links.map((l) => ({ ...l })) }),
  };
  return { panel, width: o.width ?? defaults.width, height: o.height ?? defaults.height };
}

/** A time series panel (what Grafana's removed `graph` panel became). */
export function timeseriesPanel(options: PanelOptions): PanelSpec {
  return makePanel(
    'timeseries',
    {
      ...options,
      options: {
        legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
        tooltip: { mode: 'multi', sort: 'desc' },
        ...options.options,
      },
    },
    { width: 12, height: 8 },
  );
}

/** A stat panel: one big number per series. */
export function statPanel(options: PanelOptions): PanelSpec {
  return makePanel(
    'stat',
    {
      ...options,
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: 'value',
        graphMode: 'area',
        textMode: 'auto',
        ...options.options,
      },
    },
    { width: 6, height: 8 },
  );
}

/** A gauge panel. */
export function gaugePanel(options: PanelOptions): PanelSpec {
  return makePanel(
    'gauge',
    {
      ...options,
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        showThresholdMarkers: true,
        showThresholdLabels: false,
        ...options.options,
      },
    },
    { width: 6, height: 8 },
  );
}

/** A table panel; its targets default to instant queries in table format. */
export function tablePanel(options: PanelOptions): PanelSpec {
  return makePanel(
    'table',
    {
      ...options,
      targets: (options.targets ?? []).map((t) => ({ format: 'table', instant: true, range: false, ...t })),
      options: { showHeader: true, cellHeight: 'sm', ...options.options },
    },
    { width: 12, height: 8 },
  );
}

/** A heatmap of histogram buckets; its targets default to the `heatmap` format. */
export function heatmapPanel(options: PanelOptions): PanelSpec {
  return makePanel(
    'heatmap',
    {
      ...options,
      targets: (options.targets ?? []).map((t) => ({ format: 'heatmap', legendFormat: '{{le}}', ...t })),
      options: {
        calculate: false,
        yAxis: { axisPlacement: 'left', ...(options.unit === undefined ? {} : { unit: options.unit }) },
        color: { mode: 'scheme', scheme: 'Oranges', steps: 64 },
        cellGap: 1,
        tooltip: { mode: 'single', yHistogram: false },
        ...options.options,
      },
    },
    { width: 12, height: 8 },
  );
}

/** An alert list: the firing and pending alerts (Grafana-managed and data-source-managed rules). */
export function alertListPanel(options: Omit<PanelOptions, 'targets'>): PanelSpec {
  const spec = makePanel(
    'alertlist',
    {
      ...options,
      options: {
        viewMode: 'list',
        groupMode: 'default',
        groupBy: [],
        maxItems: 20,
        sortOrder: 1,
        dashboardAlerts: false,
        alertName: '',
        alertInstanceLabelFilter: '',
        datasource: 'Prometheus',
        stateFilter: { firing: true, pending: true, noData: false, normal: false, error: true },
        ...options.options,
      },
    },
    { width: 12, height: 8 },
  );
  const { targets: _targets, datasource: _ds, ...panel } = spec.panel;
  return { ...spec, panel };
}

/** A datasource variable named `datasource` picking a Prometheus data source. */
export function datasourceVariable(name: string = 'datasource', label: string = 'Data source'): VariableModel {
  return { type: 'datasource', name, label, query: 'prometheus', refresh: 1, hide: 0, regex: '', current: {} };
}

/** A multi-value query variable over `label_values(<metric>, <label>)`, with "All" meaning `.*`. */
export function labelValuesVariable(name: string, metricSelector: string, label: string = name): VariableModel {
  const query = `label_values(${metricSelector}, ${label})`;
  return {
    type: 'query',
    name,
    label: name,
    datasource: { ...DATASOURCE_VARIABLE_REF },
    definition: query,
    query: { query, refId: 'PrometheusVariableQueryEditor-VariableQuery', qryType: 1 },
    refresh: 2,
    includeAll: true,
    multi: true,
    allValue: '.*',
    current: { text: ['All'], value: ['$__all'] },
    hide: 0,
    regex: '',
    sort: 1,
    options: [],
  };
}

/** A dashboard link to a URL. */
export function urlLink(
  title: string,
  url: string,
  options: Partial<Omit<DashboardLink, 'url' | 'title'>> = {},
): DashboardLink {
  return {
    title,
    type: 'link',
    url,
    icon: 'external link',
    tooltip: '',
    tags: [],
    asDropdown: false,
    includeVars: false,
    keepTime: false,
    targetBlank: true,
    ...options,
  };
}

/** Options of {@link createDashboardBuilder}. */
export interface DashboardBuilderOptions {
  uid: string;
  title: string;
  description?: string;
  /** @default [] */
  tags?: readonly string[];
  /** @default "30s" */
  refresh?: string;
  /** @default { from: "now-6h", to: "now" } */
  time?: { from: string; to: string };
}

/** Places panels left to right on the 24-column grid, row by row, and numbers them. */
export interface DashboardBuilder {
  /** Declares a template variable. */
  variable(variable: VariableModel): DashboardBuilder;
  /** Adds a dashboard link. */
  link(link: DashboardLink): DashboardBuilder;
  /** Starts a (non-collapsed) row: the next panels go under it. */
  row(title: string): DashboardBuilder;
  /** Adds a panel after the previous one, wrapping to a new line when the 24 columns are full. */
  panel(spec: PanelSpec): DashboardBuilder;
  /** The dashboard JSON. */
  build(): Dashboard;
}

/** A builder for one dashboard. */
export function createDashboardBuilder(options: DashboardBuilderOptions): DashboardBuilder {
  const panels: Panel[] = [];
  const variables: VariableModel[] = [];
  const links: DashboardLink[] = [];
  let nextId = 1;
  let x = 0;
  let y = 0;
  let lineHeight = 0;
  const newLine = (): void => {
    y += lineHeight;
    x = 0;
    lineHeight = 0;
  };
  const builder: DashboardBuilder = {
    variable(variable) {
      variables.push(variable);
      return builder;
    },
    link(link) {
      links.push(link);
      return builder;
    },
    row(title) {
      newLine();
      panels.push({
        id: nextId++,
        type: 'row',
        title,
        collapsed: false,
        panels: [],
        gridPos: { x: 0, y, w: GRID_COLUMNS, h: 1 },
      });
      y += 1;
      return builder;
    },
    panel(spec) {
      const w = Math.min(Math.max(1, Math.trunc(spec.width)), GRID_COLUMNS);
      const h = Math.max(1, Math.trunc(spec.height));
      if (x + w > GRID_COLUMNS) newLine();
      panels.push({ ...spec.panel, id: nextId++, gridPos: { x, y, w, h } } as Panel);
      x += w;
      lineHeight = Math.max(lineHeight, h);
      return builder;
    },
    build() {
      return {
        uid: options.uid,
        title: options.title,
        ...(options.description === undefined ? {} : { description: options.description }),
        tags: [...(options.tags ?? [])],
        timezone: 'browser',
        editable: true,
        graphTooltip: 1,
        time: { ...(options.time ?? { from: 'now-6h', to: 'now' }) },
        refresh: options.refresh ?? '30s',
        schemaVersion: SCHEMA_VERSION,
        version: 1,
        panels: structuredClone(panels),
        templating: { list: structuredClone(variables) },
        annotations: {
          list: [
            {
              builtIn: 1,
              datasource: { type: 'grafana', uid: '-- Grafana --' },
              enable: true,
              hide: true,
              iconColor: 'rgba(0, 211, 255, 1)',
              name: 'Annotations & Alerts',
              type: 'dashboard',
            },
          ],
        },
        links: structuredClone(links),
      };
    },
  };
  return builder;
}
