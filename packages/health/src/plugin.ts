import {
  configIssueAt,
  type EventBus,
  ObsConfigError,
  type ObsEvents,
  type ObsPlugin,
  type PluginContext,
  resolveConfigPath,
  toError,
} from '@obs/core';
import { createCheckerCore, type HealthChecker } from './checker.ts';
import { cacheCheck } from './checks/cache.ts';
import { diskSpaceCheck } from './checks/disk.ts';
import { memoryCheck } from './checks/memory.ts';
import {
  DEFAULT_CHECKS,
  type DefaultCheckName,
  type HealthPluginOptions,
  healthConfigSection,
  resolveHealthOptions,
} from './options.ts';
import { createRoutes } from './routes.ts';
import type { HealthCheck, StatusRule } from './types.ts';

declare module '@obs/core' {
  interface ObsServices {
    /** The health checker: register the app's own checks (provided by @obs/health). */
    'health.checker': HealthChecker;
  }
}

/** The health plugin: the checker plus `/health`, `/livez` and `/readyz` on the `health` listener. */
export interface HealthPlugin extends ObsPlugin {
  readonly name: '@obs/health';
  readonly section: 'health';
  /** The plugin's checker, usable before start (the `health.checker` service is the same object). */
  readonly checker: HealthChecker;
}

/**
 * Creates the health plugin. Timeouts, interval, paths, detail visibility and the status rule come from
 * `[monitoring.health]`; `options.rule` overrides the rule.
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` for bad options (at once) or, in setup, for
 *   `show_details = "when-authorized"` without `[monitoring.auth.health]`; ObsError `OBS_ERR_HEALTH_CHECK_INVALID`
 *   or `OBS_ERR_HEALTH_CHECK_DUPLICATE` for a bad check.
 */
export function healthPlugin(options: HealthPluginOptions = {}): HealthPlugin {
  const opts = resolveHealthOptions(options);
  const { checker, settings } = createCheckerCore({ checks: opts.checks, rule: opts.rule });
  let defaults: readonly DefaultCheckName[] = [];
  let diskPath = '';
  let bus: EventBus | undefined;
  let offCache: (() => void) | undefined;
  const added = new Set<string>();

  // The cache check joins at the first `cache:updated`: an app without a cache gets no "cache" entry. It sees
  // that first event too, which it would otherwise miss, having subscribed after it.
  function addCacheOnFirstEvent(add: (check: HealthCheck) => void): void {
    offCache = bus?.on('cache:updated', (first) => {
      offCache?.();
      offCache = undefined;
      if (checker.names().includes('cache')) return;
      const check = cacheCheck();
      add({
        ...check,
        attach: (context) =>
          check.attach?.({
            ...context,
            bus:
              context.bus === undefined
                ? undefined
                : {
                    ...context.bus,
                    on: ((type: keyof ObsEvents, listener: (e: ObsEvents['cache:updated']) => void) => {
                      const off = context.bus!.on(type, listener as never);
                      if (type === 'cache:updated') listener(first);
                      return off;
                    }) as EventBus['on'],
                  },
          }),
      });
    });
  }

  function setup(ctx: PluginContext): void {
    const config = ctx.config.health;
    if (config.show_details === 'when-authorized' && ctx.config.auth.health === undefined) {
      throw new ObsConfigError('@obs/health', [
        configIssueAt(
          ctx.config,
          'health.show_details',
          '"when-authorized" needs [monitoring.auth.health] (a bearer_token, or username and password)',
        ),
      ]);
    }
    const rule: StatusRule = {
      criticalUnhealthy: config.critical_unhealthy,
      nonCriticalUnhealthy: config.non_critical_unhealthy,
      degraded: config.any_degraded,
    };
    settings.timeoutMs = config.timeout;
    settings.intervalMs = config.checks_interval;
    settings.rule = typeof opts.rule === 'function' ? opts.rule : { ...rule, ...opts.rule };
    settings.bus = ctx.bus;
    bus = ctx.bus;
    defaults = opts.defaultChecks ?? config.default_checks ?? DEFAULT_CHECKS;
    diskPath = resolveConfigPath(ctx.config, 'health.disk_path');
    settings.onError = (error) => ctx.reportError(error);
    const routes = createRoutes({
      checker,
      config,
      signal: ctx.signal,
      serviceId: opts.serviceId ?? ctx.config.tracing.service_name,
      onError: (error) => ctx.reportError(toError(error)),
    });
    // Unauthorized requests still get the status when details are only for authorized ones.
    const auth = config.show_details === 'when-authorized' ? 'optional' : 'required';
    ctx.endpoints.mount('health', config.endpoint, { auth }, routes.health);
    // Kubernetes and Docker probes send no credentials: the probes stay open unless probes_auth says otherwise.
    const probes = config.probes_auth ? 'required' : 'optional';
    ctx.endpoints.mount('health', config.livez_endpoint, { auth: probes }, routes.livez);
    ctx.endpoints.mount('health', config.readyz_endpoint, { auth: probes }, routes.readyz);
    ctx.provide('health.checker', checker);
  }

  return {
    name: '@obs/health',
    section: 'health',
    configSection: healthConfigSection,
    checker,
    setup,
    async start() {
      // Registered last, so that a check of the same name from the app (options or the service) wins.
      const taken = new Set(checker.names());
      const add = (check: HealthCheck): void => {
        checker.register(check);
        added.add(check.name);
      };
      if (defaults.includes('memory') && !taken.has('memory')) add(memoryCheck());
      if (defaults.includes('disk_space') && !taken.has('disk_space'))
        add(diskSpaceCheck({ path: diskPath === '' ? process.cwd() : diskPath }));
      if (defaults.includes('cache') && !taken.has('cache')) addCacheOnFirstEvent(add);
      checker.start();
    },
    async stop() {
      offCache?.();
      offCache = undefined;
      // The defaults go with the run that added them: a restart adds them again.
      for (const name of added) checker.unregister(name);
      added.clear();
      await checker.stop();
    },
  };
}
