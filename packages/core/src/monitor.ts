import { createBus, type EventBus, type ObsEvents, type ObsListener } from './bus.ts';
import { type ConfigInput, isLoadedConfig, loadConfig, withSections } from './config/load.ts';
import type { ObsConfig } from './config/sections.ts';
import { createEndpointHost, type EndpointHost, type ListenerName } from './endpoint-host.ts';
import { coreError, ObsError, toError } from './errors.ts';
import { createConsoleLogger, type ObsLogger, safeLogger } from './logger.ts';
import type { ObsPlugin, ObsServices, PluginContext } from './plugin.ts';

/** Options of {@link createMonitor}. */
export interface MonitorOptions {
  /**
   * A config from `loadConfig()`, or the `[monitoring]` table as an object (validated; no file, no env).
   * @default all defaults
   */
  readonly config?: ObsConfig | ConfigInput;
  /** The plugins, in start order. @default [] */
  readonly plugins?: readonly ObsPlugin[];
  /** @default a console logger at info level, on stderr */
  readonly logger?: ObsLogger;
  /** Longest each plugin's setup, start and stop may take, in ms. @default config `shutdown_timeout` (10s) */
  readonly timeout?: number;
}

/** The monitor's life: it starts once and stops once. */
export type MonitorState = 'idle' | 'starting' | 'started' | 'stopping' | 'stopped';

/** Composes plugins and carries the seed's recorders. */
export interface Monitor extends AsyncDisposable {
  readonly config: ObsConfig;
  readonly bus: EventBus;
  readonly logger: ObsLogger;
  readonly state: MonitorState;
  /**
   * Sets up every plugin, binds the listeners, then starts the plugins in order.
   * @throws ObsError `OBS_ERR_PLUGIN_START`, `OBS_ERR_LIFECYCLE_TIMEOUT` or `OBS_ERR_ENDPOINT_BIND`, after stopping what had started.
   */
  start(): Promise<Monitor>;
  /** Stops the plugins in reverse order and closes the listeners. Idempotent; never rejects. */
  stop(): Promise<void>;
  /** The base URL of a listener once started. @throws ObsError `OBS_ERR_ENDPOINT_NOT_BOUND` */
  url(listener: ListenerName): URL;
  /** A service a plugin provides, once started. @throws ObsError `OBS_ERR_SERVICE_MISSING` */
  service<K extends keyof ObsServices>(key: K): ObsServices[K];
  /** Records one upstream API call: emits `api:called`. */
  recordApiCall(endpoint: string, status: number, durationMs: number, method?: string): void;
  /**
   * Records the cache's state: hit ratio 0..1, size in bytes, entry count, and the lookups (hits + misses) the
   * ratio is taken over, so that a check does not judge a ratio of three lookups; emits `cache:updated`.
   */
  updateCacheStats(hitRatio: number, sizeBytes: number, entries?: number, lookups?: number): void;
  /** Records exported items (or a failed export, status `error`): emits `export:recorded`. */
  recordExport(kind: string, status: string, count: number): void;
  /** Records how many workers are busy: emits `workers:changed`. */
  setActiveWorkers(active: number): void;
}

interface Entry {
  readonly plugin: ObsPlugin;
  readonly unsubscribes: (() => void)[];
  started: boolean;
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0;
const isAmount = (n: unknown): n is number => typeof n === 'number' && n >= 0 && n !== Number.POSITIVE_INFINITY;

function checkPlugins(plugins: readonly ObsPlugin[]): void {
  const seen = new Set<string>();
  for (const [index, plugin] of plugins.entries()) {
    if (typeof plugin !== 'object' || plugin === null || typeof plugin.name !== 'string' || plugin.name === '') {
      throw coreError('OBS_ERR_PLUGIN_INVALID', `[@obs/core] plugins[${index}] has no name`);
    }
    if (typeof plugin.setup !== 'function') {
      throw coreError('OBS_ERR_PLUGIN_INVALID', `[@obs/core] plugin "${plugin.name}" has no setup()`);
    }
    if (seen.has(plugin.name)) {
      throw coreError('OBS_ERR_PLUGIN_DUPLICATE', `[@obs/core] plugin "${plugin.name}" is registered twice`);
    }
    for (const dependency of plugin.dependsOn ?? []) {
      if (seen.has(dependency)) continue;
      const later = plugins.some((p) => p.name === dependency);
      throw coreError(
        'OBS_ERR_PLUGIN_DEPENDENCY',
        later
          ? `[@obs/core] plugin "${plugin.name}" depends on "${dependency}": register "${dependency}" before it`
          : `[@obs/core] plugin "${plugin.name}" depends on "${dependency}", which is not registered`,
      );
    }
    seen.add(plugin.name);
  }
}

async function withTimeout<T>(run: () => T | Promise<T>, ms: number, plugin: string, phase: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          coreError(
            'OBS_ERR_LIFECYCLE_TIMEOUT',
            `[@obs/core] plugin "${plugin}" did not finish ${phase} within ${ms}ms`,
          ),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([Promise.resolve().then(run), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function phaseError(code: 'OBS_ERR_PLUGIN_SETUP' | 'OBS_ERR_PLUGIN_START', plugin: string, err: unknown): Error {
  if (err instanceof ObsError) return err;
  const cause = toError(err);
  const phase = code === 'OBS_ERR_PLUGIN_SETUP' ? 'set up' : 'start';
  return coreError(code, `[@obs/core] plugin "${plugin}" failed to ${phase}: ${cause.message}`, { cause });
}

/**
 * Composes plugins into a monitor. Checks names and `dependsOn`, and validates the config with the
 * plugins' sections, before anything runs.
 * @throws ObsError `OBS_ERR_PLUGIN_DUPLICATE`, `OBS_ERR_PLUGIN_DEPENDENCY`, `OBS_ERR_PLUGIN_INVALID`;
 *   ObsConfigError `OBS_ERR_CONFIG_INVALID`.
 */
export function createMonitor(options: MonitorOptions = {}): Monitor {
  const plugins = options.plugins ?? [];
  checkPlugins(plugins);
  const sections = plugins.flatMap((p) => (p.configSection === undefined ? [] : [p.configSection]));
  const config = isLoadedConfig(options.config)
    ? withSections(options.config, sections)
    : loadConfig({ overrides: options.config as ConfigInput | undefined, env: {}, sections });
  const logger = safeLogger(options.logger ?? createConsoleLogger());
  const timeout = options.timeout ?? config.shutdown_timeout;
  const bus = createBus({
    onUnhandledError: (error, plugin) => logger.error(`${plugin}: ${error.message}`, { code: codeOf(error) }),
  });
  const reported = new Map<string, number>();
  // Log run-time errors, but at most one line per plugin and code every 60s: a failing exporter must not flood.
  bus.onAs(
    'obs:error',
    ({ plugin, error }) => {
      const key = `${plugin}|${codeOf(error)}`;
      const now = Date.now();
      if ((reported.get(key) ?? Number.NEGATIVE_INFINITY) > now - 60_000) return;
      reported.set(key, now);
      logger.error(error.message, { plugin, code: codeOf(error) });
    },
    '@obs/core',
  );
  const controller = new AbortController();
  const host = createEndpointHost(config, logger, (error) => bus.emit('obs:error', { plugin: '@obs/core', error }));
  const services = new Map<string, { value: unknown; owner: string }>();
  const entries: Entry[] = [];
  let state: MonitorState = 'idle';
  let starting: Promise<Monitor> | undefined;
  let stopping: Promise<void> | undefined;

  function context(entry: Entry): PluginContext {
    const name = entry.plugin.name;
    const scopedBus: EventBus = {
      on: <K extends keyof ObsEvents>(type: K, listener: ObsListener<K>) => {
        const off = bus.onAs(type, listener, name);
        entry.unsubscribes.push(off);
        return off;
      },
      emit: bus.emit,
      listenerCount: bus.listenerCount,
    };
    return {
      name,
      config,
      bus: scopedBus,
      logger,
      endpoints: { mount: host.mount, url: host.url } satisfies EndpointHost,
      signal: controller.signal,
      provide(key, service) {
        if (state !== 'starting')
          throw coreError('OBS_ERR_MONITOR_STATE', `[@obs/core] ${name} cannot provide "${key}" after start`);
        const existing = services.get(key);
        if (existing !== undefined) {
          throw coreError(
            'OBS_ERR_SERVICE_DUPLICATE',
            `[@obs/core] "${key}" is provided by both ${existing.owner} and ${name}`,
          );
        }
        services.set(key, { value: service, owner: name });
      },
      need: (key) => need(key, name),
      has: (key) => services.has(key),
      reportError: (error) => bus.emit('obs:error', { plugin: name, error: toError(error) }),
    };
  }

  function need<K extends keyof ObsServices>(key: K, by: string): ObsServices[K] {
    const found = services.get(key);
    if (found === undefined) {
      throw coreError(
        'OBS_ERR_SERVICE_MISSING',
        `[@obs/core] ${by} needs "${key}", but no installed plugin provides it`,
      );
    }
    return found.value as ObsServices[K];
  }

  function enabled(plugin: ObsPlugin, skipped: Set<string>): boolean {
    const section =
      plugin.section === undefined ? undefined : (config as unknown as Record<string, unknown>)[plugin.section];
    if (typeof section === 'object' && section !== null && (section as { enabled?: unknown }).enabled === false) {
      logger.info(`@obs: ${plugin.name} is disabled ([monitoring.${plugin.section}] enabled = false)`);
      return false;
    }
    const off = (plugin.dependsOn ?? []).find((d) => skipped.has(d));
    if (off !== undefined) {
      logger.info(`@obs: ${plugin.name} is skipped because ${off}, which it depends on, is disabled`);
      return false;
    }
    return true;
  }

  async function stopEntries(): Promise<void> {
    for (const entry of [...entries].reverse()) {
      const { plugin } = entry;
      if (plugin.stop !== undefined && entry.started) {
        try {
          await withTimeout(() => plugin.stop?.(), timeout, plugin.name, 'stop');
        } catch (err) {
          const error =
            err instanceof ObsError
              ? err
              : coreError(
                  'OBS_ERR_PLUGIN_STOP',
                  `[@obs/core] plugin "${plugin.name}" failed to stop: ${toError(err).message}`,
                  {
                    cause: err,
                  },
                );
          bus.emit('obs:error', { plugin: plugin.name, error });
        }
      }
      entry.started = false;
      for (const off of entry.unsubscribes.splice(0)) off();
    }
  }

  function start(): Promise<Monitor> {
    if (state !== 'idle') {
      return Promise.reject(
        coreError('OBS_ERR_MONITOR_STATE', `[@obs/core] start() called on a monitor that is ${state}`),
      );
    }
    starting = run();
    return starting;
  }

  async function run(): Promise<Monitor> {
    state = 'starting';
    logger.debug('@obs: starting', { plugins: plugins.map((p) => p.name), config });
    if (!config.enabled) {
      logger.info('@obs: monitoring is disabled ([monitoring] enabled = false)');
      host.seal();
      state = 'started';
      return monitor;
    }
    try {
      const skipped = new Set<string>();
      for (const plugin of plugins) {
        if (!enabled(plugin, skipped)) {
          skipped.add(plugin.name);
          continue;
        }
        const entry: Entry = { plugin, unsubscribes: [], started: false };
        entries.push(entry);
        try {
          await withTimeout(() => plugin.setup(context(entry)), timeout, plugin.name, 'setup');
        } catch (err) {
          throw phaseError('OBS_ERR_PLUGIN_SETUP', plugin.name, err);
        }
      }
      host.seal();
      await host.bind();
      for (const entry of entries) {
        // Marked before start() runs: a start that fails half-way still gets its stop().
        entry.started = true;
        try {
          await withTimeout(() => entry.plugin.start?.(), timeout, entry.plugin.name, 'start');
        } catch (err) {
          throw phaseError('OBS_ERR_PLUGIN_START', entry.plugin.name, err);
        }
      }
    } catch (err) {
      await shutdown();
      throw err;
    }
    state = 'started';
    return monitor;
  }

  async function shutdown(): Promise<void> {
    state = 'stopping';
    controller.abort();
    await stopEntries();
    await host.close();
    state = 'stopped';
  }

  function stop(): Promise<void> {
    if (stopping !== undefined) return stopping;
    if (state === 'idle') {
      state = 'stopped';
      stopping = Promise.resolve();
      return stopping;
    }
    stopping = (async () => {
      // A stop() during start() waits for start to settle, then undoes it.
      await starting?.catch(() => {});
      if (state !== 'stopped') await shutdown();
    })();
    return stopping;
  }

  function invalid(what: string, value: unknown): void {
    bus.emit('obs:error', {
      plugin: '@obs/core',
      error: coreError(
        'OBS_ERR_RECORD_INVALID',
        `[@obs/core] ${what} (got ${JSON.stringify(value) ?? String(value)}); dropped`,
      ),
    });
  }

  function apiCalled(endpoint: string, status: number, durationMs: number, method: string): void {
    if (typeof endpoint !== 'string' || endpoint === '')
      invalid('recordApiCall: endpoint must be a non-empty string', endpoint);
    else if (!Number.isInteger(status) || status < 0)
      invalid('recordApiCall: status must be an HTTP status code', status);
    else if (!isAmount(durationMs)) invalid('recordApiCall: durationMs must be a number >= 0', durationMs);
    else bus.emit('api:called', { endpoint, status, durationMs, method });
  }

  function cacheUpdated(
    hitRatio: number,
    sizeBytes: number,
    entries: number | undefined,
    lookups: number | undefined,
  ): void {
    if (!(hitRatio >= 0 && hitRatio <= 1)) invalid('updateCacheStats: hitRatio must be in 0..1', hitRatio);
    else if (!isAmount(sizeBytes)) invalid('updateCacheStats: sizeBytes must be a number >= 0', sizeBytes);
    else if (entries !== undefined && !isCount(entries))
      invalid('updateCacheStats: entries must be an integer >= 0', entries);
    else if (lookups !== undefined && !isCount(lookups))
      invalid('updateCacheStats: lookups must be an integer >= 0', lookups);
    // One payload shape whether or not lookups is given: this is a recorder, called as often as the cache is.
    else bus.emit('cache:updated', { hitRatio, sizeBytes, entries, lookups });
  }

  function exportRecorded(kind: string, status: string, count: number): void {
    if (typeof kind !== 'string' || kind === '') invalid('recordExport: kind must be a non-empty string', kind);
    else if (typeof status !== 'string' || status === '')
      invalid('recordExport: status must be a non-empty string', status);
    else if (!isCount(count)) invalid('recordExport: count must be an integer >= 0', count);
    else bus.emit('export:recorded', { kind, status, count });
  }

  function workersChanged(active: number): void {
    if (!isCount(active)) invalid('setActiveWorkers: active must be an integer >= 0', active);
    else bus.emit('workers:changed', { active });
  }

  // Built without accessors in the literal (an accessor there puts the object in V8's slow dictionary
  // mode, which made every recorder call several times slower); `state` is defined right after.
  const monitor = {
    config,
    bus,
    logger,
    start,
    stop,
    url: host.url,
    service: (key) => need(key, 'the app'),
    // Each recorder is a listener check, small enough to inline, in front of its validating slow path.
    recordApiCall(endpoint, status, durationMs, method = 'GET') {
      if (bus.listenerCount('api:called') !== 0) apiCalled(endpoint, status, durationMs, method);
    },
    updateCacheStats(hitRatio, sizeBytes, entries, lookups) {
      if (bus.listenerCount('cache:updated') !== 0) cacheUpdated(hitRatio, sizeBytes, entries, lookups);
    },
    recordExport(kind, status, count) {
      if (bus.listenerCount('export:recorded') !== 0) exportRecorded(kind, status, count);
    },
    setActiveWorkers(active) {
      if (bus.listenerCount('workers:changed') !== 0) workersChanged(active);
    },
    [Symbol.asyncDispose]: stop,
  } as Omit<Monitor, 'state'> as Monitor;
  Object.defineProperty(monitor, 'state', { get: () => state, enumerable: true });
  return monitor;
}

function codeOf(error: Error): string {
  return error instanceof ObsError ? error.code : error.name;
}
