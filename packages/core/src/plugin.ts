import type { EventBus } from './bus.ts';
import type { ConfigSection, ObsConfig } from './config/sections.ts';
import type { AlertRuleDescriptor, MetricDescriptor, MetricStore, RuleGroupStatus } from './contracts.ts';
import type { EndpointHost } from './endpoint-host.ts';
import type { ObsLogger } from './logger.ts';

/**
 * Typed services that plugins share, keyed by name. A package adds its own by declaration merging
 * (`metrics.registry`, `health.checker`); each key has one provider. The two that another plugin
 * consumes are declared here, so that the consumer needs no import of the provider.
 */
export interface ObsServices {
  /** Every metric of the live metric set (provided by @obs/metrics; used by @obs/dashboards). */
  'metrics.descriptors': () => readonly MetricDescriptor[];
  /** The embedded store of the app's recent samples (provided by @obs/metrics; for @obs/alerts and queries). */
  'metrics.store': MetricStore;
  /** The loaded alert rules (provided by @obs/alerts; used by @obs/dashboards). */
  'alerts.rules': () => readonly AlertRuleDescriptor[];
  /** The rule groups with their last evaluation and active alerts (provided by @obs/alerts; served by the query API). */
  'alerts.status': () => readonly RuleGroupStatus[];
}

/** What a plugin gets in `setup`: its view of the monitor. */
export interface PluginContext {
  /** The plugin's own name. */
  readonly name: string;
  /** The whole validated `[monitoring]` config, frozen. */
  readonly config: ObsConfig;
  /** The bus; this plugin's subscriptions end when it stops, and its throwing listeners are reported under its name. */
  readonly bus: EventBus;
  /** A logger that redacts secrets and never throws. */
  readonly logger: ObsLogger;
  /** Mount HTTP routes on the `metrics` or `health` listener. */
  readonly endpoints: EndpointHost;
  /** Aborted when the monitor begins to stop: end long waits and loops on it. */
  readonly signal: AbortSignal;
  /**
   * Offers a service to the other plugins and to the host app.
   * @throws ObsError `OBS_ERR_SERVICE_DUPLICATE` if another plugin provides it; `OBS_ERR_MONITOR_STATE` after start.
   */
  provide<K extends keyof ObsServices>(key: K, service: ObsServices[K]): void;
  /**
   * A service provided by another plugin (in `setup`, one registered earlier; in `start`, any).
   * @throws ObsError `OBS_ERR_SERVICE_MISSING` when no plugin provides it.
   */
  need<K extends keyof ObsServices>(key: K): ObsServices[K];
  /** Whether a service is provided: use it to degrade gracefully when an optional peer is not installed. */
  has(key: keyof ObsServices): boolean;
  /** Reports a run-time failure as an `obs:error` event under this plugin's name. Never throws. */
  reportError(error: unknown): void;
}

/** A plugin: a name and the three phases of its life. */
export interface ObsPlugin {
  /** Unique within a monitor, e.g. `@obs/health`. */
  readonly name: string;
  /** Names of plugins that must be registered before this one. */
  readonly dependsOn?: readonly string[];
  /** The config section that governs this plugin: with `enabled = false` there, the plugin is skipped. */
  readonly section?: string;
  /** Keys this plugin adds to the config schema (validated with the rest of the config). */
  readonly configSection?: ConfigSection;
  /** Wiring only: subscribe, provide, mount. No I/O. */
  setup(ctx: PluginContext): void | Promise<void>;
  /** Opens sockets and timers; runs in registration order, after every setup and after the listeners bind. */
  start?(): Promise<void>;
  /** Closes what start opened; runs in reverse order. May be called even if start was not. */
  stop?(): Promise<void>;
}
