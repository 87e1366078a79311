import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { alertmanagerConfig as AlertmanagerConfigFn } from '@obs/alerts';
import {
  type AlertRuleDescriptor,
  type ConfigSection,
  loadConfig,
  type MetricDescriptor,
  type ObsConfig,
  ObsError,
  type ObsPlugin,
} from '@obs/core';
import { defaultDashboard, parseRuleFile, seedDashboard } from './generate.ts';
import type { Dashboard } from './model.ts';
import { dashboardsSection } from './plugin.ts';
import { composeStack, type GeneratedFiles, grafanaProvisioning } from './stack.ts';
import { assertValidDashboards } from './validate.ts';

const USAGE = `Usage: obs-dashboards <build|stack> --out <dir> [options]

  build   writes dashboards/<uid>.json and Grafana provisioning (datasource, dashboard provider)
  stack   writes docker-compose.yml, prometheus.yml, alertmanager.yml and grafana/ for the whole stack

Options:
  --out <dir>          output directory (required)
  --config <file>      the app's TOML config ([monitoring] table): namespace, subsystem, ports, alerts
  --namespace <ns>     metric namespace (default: from --config, else "trakt")
  --subsystem <sub>    metric subsystem (default: from --config, else "")
  --rules <file>       a Prometheus rule file whose thresholds are drawn on the panels
                       (stack: also copied to rules/, which prometheus.yml loads)
  --rule-files <glob>  (stack) rule files prometheus.yml loads, relative to it (default: rules/*.yml)
  --app-image <image>  (stack) image of the app service
  -h, --help           show this help
`;

const STACK_LINKS = [
  { title: 'Jaeger', url: 'http://localhost:16686' },
  { title: 'Prometheus alerts', url: 'http://localhost:9090/alerts' },
  { title: 'Alertmanager', url: 'http://localhost:9093' },
];

/** Where the CLI writes its messages. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

interface MetricsModule {
  createMetrics(options: { namespace: string; subsystem: string; defaultMetrics: boolean }): {
    descriptors(): MetricDescriptor[];
  };
  metricsPlugin(): Pick<ObsPlugin, 'configSection'>;
}

async function loadMetricsModule(): Promise<MetricsModule> {
  try {
    // An optional peer: only the CLI needs the metric set, so the plugin never imports @obs/metrics.
    return (await import('@obs/metrics')) as MetricsModule;
  } catch (err) {
    throw new ObsError(
      'OBS_ERR_DASHBOARDS_METRICS_MISSING',
      '[@obs/dashboards] obs-dashboards needs @obs/metrics to know the metric set: npm install @obs/metrics',
      { cause: err },
    );
  }
}

async function loadAlertmanagerConfig(): Promise<typeof AlertmanagerConfigFn> {
  try {
    // An optional peer, like @obs/metrics: the Alertmanager config is @obs/alerts' own, written once there.
    return (await import('@obs/alerts')).alertmanagerConfig;
  } catch (err) {
    throw new ObsError(
      'OBS_ERR_DASHBOARDS_ALERTS_MISSING',
      '[@obs/dashboards] obs-dashboards stack needs @obs/alerts for the Alertmanager config: npm install @obs/alerts',
      { cause: err },
    );
  }
}

// The app's config may set keys that other installed plugins add to their sections; without their
// schemas those keys would be rejected as unknown. Plugins that are not installed are skipped.
const OTHER_PLUGINS: readonly (readonly [string, string])[] = [
  ['@obs/tracing', 'tracingPlugin'],
  ['@obs/health', 'healthPlugin'],
  ['@obs/alerts', 'alertsPlugin'],
];

async function otherSections(): Promise<ConfigSection[]> {
  const sections: ConfigSection[] = [];
  for (const [specifier, factory] of OTHER_PLUGINS) {
    try {
      const mod = (await import(specifier)) as Record<string, unknown>;
      const make = mod[factory];
      if (typeof make !== 'function') continue;
      const section = (make as () => Pick<ObsPlugin, 'configSection'>)().configSection;
      if (section !== undefined) sections.push(section);
    } catch {
      // not installed
    }
  }
  return sections;
}

async function writeFiles(out: string, files: GeneratedFiles): Promise<string[]> {
  const written: string[] = [];
  for (const [path, content] of Object.entries(files)) {
    const target = join(out, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
    written.push(path);
  }
  return written;
}

/**
 * Runs `obs-dashboards build|stack`; returns the exit code (0 ok, 1 failure, 2 usage). Never throws.
 */
export async function runCli(argv: readonly string[], io: CliIo = process): Promise<number> {
  try {
    let parsed: ReturnType<typeof parse>;
    function parse() {
      return parseArgs({
        args: [...argv],
        allowPositionals: true,
        strict: true,
        options: {
          out: { type: 'string' },
          config: { type: 'string' },
          namespace: { type: 'string' },
          subsystem: { type: 'string' },
          rules: { type: 'string' },
          'rule-files': { type: 'string', multiple: true },
          'app-image': { type: 'string' },
          help: { type: 'boolean', short: 'h', default: false },
        },
      });
    }
    try {
      parsed = parse();
    } catch (err) {
      throw new ObsError('OBS_ERR_DASHBOARDS_USAGE', `[@obs/dashboards] ${(err as Error).message}`);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    const command = positionals[0];
    if (command !== 'build' && command !== 'stack')
      throw new ObsError(
        'OBS_ERR_DASHBOARDS_USAGE',
        `[@obs/dashboards] unknown command ${JSON.stringify(command ?? '')}`,
      );
    if (values.out === undefined)
      throw new ObsError('OBS_ERR_DASHBOARDS_USAGE', '[@obs/dashboards] --out <dir> is required');
    const metricsModule = await loadMetricsModule();
    const metricsSection = metricsModule.metricsPlugin().configSection;
    // The same config the app runs with: the file, then MONITORING_* from the environment.
    const config: ObsConfig = loadConfig({
      ...(values.config === undefined ? {} : { file: resolve(values.config) }),
      sections: [
        dashboardsSection,
        ...(metricsSection === undefined ? [] : [metricsSection]),
        ...(await otherSections()),
      ],
    });
    const namespace = values.namespace ?? config.prometheus.namespace;
    const subsystem = values.subsystem ?? config.prometheus.subsystem;
    let rules: AlertRuleDescriptor[] = [];
    let rulesText: string | undefined;
    if (values.rules !== undefined) {
      let text: string;
      try {
        text = await readFile(resolve(values.rules), 'utf8');
      } catch (err) {
        throw new ObsError(
          'OBS_ERR_DASHBOARDS_RULES',
          `[@obs/dashboards] cannot read ${values.rules}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      rules = parseRuleFile(text);
      rulesText = text;
    }
    const metrics = metricsModule.createMetrics({ namespace, subsystem, defaultMetrics: true }).descriptors();
    const d = config.dashboards;
    const dashboards: Dashboard[] = [
      ...(d.seed_dashboard ? [seedDashboard({ namespace, subsystem })] : []),
      defaultDashboard({
        metrics,
        rules,
        namespace,
        subsystem,
        uid: d.uid,
        title: d.title,
        // The stack publishes these ports on the Docker host.
        links: command === 'stack' ? STACK_LINKS : [],
      }),
    ];
    assertValidDashboards(dashboards, { metrics });
    const out = resolve(values.out);
    if (command === 'build') {
      const written = await writeFiles(out, grafanaProvisioning({ dashboards }));
      io.stdout.write(
        `obs-dashboards: wrote ${written.length} files to ${out}\n${written.map((f) => `  ${f}\n`).join('')}`,
      );
      return 0;
    }
    const alertmanagerConfig = await loadAlertmanagerConfig();
    const stack = composeStack({
      config,
      dashboards,
      alertmanager: alertmanagerConfig({ config: config.alerts }),
      ...(values['rule-files'] === undefined ? {} : { ruleFiles: values['rule-files'] }),
      ...(values['app-image'] === undefined ? {} : { images: { app: values['app-image'] } }),
    });
    // The rules whose thresholds the dashboards draw are the ones Prometheus loads.
    const files =
      rulesText === undefined || values['rule-files'] !== undefined
        ? stack.files
        : { ...stack.files, [`rules/${basename(values.rules!).replace(/\.ya?ml$/, '')}.yml`]: rulesText };
    const written = await writeFiles(out, files);
    await mkdir(join(out, 'rules'), { recursive: true });
    io.stdout.write(
      `obs-dashboards: wrote ${written.length} files to ${out}\n${written.map((f) => `  ${f}\n`).join('')}`,
    );
    if (rulesText === undefined)
      io.stdout.write('  rules/ (put the Prometheus rule files exported by @obs/alerts here)\n');
    for (const s of stack.secrets) io.stdout.write(`  secret to provide: ${s.path} (${s.content}), not written\n`);
    return 0;
  } catch (err) {
    const usage = err instanceof ObsError && err.code === 'OBS_ERR_DASHBOARDS_USAGE';
    io.stderr.write(`obs-dashboards: ${(err as Error).message}\n${usage ? `\n${USAGE}` : ''}`);
    return usage ? 2 : 1;
  }
}
