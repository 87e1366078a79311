import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, test } from 'vitest';
import {
  type ConfigIssue,
  configDuration,
  defaultServiceName,
  loadConfig,
  ObsConfigError,
  resolveConfigPath,
  z,
} from '../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'obs-config-'));
let n = 0;
function file(text: string): string {
  const path = join(dir, `config-${n++}.toml`);
  writeFileSync(path, text);
  return path;
}

function issuesOf(run: () => unknown): readonly ConfigIssue[] {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ObsConfigError);
    expect((err as ObsConfigError).code).toBe('OBS_ERR_CONFIG_INVALID');
    return (err as ObsConfigError).issues;
  }
  throw new Error('expected an ObsConfigError');
}

const SEED = `
[monitoring]
enabled = true
metrics_port = 8081
health_port = 8082

[monitoring.prometheus]
enabled = true
endpoint = "/metrics"
namespace = "trakt"
subsystem = "exporter"

[monitoring.tracing]
enabled = true
service_name = "export-trakt-4-letterboxd"
endpoint = "http://jaeger:14268/api/traces"
sample_rate = 0.1

[monitoring.health]
enabled = true
endpoint = "/health"
checks_interval = "30s"

[monitoring.alerts]
enabled = true
smtp_host = "smtp.gmail.com"
smtp_port = 587
webhook_url = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"
`;

// What @obs/alerts declares in [monitoring.alerts], reduced to the keys these tests read.
const alertsLike = {
  name: 'alerts',
  schema: z.strictObject({
    smtp_host: z.string().default(''),
    smtp_user: z.string().default(''),
    smtp_password: z.string().default(''),
    email_to: z.array(z.string()).default([]),
    webhook_url: z.string().default(''),
    rules_file: z.string().default(''),
  }),
};

describe('loadConfig', () => {
  test("with nothing given, the defaults are the seed's but neutral: no Trakt name in them (issue #13)", () => {
    const config = loadConfig({ env: {} });
    expect(config).toMatchObject({
      enabled: true,
      metrics_port: 8081,
      health_port: 8082,
      host: '0.0.0.0',
      prometheus: {
        enabled: true,
        endpoint: '/metrics',
        namespace: '',
        subsystem: '',
        default_metrics: true,
        collect_interval: 15_000,
      },
      tracing: {
        enabled: true,
        service_name: defaultServiceName(),
        endpoint: '',
        sample_rate: 0.1,
        exporter: 'auto',
      },
      health: { enabled: true, endpoint: '/health', checks_interval: 30_000, timeout: 5_000, show_details: 'always' },
    });
  });

  test('[monitoring.alerts] is declared by @obs/alerts alone: without it the section loads and is ignored (issue #13)', () => {
    const seed = loadConfig({ file: file(SEED), env: {} });
    expect(seed.alerts).toMatchObject({ smtp_host: 'smtp.gmail.com' });
    // With the plugin's section, its keys are the only ones: an unknown key is an error, as everywhere else.
    const issues = issuesOf(() =>
      loadConfig({ file: file('[monitoring.alerts]\nsmtp_hots = "x"\n'), env: {}, sections: [alertsLike] }),
    );
    expect(issues.map((i) => i.path)).toEqual(['monitoring.alerts.smtp_hots']);
  });

  test("the service name is the app's package name, else OpenTelemetry's unknown_service:node", () => {
    expect(defaultServiceName('/', { npm_package_name: 'my-app' })).toBe('my-app');
    const app = mkdtempSync(join(tmpdir(), 'obs-app-'));
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'billing-worker' }));
    mkdirSync(join(app, 'src'));
    expect(defaultServiceName(join(app, 'src'), {})).toBe('billing-worker');
    expect(defaultServiceName('/', {})).toBe('unknown_service:node');
  });

  test("reads the seed's own config file", () => {
    const config = loadConfig({ file: file(SEED), env: {} });
    expect(config.prometheus.subsystem).toBe('exporter');
    expect(config.tracing.endpoint).toBe('http://jaeger:14268/api/traces');
    expect(config.health.checks_interval).toBe(30_000);
  });

  test("ignores the app's other tables in the same file", () => {
    const config = loadConfig({
      file: file('[trakt]\nclient_id = "x"\n[letterboxd]\nexport_dir = "./out"\n'),
      env: {},
    });
    expect(config.metrics_port).toBe(8081);
  });

  test('environment overrides the file, and overrides win over both', () => {
    const path = file('[monitoring]\nmetrics_port = 9000\n[monitoring.tracing]\nsample_rate = 0.5\n');
    const config = loadConfig({
      file: path,
      env: {
        MONITORING_ENABLED: 'false',
        MONITORING_METRICS_PORT: '9100',
        MONITORING_HEALTH_PORT: '9101',
        MONITORING_TRACING_SAMPLE_RATE: '0.25',
        MONITORING_PROMETHEUS_DEFAULT_METRICS: 'no',
        MONITORING_ALERTS_EMAIL_TO: 'a@example.com, b@example.com',
        MONITORING_HEALTH_CHECKS_INTERVAL: '1m',
        UNRELATED: 'x',
      },
      overrides: { tracing: { sample_rate: 1 } },
      sections: [alertsLike],
    });
    expect(config.enabled).toBe(false);
    expect(config.metrics_port).toBe(9100);
    expect(config.health_port).toBe(9101);
    expect(config.tracing.sample_rate).toBe(1);
    expect(config.prometheus.default_metrics).toBe(false);
    expect((config.alerts as { email_to?: unknown }).email_to).toEqual(['a@example.com', 'b@example.com']);
    expect(config.health.checks_interval).toBe(60_000);
  });

  test('reports every problem at once, each with file, line and column', () => {
    const path = file(
      [
        '[monitoring]',
        'metrics_port = 70000',
        'health_port = "8082"',
        '',
        '[monitoring.tracing]',
        'sample_rate = 1.5',
        'sampel_rate = 0.2',
        '',
        '[monitoring.health]',
        'checks_interval = "-5s"',
        '  timeout = "soon"',
      ].join('\n'),
    );
    const issues = issuesOf(() => loadConfig({ file: path, env: {} }));
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    expect(Object.keys(byPath).sort()).toEqual([
      'monitoring.health.checks_interval',
      'monitoring.health.timeout',
      'monitoring.health_port',
      'monitoring.metrics_port',
      'monitoring.tracing.sampel_rate',
      'monitoring.tracing.sample_rate',
    ]);
    expect(byPath['monitoring.metrics_port']).toMatchObject({ file: path, line: 2, column: 1 });
    expect(byPath['monitoring.metrics_port']!.message).toContain('70000');
    expect(byPath['monitoring.health_port']).toMatchObject({ line: 3 });
    expect(byPath['monitoring.tracing.sample_rate']).toMatchObject({ line: 6, message: 'must be at most 1 (got 1.5)' });
    expect(byPath['monitoring.tracing.sampel_rate']).toMatchObject({ line: 7 });
    expect(byPath['monitoring.tracing.sampel_rate']!.message).toContain('did you mean "sample_rate"');
    expect(byPath['monitoring.health.checks_interval']).toMatchObject({ line: 10 });
    expect(byPath['monitoring.health.checks_interval']!.message).toContain('positive');
    expect(byPath['monitoring.health.timeout']).toMatchObject({ line: 11, column: 3 });
  });

  test('an unknown section gets a "did you mean" at its header', () => {
    const path = file('[monitoring]\nenabled = true\n\n[monitoring.tracng]\nsample_rate = 0.2\n');
    const [issue] = issuesOf(() => loadConfig({ file: path, env: {} }));
    expect(issue).toMatchObject({ path: 'monitoring.tracng', line: 4, column: 1 });
    expect(issue!.message).toContain('did you mean "tracing"');
  });

  test('a TOML syntax error names the line and column', () => {
    const path = file('[monitoring]\nenabled = true\nmetrics_port = 80 81\n');
    const [issue] = issuesOf(() => loadConfig({ file: path, env: {} }));
    expect(issue).toMatchObject({ file: path, line: 3, column: 19 });
    expect(issue!.message).toMatch(/^TOML syntax error/);
  });

  test('a missing file is a config error naming the file', () => {
    const [issue] = issuesOf(() => loadConfig({ file: join(dir, 'nope.toml'), env: {} }));
    expect(issue!.file).toContain('nope.toml');
    expect(issue!.message).toContain('file not found');
  });

  test('bad environment values name the variable; a misspelt one gets a suggestion', () => {
    const issues = issuesOf(() =>
      loadConfig({
        env: { MONITORING_TRACING_SAMPLE_RATE: 'high', MONITORING_METRICS_PORTT: '1', MONITORING_TRACING_FOO: '1' },
      }),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ env: 'MONITORING_TRACING_SAMPLE_RATE', path: 'monitoring.tracing.sample_rate' }),
        expect.objectContaining({
          env: 'MONITORING_METRICS_PORTT',
          message: expect.stringContaining('MONITORING_METRICS_PORT?'),
        }),
        expect.objectContaining({ env: 'MONITORING_TRACING_FOO', message: 'unknown setting' }),
      ]),
    );
    expect(issues).toHaveLength(3);
  });

  test('the error message lists each problem on its own line', () => {
    const path = file('[monitoring.tracing]\nsample_rate = 1.5\n');
    expect(() => loadConfig({ file: path, env: {} })).toThrow(
      `[@obs/core] invalid configuration (1 problem):\n  - ${path}:2:1: monitoring.tracing.sample_rate: must be at most 1 (got 1.5)`,
    );
  });

  test('secrets never appear in error messages, printed or logged config', () => {
    const secretUrl = 'https://hooks.slack.com/services/T000/B000/XXXXSECRET';
    const config = loadConfig({
      env: {},
      overrides: {
        alerts: { webhook_url: secretUrl, smtp_password: 'hunter2', smtp_user: 'me' },
        tracing: { endpoint: 'https://user:pa55@collector.example:4318/v1/traces' },
        auth: { metrics: { bearer_token: 'tok-123' } },
      },
      sections: [alertsLike],
    });
    expect((config.alerts as { smtp_password?: unknown }).smtp_password).toBe('hunter2');
    for (const printed of [JSON.stringify(config), inspect(config, { depth: 5 }), `${JSON.stringify({ config })}`]) {
      expect(printed).not.toContain('hunter2');
      expect(printed).not.toContain('XXXXSECRET');
      expect(printed).not.toContain('pa55');
      expect(printed).not.toContain('tok-123');
      expect(printed).toContain('[redacted]');
      expect(printed).toContain('me');
    }
    const issues = issuesOf(() =>
      loadConfig({ env: {}, overrides: { alerts: { smtp_password: 42 } }, sections: [alertsLike] }),
    );
    expect(issues[0]!.message).toBe('must be a string (got a number)');
  });

  test('every value of a headers table (headers, remote_write_headers) is a secret', () => {
    const remote = loadConfig({
      env: {},
      overrides: { prometheus: { remote_write_headers: { 'X-Scope-OrgID': 'tenant-7' } } },
      sections: [
        {
          name: 'prometheus',
          schema: z.object({ remote_write_headers: z.record(z.string(), z.string()).default({}) }),
        },
      ],
    });
    expect(JSON.stringify(remote)).not.toContain('tenant-7');
    const config = loadConfig({
      env: {},
      overrides: { tracing: { headers: { 'x-api-key': 'k3y', 'x-tenant': 'acme' } } },
      sections: [{ name: 'tracing', schema: z.object({ headers: z.record(z.string(), z.string()).default({}) }) }],
    });
    const printed = JSON.stringify(config);
    expect(printed).toContain('"x-api-key":"[redacted]"');
    expect(printed).not.toContain('k3y');
    expect(printed).not.toContain('acme');
  });

  test('the config is deeply frozen', () => {
    const config = loadConfig({ env: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.tracing)).toBe(true);
    expect(() => {
      (config.tracing as { sample_rate: number }).sample_rate = 1;
    }).toThrow(TypeError);
  });

  test('plugins contribute keys to a section and new sections', () => {
    const config = loadConfig({
      env: { MONITORING_PROMETHEUS_BUCKETS: '0.1,0.5' },
      overrides: { dashboards: { title: 'Mine' } },
      sections: [
        { name: 'prometheus', schema: z.object({ buckets: z.array(z.coerce.number()).default([1]) }) },
        {
          name: 'dashboards',
          schema: z.strictObject({ title: z.string().default('Export'), refresh: z.string().default('30s') }),
        },
      ],
    });
    const loose = config as unknown as Record<string, Record<string, unknown>>;
    expect(loose['prometheus']!['buckets']).toEqual([0.1, 0.5]);
    expect(loose['prometheus']!['namespace']).toBe('');
    expect(loose['dashboards']).toEqual({ title: 'Mine', refresh: '30s' });
  });

  test('a problem inside an array of tables points at its line; unknown keys there list their siblings', () => {
    const path = file(`[monitoring.jobs]
[[monitoring.jobs.list]]
name = "a"

[[monitoring.jobs.list]]
name = "b"
every = "soon"
nmae = "c"
`);
    const section = {
      name: 'jobs',
      schema: z.strictObject({
        list: z.array(z.strictObject({ name: z.string(), every: configDuration('1m') })).default([]),
      }),
    };
    const issues = issuesOf(() => loadConfig({ file: path, env: {}, sections: [section] }));
    expect(issues).toEqual([
      expect.objectContaining({ path: 'monitoring.jobs.list.1.every', line: 7, column: 1 }),
      expect.objectContaining({
        path: 'monitoring.jobs.list.1.nmae',
        line: 8,
        message: 'unknown key; did you mean "name"?',
      }),
    ]);
  });

  test('resolveConfigPath: relative to the TOML file when written there, else to the working directory', () => {
    const path = file(`[monitoring.alerts]\nrules_file = "rules/app.yml"\n`);
    const sections = [alertsLike];
    const fromFile = loadConfig({ file: path, env: {}, sections });
    expect(resolveConfigPath(fromFile, 'alerts.rules_file')).toBe(join(dirname(path), 'rules/app.yml'));
    const fromEnv = loadConfig({ file: path, env: { MONITORING_ALERTS_RULES_FILE: 'env.yml' }, sections });
    expect(resolveConfigPath(fromEnv, 'alerts.rules_file')).toBe(join(process.cwd(), 'env.yml'));
    const absolute = loadConfig({ env: {}, overrides: { alerts: { rules_file: '/etc/app/rules.yml' } }, sections });
    expect(resolveConfigPath(absolute, 'alerts.rules_file')).toBe('/etc/app/rules.yml');
    expect(resolveConfigPath(loadConfig({ env: {}, sections }), 'alerts.rules_file')).toBe('');
  });

  test("a plugin's check across its keys still runs when its keys join a core section", () => {
    const plugin = {
      configSection: {
        name: 'tracing',
        schema: z
          .object({ batch_size: z.number().default(512), queue_size: z.number().default(2048) })
          .refine((v) => v.batch_size <= v.queue_size, {
            message: 'must not exceed queue_size',
            path: ['batch_size'],
          }),
      },
    };
    const path = file('[monitoring.tracing]\nqueue_size = 100\nbatch_size = 512\n');
    const issues = issuesOf(() => loadConfig({ file: path, env: {}, plugins: [plugin] }));
    expect(issues).toEqual([
      expect.objectContaining({
        path: 'monitoring.tracing.batch_size',
        line: 3,
        message: 'must not exceed queue_size (got 512)',
      }),
    ]);
    const ok = loadConfig({ env: {}, plugins: [plugin] }) as unknown as Record<string, Record<string, unknown>>;
    expect(ok['tracing']).toMatchObject({ batch_size: 512, queue_size: 2048, sample_rate: 0.1 });
  });

  test("a plugin's section is validated when the plugin is given", () => {
    const plugin = {
      configSection: { name: 'tracing', schema: z.object({ headers: z.record(z.string(), z.string()).default({}) }) },
    };
    const issues = issuesOf(() => loadConfig({ env: {}, overrides: { tracing: { headers: 'x' } }, plugins: [plugin] }));
    expect(issues).toEqual([expect.objectContaining({ path: 'monitoring.tracing.headers' })]);
  });

  test('auth needs a full pair for basic, and not both kinds at once', () => {
    const issues = issuesOf(() =>
      loadConfig({
        env: {},
        overrides: {
          auth: { metrics: { username: 'u' }, health: { bearer_token: 't', username: 'u', password: 'p' } },
        },
      }),
    );
    expect(issues.map((i) => i.path).sort()).toEqual(['monitoring.auth.health', 'monitoring.auth.metrics']);
  });
});
