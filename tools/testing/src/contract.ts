import { createHook } from 'node:async_hooks';
import { type ConfigInput, createMonitor, type ListenerName, type ObsPlugin, silentLogger } from '@obs/core';
import { describe, test } from 'vitest';
import { isPortOpen } from './loopback.ts';

/** Options of the plugin contract suite. */
export interface PluginContractOptions {
  /** Config for the monitor; ports are forced to 0 (ephemeral). */
  readonly config?: ConfigInput;
  /** Plugins the one under test depends on, registered before it. */
  readonly peers?: () => readonly ObsPlugin[];
  /** Listeners the plugin is expected to serve on. @default [] */
  readonly listeners?: readonly ListenerName[];
}

/** One rule of the contract: throws an Error naming the violation. */
export interface ContractCheck {
  readonly name: string;
  run(factory: () => ObsPlugin, options?: PluginContractOptions): Promise<void>;
}

function fail(message: string): never {
  throw new Error(`plugin contract: ${message}`);
}

function monitorFor(plugins: readonly ObsPlugin[], options: PluginContractOptions) {
  return createMonitor({
    config: { ...options.config, metrics_port: 0, health_port: 0, host: '127.0.0.1' },
    plugins,
    logger: silentLogger,
  });
}

// Resources created while tracking and still alive (not destroyed) when asked: servers, sockets,
// timers (ref'd or not), child processes. async_hooks sees each one, unlike counts of active handles.
const WATCHED = new Set([
  'Timeout',
  'TCPSERVERWRAP',
  'TCPWRAP',
  'PIPESERVERWRAP',
  'PROCESSWRAP',
  'UDPWRAP',
  'SIGNALWRAP',
  'FSEVENTWRAP',
]);

function trackResources(): { alive(): string[]; stop(): void } {
  const live = new Map<number, string>();
  const hook = createHook({
    init(asyncId, type) {
      if (WATCHED.has(type)) live.set(asyncId, type);
    },
    destroy(asyncId) {
      live.delete(asyncId);
    },
  }).enable();
  return {
    alive() {
      const counts = new Map<string, number>();
      for (const type of live.values()) counts.set(type, (counts.get(type) ?? 0) + 1);
      return [...counts].map(([type, count]) => `${count} ${type}`);
    },
    stop: () => void hook.disable(),
  };
}

// Waits without a timer of its own, so that destroy hooks queued by closed handles have run.
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

function tracked(plugin: ObsPlugin, label: string, log: string[]): ObsPlugin {
  return {
    name: plugin.name,
    ...(plugin.dependsOn === undefined ? {} : { dependsOn: plugin.dependsOn }),
    ...(plugin.section === undefined ? {} : { section: plugin.section }),
    ...(plugin.configSection === undefined ? {} : { configSection: plugin.configSection }),
    setup: (ctx) => {
      log.push(`${label}:setup`);
      return plugin.setup.call(plugin, ctx);
    },
    start: async () => {
      log.push(`${label}:start`);
      await plugin.start?.call(plugin);
    },
    stop: async () => {
      log.push(`${label}:stop`);
      await plugin.stop?.call(plugin);
    },
  };
}

/** The rules every plugin follows; `testPluginContract` runs each as a test. */
export const pluginContractChecks: readonly ContractCheck[] = [
  {
    name: 'runs setup, start and stop in order, stop in reverse',
    async run(factory, options = {}) {
      const log: string[] = [];
      const probe = (label: string): ObsPlugin => ({
        name: `contract-${label}`,
        setup: () => void log.push(`${label}:setup`),
        start: async () => void log.push(`${label}:start`),
        stop: async () => void log.push(`${label}:stop`),
      });
      const plugin = factory();
      const monitor = monitorFor(
        [...(options.peers?.() ?? []), probe('before'), tracked(plugin, 'plugin', log), probe('after')],
        options,
      );
      await monitor.start();
      await monitor.stop();
      const want = ['before', 'plugin', 'after'];
      const expected = [
        ...want.map((w) => `${w}:setup`),
        ...want.map((w) => `${w}:start`),
        ...[...want].reverse().map((w) => `${w}:stop`),
      ];
      if (log.join(',') !== expected.join(','))
        fail(`phases ran as [${log.join(', ')}], expected [${expected.join(', ')}]`);
    },
  },
  {
    name: 'setup does no I/O: no socket or timer is open before start',
    async run(factory, options = {}) {
      const plugin = factory();
      let opened: string[] = [];
      const watched: ObsPlugin = {
        name: plugin.name,
        ...(plugin.dependsOn === undefined ? {} : { dependsOn: plugin.dependsOn }),
        ...(plugin.section === undefined ? {} : { section: plugin.section }),
        ...(plugin.configSection === undefined ? {} : { configSection: plugin.configSection }),
        async setup(ctx) {
          const tracker = trackResources();
          try {
            await plugin.setup.call(plugin, ctx);
            await settle();
            opened = tracker.alive();
          } finally {
            tracker.stop();
          }
        },
        start: async () => plugin.start?.call(plugin),
        stop: async () => plugin.stop?.call(plugin),
      };
      const monitor = monitorFor([...(options.peers?.() ?? []), watched], options);
      try {
        await monitor.start();
      } finally {
        await monitor.stop();
      }
      if (opened.length > 0) fail(`setup() opened ${opened.join(', ')}; open them in start()`);
    },
  },
  {
    name: 'stop is idempotent, concurrent-safe, and safe without start',
    async run(factory, options = {}) {
      const unstarted = factory();
      await unstarted.stop?.();
      const plugin = factory();
      const monitor = monitorFor([...(options.peers?.() ?? []), plugin], options);
      await monitor.start();
      const first = monitor.stop();
      const second = monitor.stop();
      if (first !== second) fail('concurrent monitor.stop() calls must share one promise');
      await Promise.all([first, second]);
      await plugin.stop?.();
      await plugin.stop?.();
    },
  },
  {
    name: 'frees its ports and leaks no handles after stop',
    async run(factory, options = {}) {
      const tracker = trackResources();
      let extra: string[];
      try {
        const monitor = monitorFor([...(options.peers?.() ?? []), factory()], options);
        await monitor.start();
        const ports = (options.listeners ?? []).map((listener) => Number(monitor.url(listener).port));
        for (const port of ports) if (!(await isPortOpen(port))) fail(`nothing listens on port ${port} while started`);
        await monitor.stop();
        for (const port of ports) if (await isPortOpen(port)) fail(`port ${port} still accepts connections after stop`);
        await settle();
        extra = tracker.alive();
      } finally {
        tracker.stop();
      }
      if (extra.length > 0) fail(`after stop, still open: ${extra.join(', ')}`);
    },
  },
];

/** Registers the plugin contract as vitest tests (modelled on unstorage's driver suite). */
export function testPluginContract(factory: () => ObsPlugin, options: PluginContractOptions = {}): void {
  describe('plugin contract', () => {
    for (const check of pluginContractChecks) test(check.name, () => check.run(factory, options));
  });
}
