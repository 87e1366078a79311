import {
  type AlertRuleDescriptor,
  type ConfigIssue,
  type ConfigSection,
  type MetricDescriptor,
  ObsConfigError,
  type ObsPlugin,
  type PluginContext,
  z,
} from '@obs/core';
import { dashboardsError } from './errors.ts';
import { defaultDashboard, seedDashboard } from './generate.ts';
import type { Dashboard } from './model.ts';
import { assertValidDashboards } from './validate.ts';

/** `[monitoring.dashboards]`. */
export interface DashboardsConfig {
  /** @default true */
  readonly enabled: boolean;
  /** Path of the dashboard index on the metrics listener; `<endpoint>/<uid>.json` serves each. @default "/dashboards" */
  readonly endpoint: string;
  /** uid of the generated dashboard. @default "obs-overview" */
  readonly uid: string;
  /** Title of the generated dashboard. @default "Service overview" */
  readonly title: string;
  /** Also serve the seed's three-panel dashboard ("Export Trakt 4 Letterboxd": API requests, cache, exports). @default false */
  readonly seed_dashboard: boolean;
}

declare module '@obs/core' {
  interface ObsConfigSections {
    /** `[monitoring.dashboards]`, added by @obs/dashboards. */
    readonly dashboards: DashboardsConfig;
  }
}

const UID = /^[A-Za-z0-9_-]{1,40}$/;

/** The `[monitoring.dashboards]` section @obs/dashboards adds. */
export const dashboardsSection: ConfigSection = {
  name: 'dashboards',
  schema: z.strictObject({
    enabled: z.boolean().default(true),
    endpoint: z
      .string()
      .regex(/^\/[^\s?#]*[^/\s?#]$/, { message: 'must be a path starting with "/" (not "/" alone)' })
      .default('/dashboards'),
    uid: z
      .string()
      .regex(UID, { message: 'must be 1 to 40 characters of A-Z, a-z, 0-9, - and _' })
      .default('obs-overview'),
    title: z.string().min(1).default('Service overview'),
    seed_dashboard: z.boolean().default(false),
  }),
};

/** Options of {@link dashboardsPlugin}; they override `[monitoring.dashboards]`. */
export interface DashboardsPluginOptions {
  /** @default config `uid` */
  readonly uid?: string;
  /** @default config `title` */
  readonly title?: string;
  /** @default config `seed_dashboard` */
  readonly seedDashboard?: boolean;
  /** Links on the generated dashboard (Jaeger, Alertmanager...). @default [] */
  readonly links?: readonly { readonly title: string; readonly url: string }[];
}

/** The dashboards plugin, with the dashboards of the live metric set. */
export interface DashboardsPlugin extends ObsPlugin {
  readonly name: '@obs/dashboards';
  /**
   * The dashboards now (generated from the live metric set and rules), validated.
   * @throws ObsError `OBS_ERR_MONITOR_STATE` before setup; `OBS_ERR_DASHBOARDS_INVALID` if one fails validation.
   */
  dashboards(): Dashboard[];
}

function resolveOptions(input: DashboardsPluginOptions): DashboardsPluginOptions {
  const issues: ConfigIssue[] = [];
  if (input.uid !== undefined && !UID.test(input.uid))
    issues.push({ path: 'uid', message: 'must be 1 to 40 characters of A-Z, a-z, 0-9, - and _' });
  if (input.title !== undefined && (typeof input.title !== 'string' || input.title.trim() === ''))
    issues.push({ path: 'title', message: 'must be a non-empty string' });
  if (input.seedDashboard !== undefined && typeof input.seedDashboard !== 'boolean')
    issues.push({ path: 'seedDashboard', message: 'must be a boolean' });
  for (const [i, link] of (input.links ?? []).entries())
    if (typeof link?.title !== 'string' || typeof link.url !== 'string' || !URL.canParse(link.url))
      issues.push({ path: `links[${i}]`, message: 'must be { title, url } with an absolute URL' });
  if (issues.length > 0) throw new ObsConfigError('@obs/dashboards', issues);
  return Object.freeze({ ...input, links: Object.freeze([...(input.links ?? [])]) });
}

/**
 * Grafana dashboards of the live metric set, served on the metrics listener: `<endpoint>` lists uids
 * and titles, `<endpoint>/<uid>.json` is each dashboard as provisioning reads it, and `<endpoint>/<uid>.json?import`
 * the same in the shape of Grafana's HTTP API (`{ dashboard, overwrite: true }`). Thresholds come from `alerts.rules` when
 * @obs/alerts is installed; without it the dashboards have no threshold lines (logged once).
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` for bad options.
 */
export function dashboardsPlugin(options: DashboardsPluginOptions = {}): DashboardsPlugin {
  const opts = resolveOptions(options);
  let ctx: PluginContext | undefined;
  let warnedMetrics = false;
  let warnedRules = false;

  const descriptors = (c: PluginContext): readonly MetricDescriptor[] | undefined => {
    if (c.has('metrics.descriptors')) return c.need('metrics.descriptors')();
    if (!warnedMetrics) {
      warnedMetrics = true;
      c.logger.warn('[@obs/dashboards] @obs/metrics is not installed: only the seed dashboard is served');
    }
    return undefined;
  };
  const rules = (c: PluginContext): readonly AlertRuleDescriptor[] => {
    if (c.has('alerts.rules')) return c.need('alerts.rules')();
    if (!warnedRules) {
      warnedRules = true;
      c.logger.info('[@obs/dashboards] @obs/alerts is not installed: the dashboards have no alert threshold lines');
    }
    return [];
  };

  const generate = (): Dashboard[] => {
    const c = ctx;
    if (c === undefined)
      throw dashboardsError(
        'OBS_ERR_MONITOR_STATE',
        '[@obs/dashboards] the dashboards exist once the plugin is set up',
      );
    const cfg = c.config.dashboards;
    const { namespace, subsystem } = c.config.prometheus;
    const metrics = descriptors(c);
    const list: Dashboard[] = [];
    if (opts.seedDashboard ?? cfg.seed_dashboard) list.push(seedDashboard({ namespace, subsystem }));
    if (metrics !== undefined) {
      list.push(
        defaultDashboard({
          metrics,
          rules: rules(c),
          namespace,
          subsystem,
          uid: opts.uid ?? cfg.uid,
          title: opts.title ?? cfg.title,
          links: opts.links ?? [],
        }),
      );
    }
    assertValidDashboards(list, metrics === undefined ? {} : { metrics });
    return list;
  };

  return {
    name: '@obs/dashboards',
    section: 'dashboards',
    configSection: dashboardsSection,
    dashboards: generate,
    setup(context) {
      ctx = context;
      const base = context.config.dashboards.endpoint;
      context.endpoints.mount('metrics', base, (req, res) => {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          res.status(405).set('Allow', 'GET, HEAD').json({ error: 'method not allowed' });
          return;
        }
        let list: Dashboard[];
        try {
          // Generated per request: the metric set grows after start (default metrics, the app's own).
          list = generate();
        } catch (err) {
          context.reportError(
            dashboardsError(
              'OBS_ERR_DASHBOARDS_GENERATE',
              `[@obs/dashboards] generation failed: ${(err as Error).message}`,
              {
                cause: err,
              },
            ),
          );
          res.status(500).json({ error: 'dashboard generation failed' });
          return;
        }
        if (req.path === '/' || req.path === '') {
          res.json({
            dashboards: list.map((d) => ({
              uid: d.uid,
              title: d.title,
              url: `${base}/${d.uid}.json`,
              import_url: `${base}/${d.uid}.json?import`,
            })),
          });
          return;
        }
        const match = /^\/([A-Za-z0-9_-]{1,40})\.json$/.exec(req.path);
        const found = match === null ? undefined : list.find((d) => d.uid === match[1]);
        if (found === undefined) {
          res.status(404).json({ error: 'no such dashboard' });
          return;
        }
        // Two shapes of one dashboard: bare for provisioning (a file provider reads the dashboard itself), and
        // wrapped for Grafana's HTTP API (POST /api/dashboards/db and /api/dashboards/import take
        // { dashboard, overwrite }, with a null id so that Grafana matches on uid and creates or replaces it).
        if (req.query['import'] !== undefined) {
          res.json({ dashboard: { ...found, id: null }, overwrite: true });
          return;
        }
        res.json(found);
      });
    },
    async stop() {
      ctx = undefined;
    },
  };
}
