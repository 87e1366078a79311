#!/usr/bin/env node
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { alertsPlugin } from '@obs/alerts';
import { consolePlugin } from '@obs/console';
import {
  createConsoleLogger,
  createMonitor,
  formatDuration,
  type LogLevel,
  loadConfig,
  ObsConfigError,
  ObsError,
  parseDuration,
  redactUrl,
  tryParseDuration,
} from '@obs/core';
import { dashboardsPlugin } from '@obs/dashboards';
import {
  apiConnectivityCheck,
  authStatusCheck,
  cacheCheck,
  databaseCheck,
  diskSpaceCheck,
  healthPlugin,
  memoryCheck,
} from '@obs/health';
import { metricsPlugin } from '@obs/metrics';
import { traceApiCall, tracingPlugin, withSpan } from '@obs/tracing';
import { createResponseCache } from './cache.ts';
import { DEFAULT_CACHE_TTL, DEFAULT_INTERVAL } from './defaults.ts';
import { runExport } from './export-job.ts';
import { startTraktApi, type TraktApi } from './trakt-api.ts';
import { createTraktClient, type TraktClient } from './trakt-client.ts';

const USAGE = `Usage: exporter-demo [options]

Runs a simulated Trakt.tv to Letterboxd export with the @obs monitoring stack.

Options:
  --config <file>      TOML config with a [monitoring] table (default: the demo's config.toml)
  --once               run one export and exit, as a batch job does
  --interval <dur>     time between syncs without --once (default: ${DEFAULT_INTERVAL})
  --export-dir <dir>   where the Letterboxd CSV files go (default: ./exports)
  --workers <n>        worker pool size (default: 4)
  --cache-ttl <dur>    how long API answers stay cached (default: ${DEFAULT_CACHE_TTL})
  --api-outage <dur>   the simulated Trakt API answers 5xx to everything for this long, then
                       recovers (to see the error-rate and export-failure alerts fire and resolve)
  --seed <n>           seed of the simulated data (default: 42)
  --log-level <level>  debug, info, warn or error (default: info)
  -h, --help           show this help
`;

class UsageError extends Error {}

function parseOptions(argv: string[]) {
  let parsed: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      args: argv,
      strict: true,
      options: {
        config: { type: 'string' },
        once: { type: 'boolean', default: false },
        interval: { type: 'string', default: DEFAULT_INTERVAL },
        'export-dir': { type: 'string', default: './exports' },
        workers: { type: 'string', default: '4' },
        'cache-ttl': { type: 'string', default: DEFAULT_CACHE_TTL },
        'api-outage': { type: 'string' },
        seed: { type: 'string', default: '42' },
        'log-level': { type: 'string', default: 'info' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  }
  try {
    parsed = parse();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values } = parsed;
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64)
    throw new UsageError(`--workers must be an integer in 1..64 (got ${values.workers})`);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer (got ${values.seed})`);
  let intervalMs: number;
  try {
    intervalMs = parseDuration(values.interval);
  } catch {
    throw new UsageError(`--interval must be a duration like 30s or 5m (got ${values.interval})`);
  }
  if (intervalMs <= 0) throw new UsageError(`--interval must be positive (got ${values.interval})`);
  let apiOutageMs: number | undefined;
  if (values['api-outage'] !== undefined) {
    apiOutageMs = tryParseDuration(values['api-outage']);
    if (apiOutageMs === undefined || apiOutageMs <= 0) {
      throw new UsageError(`--api-outage must be a positive duration like 5m (got ${values['api-outage']})`);
    }
  }
  let cacheTtlMs: number;
  try {
    cacheTtlMs = parseDuration(values['cache-ttl']);
  } catch {
    throw new UsageError(`--cache-ttl must be a duration like 1m or 30s (got ${values['cache-ttl']})`);
  }
  const level = values['log-level'];
  if (!['debug', 'info', 'warn', 'error'].includes(level))
    throw new UsageError(`--log-level must be debug, info, warn or error (got ${level})`);
  const here = dirname(fileURLToPath(import.meta.url));
  return {
    help: values.help,
    config: resolve(values.config ?? join(here, '..', 'config.toml')),
    once: values.once,
    intervalMs,
    exportDir: resolve(values['export-dir']),
    workers,
    cacheTtlMs,
    apiOutageMs,
    seed,
    level: level as LogLevel,
  };
}

// Set once a signal asks the process to stop: it then exits as soon as main is done, whatever handle is left.
let stopping = false;

async function main(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const logger = createConsoleLogger({ level: options.level });
  // Each @obs package wires its plugin in here as it lands (tracing, health, alerts, dashboards next).
  const health = healthPlugin();
  const plugins = [
    metricsPlugin(),
    tracingPlugin(),
    health,
    // The seed's three rules (or [monitoring.alerts] rules_file), over the samples metricsPlugin collects.
    alertsPlugin(),
    // Links for the compose stack (stack/): Jaeger's UI and Prometheus's alerts page.
    dashboardsPlugin({
      links: [
        { title: 'Jaeger', url: 'http://localhost:16686' },
        { title: 'Prometheus alerts', url: 'http://localhost:9090/alerts' },
      ],
    }),
    // The console page at / of the health listener (last: it serves what no other route answers there).
    consolePlugin(),
  ];
  const config = loadConfig({ file: options.config, plugins });
  const monitor = createMonitor({ config, logger, plugins });
  monitor.bus.on('alert:changed', (a) => {
    // An inactive alert's value is the last one seen while it was active (below the threshold for a `<`
    // rule), as in Prometheus: not the current value, so it is not logged as if it were.
    if (a.state === 'inactive') logger.info(`exporter-demo: alert "${a.rule}" is inactive`, { labels: a.labels });
    else logger.warn(`exporter-demo: alert "${a.rule}" is ${a.state}`, { labels: a.labels, value: a.value });
  });

  const controller = new AbortController();
  let deadline: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    // A Ctrl-C reaches this process twice under `npm run demo` (from the terminal, and forwarded by the
    // runner): a repeated signal is ignored, since the stop under way is bounded by shutdown_timeout anyway.
    if (stopping) return;
    logger.info(`exporter-demo: ${signal} received, stopping`);
    controller.abort();
    stopping = true;
    // Whatever a collector, SMTP server or webhook does, the process ends within shutdown_timeout.
    deadline ??= setTimeout(() => {
      logger.error(`exporter-demo: did not stop within ${formatDuration(config.shutdown_timeout)}; exiting anyway`);
      process.exit(1);
    }, config.shutdown_timeout);
    deadline.unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const token = 'demo-access-token';
  let api: TraktApi | undefined;
  let failed = false;
  // Everything from here on is undone in `finally`, a failed start included: the simulated API and the
  // signal handlers must never outlive it (the process would neither exit nor answer SIGTERM).
  try {
    api = await startTraktApi({
      seed: options.seed,
      latencyMs: 40,
      serverErrorRate: 0.03,
      rateLimitPerSecond: 40,
      catalogSize: 400,
      historySize: 600,
      token,
    });
    const simulated = api;
    if (options.apiOutageMs !== undefined) {
      api.setServerErrorRate(1);
      logger.warn(`exporter-demo: the simulated Trakt API is down for ${formatDuration(options.apiOutageMs)}`);
      setTimeout(() => {
        simulated.setServerErrorRate(0.03);
        logger.info('exporter-demo: the simulated Trakt API has recovered');
      }, options.apiOutageMs).unref();
    }
    const cache = createResponseCache({ ttlMs: options.cacheTtlMs, maxBytes: 8 * 1024 * 1024 });
    await mkdir(options.exportDir, { recursive: true });
    // The seed's six health checks, against the demo's own API, token, cache and export folder.
    const tokenExpiresAt = Date.now() + 24 * 3_600_000; // the simulated OAuth token is valid for a day
    const traktHeaders = {
      authorization: `Bearer ${token}`,
      'trakt-api-key': 'exporter-demo',
      'trakt-api-version': '2',
    };
    for (const check of [
      apiConnectivityCheck({
        url: new URL('/sync/ratings/movies', api.url),
        label: 'Trakt API',
        headers: traktHeaders,
      }),
      authStatusCheck({ token: () => ({ expiresAt: tokenExpiresAt }) }),
      // The demo has no database: its response cache is the store it reads back, pinged through stats().
      databaseCheck({ critical: false, ping: () => cache.stats() }),
      cacheCheck({ minHitRatio: 0.2 }),
      diskSpaceCheck({ path: options.exportDir }),
      memoryCheck(),
    ]) {
      health.checker.register(check);
    }
    await monitor.start();
    if (config.enabled) {
      // Where to look (with port 0, where the system put it).
      const metrics = new URL(config.prometheus.endpoint.slice(1), monitor.url('metrics'));
      const health = new URL(config.health.endpoint.slice(1), monitor.url('health'));
      logger.info(`exporter-demo: metrics on ${metrics.href}, health on ${health.href}`);
    }
    logger.info(`exporter-demo: simulated Trakt API on ${api.url.href}; exports go to ${options.exportDir}`);
    const trakt = createTraktClient({ baseUrl: api.url, token, cache, monitor, signal: controller.signal });
    // Every call is a span api.<endpoint>. The client records each HTTP attempt with monitor.recordApiCall,
    // and those are the only count: emit: false keeps traceApiCall from counting a call itself (a cache
    // hit makes no HTTP call, so it is traced but not counted).
    const client: TraktClient = {
      get: (endpoint, path) =>
        traceApiCall({ bus: monitor.bus, emit: false }, endpoint, () => trakt.get(endpoint, path)),
    };

    for (let run = 1; !controller.signal.aborted; run++) {
      const result = await withSpan('export.run', { 'export.run': run, 'export.workers': options.workers }, () =>
        runExport({
          client,
          monitor,
          exportDir: options.exportDir,
          workers: options.workers,
          signal: controller.signal,
        }),
      );
      if (result.cancelled) {
        logger.info(`exporter-demo: export #${run} cut short by the stop`);
        break;
      }
      const errors = Object.entries(result.errors);
      failed = errors.length > 0;
      const took = formatDuration(result.durationMs);
      if (failed) {
        // The kinds that failed wrote nothing: their 0 is not a count, so only the others' counts are shown.
        const written = Object.fromEntries(Object.entries(result.counts).filter(([kind]) => !(kind in result.errors)));
        logger.error(`exporter-demo: export #${run} failed in ${took} (${errors.map(([k]) => k).join(', ')})`, written);
      } else logger.info(`exporter-demo: export #${run} done in ${took}`, { ...result.counts });
      for (const [kind, message] of errors) logger.error(`exporter-demo: ${kind} export failed: ${message}`);
      if (options.once) break;
      api.addActivity(5 + (run % 7));
      await sleep(options.intervalMs, undefined, { signal: controller.signal }).catch(() => {});
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err;
  } finally {
    try {
      await monitor.stop();
      await api?.close();
    } finally {
      // Only now: a repeated signal during the stop must not end the process before the stop is done.
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  return options.once && failed ? 1 : 0;
}

// Codes of a start that failed on what the user wrote (config, rule files, PromQL): exit 2, like a bad flag.
const CONFIG_CODES = new Set([
  'OBS_ERR_CONFIG_INVALID',
  'OBS_ERR_DURATION_INVALID',
  'OBS_ERR_ALERTS_PARSE',
  'OBS_ERR_ALERTS_UNSUPPORTED',
  'OBS_ERR_ALERTS_RULE_INVALID',
  'OBS_ERR_ALERTS_RULES_FILE',
]);

function isConfigError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof ObsConfigError || (e instanceof ObsError && CONFIG_CODES.has(e.code))) return true;
  }
  return false;
}

function exit(code: number): void {
  // Nothing left open (a socket, a timer of a plugin) may keep a failed or stopped process alive.
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    if (stopping) exit(code);
  },
  (err: unknown) => {
    // A user's mistake gets a short message naming what and where; never a stack trace, never a secret.
    if (err instanceof UsageError) {
      process.stderr.write(`exporter-demo: ${err.message}\n\n${USAGE}`);
      exit(2);
    } else if (err instanceof ObsError) {
      process.stderr.write(`exporter-demo: ${redactUrl(err.message)}\n`);
      exit(isConfigError(err) ? 2 : 1);
    } else {
      process.stderr.write(
        `exporter-demo: unexpected failure: ${redactUrl(err instanceof Error ? err.message : String(err))}\n`,
      );
      if (process.env['DEBUG'] !== undefined && err instanceof Error)
        process.stderr.write(`${redactUrl(`${err.stack}`)}\n`);
      exit(1);
    }
  },
);
