import type { AlertState, HealthCheckResult, HealthStatus, MetricSample } from './contracts.ts';
import { coreError, toError } from './errors.ts';

/**
 * The events that travel on the bus, keyed by name. Packages add theirs by declaration merging:
 * `declare module '@obs/core' { interface ObsEvents { 'health:changed': {...} } }`. One owner per event.
 */
export interface ObsEvents {
  /** A run-time failure somewhere in @obs (a throwing listener, a failed export). Never thrown into the host. */
  'obs:error': { readonly plugin: string; readonly error: Error };
  /** One call to an upstream API finished (emitted by `monitor.recordApiCall`). */
  'api:called': {
    readonly endpoint: string;
    readonly status: number;
    readonly durationMs: number;
    readonly method: string;
  };
  /** The cache statistics changed (emitted by `monitor.updateCacheStats`). */
  'cache:updated': {
    readonly hitRatio: number;
    readonly sizeBytes: number;
    readonly entries: number | undefined;
    /** Lookups (hits and misses) the ratio is taken over, when the cache counts them. */
    readonly lookups?: number | undefined;
  };
  /** Items were exported, or an export failed (emitted by `monitor.recordExport`). */
  'export:recorded': { readonly kind: string; readonly status: string; readonly count: number };
  /** The number of busy workers changed (emitted by `monitor.setActiveWorkers`). */
  'workers:changed': { readonly active: number };
  /** Telemetry was dropped on purpose (a full span queue, a label set past a cardinality limit). */
  'obs:dropped': { readonly plugin: string; readonly what: string; readonly count: number };
  /**
   * A health check's status changed (emitted by @obs/health; `check` is the check's name, or
   * `overall` for the service). `previous` is undefined on the first result.
   */
  'health:changed': {
    readonly check: string;
    readonly previous: HealthStatus | undefined;
    readonly current: HealthStatus;
    readonly result: HealthCheckResult;
  };
  /** A snapshot of every sample, taken on @obs/metrics' collection tick (emitted only when someone listens). */
  'metrics:collected': { readonly at: number; readonly samples: readonly MetricSample[] };
  /** A notification was sent, an attempt failed, or it was dropped, on one channel (emitted by @obs/alerts). */
  'alert:notified': {
    readonly channel: string;
    readonly outcome: 'sent' | 'failed' | 'dropped';
    readonly attempts: number;
  };
  /** An alert changed state (emitted by @obs/alerts); `activeAt` is when it became pending, in ms. */
  'alert:changed': {
    readonly rule: string;
    readonly state: AlertState;
    readonly labels: Readonly<Record<string, string>>;
    readonly value: number;
    readonly activeAt: number | undefined;
  };
}

/** A listener of event `K`. It may return a promise: a rejection is reported like a throw. */
export type ObsListener<K extends keyof ObsEvents> = (event: ObsEvents[K]) => void | Promise<void>;

/** Typed, synchronous publish/subscribe. A throwing listener never reaches the emitter: it becomes `obs:error`. */
export interface EventBus {
  /** Subscribes; returns the function that unsubscribes (calling it twice is harmless). */
  on<K extends keyof ObsEvents>(type: K, listener: ObsListener<K>): () => void;
  /** Calls every listener of `type` in subscription order, synchronously. Never throws. */
  emit<K extends keyof ObsEvents>(type: K, event: ObsEvents[K]): void;
  /** How many listeners `type` has: lets an emitter skip building a payload nobody reads. */
  listenerCount(type: keyof ObsEvents): number;
}

/** Options of {@link createEventBus}. */
export interface EventBusOptions {
  /**
   * Called when an `obs:error` listener itself throws, or when `obs:error` has no listener.
   * @default writes one line to stderr
   */
  onUnhandledError?: (error: Error, plugin: string) => void;
}

type AnyListener = (event: unknown) => unknown;

const NOTHING: object = Object.freeze(Object.create(null));

function defaultUnhandled(error: Error, plugin: string): void {
  process.stderr.write(`[${plugin}] ${error.name}: ${error.message}\n`);
}

/** Creates a standalone event bus (a monitor makes its own; use this to use the bus without one). */
export function createEventBus(options: EventBusOptions = {}): EventBus {
  return createBus(options);
}

/** @internal the bus with the hooks the monitor needs; not exported from the package. */
export function createBus(options: EventBusOptions = {}): EventBus & BusInternals {
  const onUnhandled = options.onUnhandledError ?? defaultUnhandled;
  // Arrays are replaced, never mutated, so an emit in progress keeps the list it started with.
  // Listener lists live on an object whose prototype is a frozen null-prototype object: nothing is
  // inherited, yet V8 keeps it in fast-properties mode (a null-prototype object is a dictionary), so
  // `listeners[type]` in an inlined emit is a constant-offset load. Keys are set to undefined, never
  // deleted, for the same reason. Arrays are replaced, never mutated, so an emit in progress keeps its list.
  const listeners: Record<string, readonly AnyListener[] | undefined> = Object.create(NOTHING);
  const owners = new WeakMap<AnyListener, string>();

  function report(type: string, listener: AnyListener, thrown: unknown): void {
    const plugin = owners.get(listener) ?? '@obs/core';
    const error = coreError(
      'OBS_ERR_LISTENER_THREW',
      `[${plugin}] a listener of "${type}" threw: ${toError(thrown).message}`,
      { cause: thrown },
    );
    const handlers = listeners['obs:error'];
    if (type === 'obs:error' || handlers === undefined) {
      safeUnhandled(error, plugin);
      return;
    }
    emit('obs:error', { plugin, error });
  }

  function safeUnhandled(error: Error, plugin: string): void {
    try {
      onUnhandled(error, plugin);
    } catch {
      // The last resort must not throw either.
    }
  }

  // emit is kept tiny so that V8 inlines it at the call site; one listener (the common case) skips the loop.
  function emit(type: string, event: unknown): void {
    const list = listeners[type];
    if (list === undefined) return;
    if (list.length === 1) call(list[0]!, type, event);
    else for (let i = 0; i < list.length; i++) call(list[i]!, type, event);
  }

  function call(listener: AnyListener, type: string, event: unknown): void {
    try {
      const result = listener(event);
      if (result !== undefined && typeof (result as Promise<unknown>).then === 'function') {
        (result as Promise<unknown>).then(undefined, (err: unknown) => report(type, listener, err));
      }
    } catch (err) {
      report(type, listener, err);
    }
  }

  function on(type: string, listener: AnyListener, owner?: string): () => void {
    if (type === '__proto__') throw coreError('OBS_ERR_PLUGIN_INVALID', '[@obs/core] "__proto__" is not an event name');
    if (typeof listener !== 'function') {
      throw coreError(
        'OBS_ERR_PLUGIN_INVALID',
        `[@obs/core] bus.on("${type}") needs a function, got ${typeof listener}`,
      );
    }
    if (owner !== undefined) owners.set(listener, owner);
    listeners[type] = [...(listeners[type] ?? []), listener];
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const remaining = (listeners[type] ?? []).filter((l) => l !== listener);
      listeners[type] = remaining.length === 0 ? undefined : remaining;
    };
  }

  return {
    on: on as EventBus['on'],
    emit: emit as EventBus['emit'],
    listenerCount: (type) => listeners[type]?.length ?? 0,
    onAs: on as BusInternals['onAs'],
    reportUnhandled: safeUnhandled,
  };
}

/** Used by the monitor: subscribe on behalf of a plugin, so a throw is reported under its name. */
export interface BusInternals {
  onAs<K extends keyof ObsEvents>(type: K, listener: ObsListener<K>, owner: string): () => void;
  reportUnhandled(error: Error, plugin: string): void;
}
