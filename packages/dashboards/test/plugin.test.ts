import {
  type AlertRuleDescriptor,
  type ConfigInput,
  createMonitor,
  type Monitor,
  ObsConfigError,
  type ObsLogger,
  type ObsPlugin,
  silentLogger,
} from '@obs/core';
import { metricsPlugin } from '@obs/metrics';
import { testPluginContract } from '@obs/testing';
import { afterEach, describe, expect, test } from 'vitest';
import { type Dashboard, dashboardsPlugin, validateDashboard } from '../src/index.ts';

const base: ConfigInput = { metrics_port: 0, health_port: 0, host: '127.0.0.1' };

testPluginContract(() => dashboardsPlugin(), { listeners: ['metrics'], peers: () => [metricsPlugin()] });

function recordingLogger(): ObsLogger & { lines: string[] } {
  const lines: string[] = [];
  const log = (m: string): void => void lines.push(m);
  return { lines, debug: log, info: log, warn: log, error: log };
}

const rulesPlugin = (rules: AlertRuleDescriptor[]): ObsPlugin => ({
  name: 'test-rules',
  setup: (ctx) => ctx.provide('alerts.rules', () => rules),
});

let monitor: Monitor | undefined;
afterEach(async () => {
  await monitor?.stop();
  monitor = undefined;
});

async function start(
  plugins: ObsPlugin[],
  config: ConfigInput = {},
  logger: ObsLogger = silentLogger,
): Promise<Monitor> {
  // The seed's names and dashboard, which the demo's config.toml sets: the defaults are neutral.
  const seed = { prometheus: { namespace: 'trakt' }, dashboards: { seed_dashboard: true } } as ConfigInput;
  monitor = createMonitor({ config: { ...base, ...seed, ...config }, plugins, logger });
  await monitor.start();
  return monitor;
}

const get = (m: Monitor, path: string): Promise<Response> => fetch(new URL(path, m.url('metrics')));

describe('/dashboards on the metrics listener', () => {
  test('lists uids and titles, and serves each dashboard, generated from the live metric set', async () => {
    const logger = recordingLogger();
    const m = await start([metricsPlugin(), dashboardsPlugin()], {}, logger);
    const index = await get(m, '/dashboards');
    expect(index.status).toBe(200);
    expect(await index.json()).toEqual({
      dashboards: [
        {
          uid: 'export-trakt-4-letterboxd',
          title: 'Export Trakt 4 Letterboxd',
          url: '/dashboards/export-trakt-4-letterboxd.json',
          import_url: '/dashboards/export-trakt-4-letterboxd.json?import',
        },
        {
          uid: 'obs-overview',
          title: 'Service overview',
          url: '/dashboards/obs-overview.json',
          import_url: '/dashboards/obs-overview.json?import',
        },
      ],
    });
    const res = await get(m, '/dashboards/obs-overview.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const dashboard = (await res.json()) as Dashboard;
    // The default metrics started with the monitor are in it.
    expect(JSON.stringify(dashboard)).toContain('process_cpu_user_seconds_total');
    expect(validateDashboard(dashboard)).toEqual([]);
    expect((await get(m, '/dashboards/nope.json')).status).toBe(404);
    expect((await get(m, '/dashboards/../metrics')).status).not.toBe(500);
    // Without @obs/alerts: said once, however many requests.
    await get(m, '/dashboards/obs-overview.json');
    expect(logger.lines.filter((l) => l.includes('@obs/alerts is not installed'))).toHaveLength(1);
  });

  test("serves each dashboard bare (provisioning) and in the shape of Grafana's import API with ?import (issue 23)", async () => {
    const m = await start([metricsPlugin(), dashboardsPlugin()]);
    const bare = (await (await get(m, '/dashboards/obs-overview.json')).json()) as Dashboard;
    expect(bare).not.toHaveProperty('dashboard');
    expect(bare.uid).toBe('obs-overview');
    const res = await get(m, '/dashboards/obs-overview.json?import');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { dashboard: Dashboard & { id: unknown }; overwrite: boolean };
    expect(body.overwrite).toBe(true);
    expect(body.dashboard.id).toBeNull();
    expect({ ...body.dashboard, id: undefined }).toEqual({ ...bare, id: undefined });
    expect((await get(m, '/dashboards/nope.json?import')).status).toBe(404);
  });

  test('follows [monitoring.prometheus] namespace/subsystem and [monitoring.dashboards]', async () => {
    const m = await start([metricsPlugin(), dashboardsPlugin()], {
      prometheus: { namespace: 'trakt', subsystem: 'exporter' },
      dashboards: { endpoint: '/grafana', uid: 'mine', seed_dashboard: false },
    } as ConfigInput);
    const index = (await (await get(m, '/grafana')).json()) as { dashboards: { uid: string }[] };
    expect(index.dashboards.map((d) => d.uid)).toEqual(['mine']);
    const text = await (await get(m, '/grafana/mine.json')).text();
    expect(text).toContain('trakt_exporter_api_requests_total');
    expect(text).not.toContain('"trakt_api_requests_total');
  });

  test("draws the thresholds of the 'alerts.rules' service", async () => {
    const rule: AlertRuleDescriptor = {
      name: 'Cache Hit Ratio Low',
      expr: 'trakt_cache_hit_ratio < 0.5',
      threshold: 0.5,
      forMs: 600_000,
      severity: 'warning',
      labels: {},
      annotations: {},
    };
    const logger = recordingLogger();
    const m = await start([metricsPlugin(), rulesPlugin([rule]), dashboardsPlugin()], {}, logger);
    const d = (await (await get(m, '/dashboards/obs-overview.json')).json()) as Dashboard;
    const gauge = d.panels.find((p) => p.title === 'trakt_cache_hit_ratio');
    expect(gauge?.fieldConfig?.defaults.thresholds?.steps).toEqual([
      { color: 'orange', value: null },
      { color: 'green', value: 0.5 },
    ]);
    expect(logger.lines.filter((l) => l.includes('@obs/alerts'))).toEqual([]);
  });

  test('without @obs/metrics: serves the seed dashboard and says so once', async () => {
    const logger = recordingLogger();
    const m = await start([dashboardsPlugin()], {}, logger);
    const index = (await (await get(m, '/dashboards')).json()) as { dashboards: { uid: string }[] };
    expect(index.dashboards.map((d) => d.uid)).toEqual(['export-trakt-4-letterboxd']);
    await get(m, '/dashboards');
    expect(logger.lines.filter((l) => l.includes('@obs/metrics is not installed'))).toHaveLength(1);
  });

  test('a generation failure is reported, answers 500, and never reaches the host', async () => {
    const broken: ObsPlugin = {
      name: 'broken-metrics',
      setup: (ctx) =>
        ctx.provide('metrics.descriptors', () => [{ name: 'bad name', type: 'counter', help: '', labelNames: [] }]),
    };
    const errors: unknown[] = [];
    const m = await start([broken, dashboardsPlugin()]);
    m.bus.on('obs:error', (e) => void errors.push(e.error));
    expect((await get(m, '/dashboards')).status).toBe(500);
    expect(errors).toMatchObject([
      { code: 'OBS_ERR_DASHBOARDS_GENERATE', cause: { code: 'OBS_ERR_DASHBOARDS_INVALID' } },
    ]);
  });
});

describe('options', () => {
  test('bad options throw early with every problem', () => {
    let caught: unknown;
    try {
      dashboardsPlugin({ uid: 'no spaces allowed', title: '', links: [{ title: 'x', url: 'not a url' }] });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ObsConfigError);
    expect((caught as ObsConfigError).code).toBe('OBS_ERR_CONFIG_INVALID');
    expect((caught as ObsConfigError).issues.map((i) => i.path)).toEqual(['uid', 'title', 'links[0]']);
  });

  test('bad [monitoring.dashboards] keys fail the config', () => {
    expect(() =>
      createMonitor({
        config: { ...base, dashboards: { endpoint: 'x' } } as ConfigInput,
        plugins: [dashboardsPlugin()],
      }),
    ).toThrow(ObsConfigError);
  });
});
