import { randomUUID } from 'node:crypto';
import type { Agent } from 'node:http';
import { type ObsError, redact } from '@obs/core';
import type { Context, Tracer, TracerProvider } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, Sampler, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { tracingError } from '../errors.ts';
import { createMemoryStore, type SpanStore } from '../memory.ts';
import type { ResolvedExporterName, ResolvedTracing } from '../options.ts';
import { activate, deactivate } from './active.ts';
import { pooledIdGenerator, ratioUpperBound } from './ids.ts';
import { otelApi, otelContext, otelCore, otelResources, otelSdk } from './otel.ts';
import { ATTR_SERVICE_INSTANCE_ID, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from './semconv.ts';

const { context, propagation, SpanKind, trace } = otelApi;
const { AsyncLocalStorageContextManager } = otelContext;
const { CompositePropagator, ExportResultCode, W3CBaggagePropagator, W3CTraceContextPropagator } = otelCore;
const { defaultResource, resourceFromAttributes } = otelResources;
const {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NodeTracerProvider,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
} = otelSdk;

/** @internal Where the runtime reports what it cannot throw. */
export interface RuntimeHooks {
  /** A run-time failure (an export that failed); never thrown. */
  readonly onError: (error: ObsError) => void;
  /** Spans lost on purpose (full queue) or by failure (export failed). */
  readonly onDropped: (count: number) => void;
  /** Receives `api:called` for traceApiCall; undefined without a bus. */
  readonly bus?: Parameters<typeof activate>[1];
  /** The longest shutdown may take in all (the monitor's `shutdown_timeout`); flushing gets less than that. */
  readonly stopTimeoutMs?: number | undefined;
}

/** A span processor that can cut short the exports still in flight. */
interface AbortableProcessor extends SpanProcessor {
  abort(): void;
}

// What an export cut short by shutdown fails with: a code the OTLP transport does not retry.
const shutdownError = (): Error =>
  Object.assign(new Error('[@obs/tracing] export cut short by shutdown'), { code: 'OBS_TRACING_SHUTDOWN' });

/** @internal A provider whose export pipeline opens on start and flushes on shutdown. */
export interface TracingRuntime {
  readonly provider: TracerProvider;
  readonly tracer: Tracer;
  readonly exporter: ResolvedExporterName | 'custom' | 'none';
  readonly store: SpanStore | undefined;
  start(): Promise<void>;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

const SCOPE = '@obs/tracing';

function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // Exporters may echo a URL; never let credentials through (collector URLs can carry them).
  return redact(text === '' ? 'unknown error' : text);
}

/**
 * Counts spans between the SDK's batch processor and the exporter, so the queue bound is ours and
 * every span that does not reach the collector is reported. The BatchSpanProcessor drops silently
 * (a diag line) when its queue is full; holding our own count one step ahead of it means it never has to.
 */
function guardedBatch(
  inner: SpanExporter,
  settings: ResolvedTracing,
  target: string,
  hooks: RuntimeHooks,
): AbortableProcessor {
  let pending = 0;
  let aborted = false;
  // Exports in flight, so that shutdown can settle them at once (the SDK's batch processor keeps a timer
  // of export_timeout per export until it hears back, which would hold the process open).
  const inflight = new Set<(result: ExportResult) => void>();
  const exporter: SpanExporter = {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
      pending -= spans.length;
      let settled = false;
      const finish = (result: ExportResult): void => {
        if (settled) return;
        settled = true;
        inflight.delete(finish);
        if (result.code !== ExportResultCode.SUCCESS) {
          hooks.onDropped(spans.length);
          // Cut short by shutdown: the flush timeout is reported once; this is not a failed export.
          if (!aborted) {
            hooks.onError(
              tracingError(
                'OBS_ERR_TRACING_EXPORT',
                `[@obs/tracing] could not export ${spans.length} span${spans.length === 1 ? '' : 's'} to ${target}: ${describe(result.error)}`,
                { cause: result.error },
              ),
            );
          }
        }
        done(result);
      };
      if (aborted) {
        finish({ code: ExportResultCode.FAILED, error: shutdownError() });
        return;
      }
      inflight.add(finish);
      try {
        inner.export(spans, finish);
      } catch (error) {
        finish({ code: ExportResultCode.FAILED, error: error as Error });
      }
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
  const batch = new BatchSpanProcessor(exporter, {
    maxQueueSize: settings.maxQueueSize,
    maxExportBatchSize: settings.maxExportBatchSize,
    scheduledDelayMillis: settings.scheduledDelayMs,
    exportTimeoutMillis: settings.exportTimeoutMs,
  });
  return {
    onStart: () => {},
    onEnd(span) {
      if (pending >= settings.maxQueueSize) {
        hooks.onDropped(1);
        return;
      }
      pending++;
      batch.onEnd(span);
    },
    forceFlush: () => batch.forceFlush(),
    shutdown: () => batch.shutdown(),
    abort() {
      aborted = true;
      for (const finish of [...inflight]) finish({ code: ExportResultCode.FAILED, error: shutdownError() });
    },
  };
}

async function createExporter(
  settings: ResolvedTracing,
): Promise<{ exporter: SpanExporter; target: string; close?: () => void }> {
  if (settings.spanExporter !== undefined) return { exporter: settings.spanExporter, target: 'the custom exporter' };
  if (settings.exporter === 'console') return { exporter: new ConsoleSpanExporter(), target: 'the console' };
  if (settings.exporter === 'jaeger') {
    // Loaded on demand: the legacy exporter pulls jaeger-client and thriftrw, which nobody else needs.
    const { JaegerExporter } = await import('@opentelemetry/exporter-jaeger');
    const jaeger = new JaegerExporter({
      endpoint: settings.url,
      ...(settings.username === '' ? {} : { username: settings.username, password: settings.password }),
      // Read by jaeger-client's HTTPSender (not in the exporter's types): a hung collector is cut off.
      ...({ timeoutMs: settings.exportTimeoutMs } as object),
    });
    const exporter: SpanExporter = {
      export: (spans, done) => jaeger.export(spans, done),
      forceFlush: () => jaeger.forceFlush(),
      async shutdown() {
        await jaeger.forceFlush().catch(() => {});
        // JaegerExporter.shutdown() races its flush against a timer it never clears, which keeps the
        // process alive after stop. 2.11.0 is the last release of this deprecated package, so closing
        // its sender (and the sender's keep-alive agent) directly is stable.
        (jaeger as unknown as { _sender?: { close(): void } })._sender?.close();
      },
    };
    return { exporter, target: `${settings.url} (jaeger thrift)` };
  }
  const headers: Record<string, string> = { ...settings.headers };
  if (settings.username !== '') {
    headers['authorization'] ??= `Basic ${Buffer.from(`${settings.username}:${settings.password}`).toString('base64')}`;
  }
  // One agent we own, so that shutdown can close its sockets (the exporter never does). Closed, it fails every
  // request at once with an error the exporter does not retry: a retry would outlive shutdown by export_timeout.
  let agent: Agent | undefined;
  let closed = false;
  const config = {
    url: settings.url,
    headers,
    timeoutMillis: settings.exportTimeoutMs,
    httpAgentOptions: async (protocol: string): Promise<Agent> => {
      const http = protocol === 'https:' ? await import('node:https') : await import('node:http');
      const { Socket } = await import('node:net');
      const made = new http.Agent({ keepAlive: true, maxSockets: 4 });
      const open = made.createConnection.bind(made) as (...args: unknown[]) => unknown;
      (made as { createConnection: (...args: unknown[]) => unknown }).createConnection = (...args) => {
        if (!closed) return open(...args);
        const socket = new Socket();
        process.nextTick(() => socket.destroy(shutdownError()));
        return socket;
      };
      agent = made;
      return made;
    },
  };
  const { OTLPTraceExporter } =
    settings.protocol === 'http/json'
      ? await import('@opentelemetry/exporter-trace-otlp-http')
      : await import('@opentelemetry/exporter-trace-otlp-proto');
  return {
    exporter: new OTLPTraceExporter(config),
    target: `${settings.url} (otlp ${settings.protocol})`,
    close: () => {
      closed = true;
      if (agent === undefined) return;
      const sockets = [...Object.values(agent.sockets), ...Object.values(agent.freeSockets)].flat();
      for (const socket of sockets) socket?.destroy(shutdownError());
      agent.destroy();
    },
  };
}

/**
 * The sampler when spans stay in memory (no collector): `sample_rate` still decides which traces are *sampled*
 * (the W3C flag sent downstream, and what an exporter would send), but a trace that does not begin with an
 * incoming HTTP request (a job, an API call, `withSpan`, `tracedFetch`) is recorded whatever the ratio, so the
 * ring at /traces shows every one of them from the first minute (#20). An unsampled HTTP server request is still
 * not recorded at all, nor are its children: the middleware's hot path pays nothing more (#22).
 */
function memorySampler(ratio: number): Sampler {
  const byRatio = new TraceIdRatioBasedSampler(ratio);
  const record = { decision: SamplingDecision.RECORD };
  const drop = { decision: SamplingDecision.NOT_RECORD };
  const root: Sampler = {
    shouldSample(ctx, traceId, _name, kind) {
      const sampled = byRatio.shouldSample(ctx, traceId);
      if (sampled.decision === SamplingDecision.RECORD_AND_SAMPLED) return sampled;
      return kind === SpanKind.SERVER ? drop : record;
    },
    toString: () => `MemoryRing{${byRatio.toString()}}`,
  };
  // The child of a local span that is recorded but not sampled is recorded too: the ring keeps whole traces.
  const followLocal: Sampler = {
    shouldSample: (ctx) => (trace.getSpan(ctx)?.isRecording() === true ? record : drop),
    toString: () => 'FollowLocalRecording',
  };
  return new ParentBasedSampler({ root, localParentNotSampled: followLocal });
}

function registerGlobals(provider: TracerProvider): () => void {
  const conflict = (what: string): ObsError =>
    tracingError(
      'OBS_ERR_TRACING_GLOBAL_CONFLICT',
      `[@obs/tracing] another OpenTelemetry ${what} is already registered globally; stop it first, or pass registerGlobals: false`,
    );
  const manager = new AsyncLocalStorageContextManager().enable();
  if (!trace.setGlobalTracerProvider(provider)) {
    manager.disable();
    throw conflict('tracer provider');
  }
  if (!context.setGlobalContextManager(manager)) {
    trace.disable();
    manager.disable();
    throw conflict('context manager');
  }
  const propagator = new CompositePropagator({
    propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
  });
  if (!propagation.setGlobalPropagator(propagator)) {
    trace.disable();
    context.disable();
    throw conflict('propagator');
  }
  return () => {
    trace.disable();
    context.disable();
    propagation.disable();
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Flushing gets flush_timeout, but never all of shutdown_timeout: closing and the other plugins need their part,
// up to a second (half of a short shutdown_timeout). With 500 ms, a loaded machine once needed longer for the rest,
// and the demo passed its own deadline with a hanging collector (SIGTERM to exit 2,015 ms of 2,000).
function flushBudget(flushTimeoutMs: number, stopTimeoutMs: number | undefined): number {
  if (stopTimeoutMs === undefined) return flushTimeoutMs;
  return Math.max(0, Math.min(flushTimeoutMs, stopTimeoutMs - Math.min(1_000, stopTimeoutMs / 2)));
}

/** @internal Builds the provider (no I/O); `start` opens the exporter and registers the globals. */
export function createTracingRuntime(settings: ResolvedTracing, hooks: RuntimeHooks): TracingRuntime {
  if (!settings.enabled) {
    const tracer = trace.getTracer(SCOPE);
    return {
      provider: trace.getTracerProvider(),
      tracer,
      exporter: 'none',
      store: undefined,
      start: () => Promise.resolve(),
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
  }
  const memory =
    settings.exporter === 'memory' && settings.spanExporter === undefined
      ? createMemoryStore(settings.memoryMaxSpans)
      : undefined;
  // The provider is built now (so the tracer can be provided in setup); spans finished before start
  // have nowhere to go yet and are dropped without counting: nothing was ever promised for them.
  let sink: SpanProcessor | undefined = memory;
  let batch: AbortableProcessor | undefined;
  const front: SpanProcessor = {
    onStart: (_span: Span, _context: Context) => {},
    onEnd: (span) => sink?.onEnd(span),
    forceFlush: () => sink?.forceFlush() ?? Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
  const provider = new NodeTracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({
        ...settings.resourceAttributes,
        [ATTR_SERVICE_NAME]: settings.serviceName,
        [ATTR_SERVICE_VERSION]: settings.serviceVersion,
        [ATTR_SERVICE_INSTANCE_ID]: settings.instanceId === '' ? randomUUID() : settings.instanceId,
      }),
    ),
    sampler:
      memory === undefined
        ? new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sampleRate) })
        : memorySampler(settings.sampleRate),
    idGenerator: pooledIdGenerator,
    spanProcessors: [front],
  });
  const tracer = provider.getTracer(SCOPE);
  let close: (() => void) | undefined;
  let unregister: (() => void) | undefined;
  let started: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;

  async function start(): Promise<void> {
    if (memory === undefined) {
      const made = await createExporter(settings);
      close = made.close;
      batch = guardedBatch(made.exporter, settings, made.target, hooks);
      sink = batch;
    }
    if (settings.registerGlobals) unregister = registerGlobals(provider);
    // Both samplers decide a SERVER root by the ratio alone: the middleware may take that decision first.
    activate(provider, hooks.bus, ratioUpperBound(settings.sampleRate));
  }

  async function shutdown(): Promise<void> {
    await started?.catch(() => {});
    deactivate(provider);
    unregister?.();
    unregister = undefined;
    const current = sink;
    sink = undefined;
    if (current !== undefined && current !== memory) {
      const budget = flushBudget(settings.flushTimeoutMs, hooks.stopTimeoutMs);
      const flushed = await withTimeout(
        current.shutdown().then(
          () => 'done' as const,
          () => 'done' as const,
        ),
        budget,
      );
      if (flushed === 'timeout') {
        hooks.onError(
          tracingError(
            'OBS_ERR_TRACING_FLUSH_TIMEOUT',
            `[@obs/tracing] queued spans were not flushed within ${budget}ms; they are dropped`,
          ),
        );
        // Whatever export_timeout says, nothing of the export may outlive stop.
        batch?.abort();
      }
    }
    close?.();
    await provider.shutdown().catch(() => {});
  }

  return {
    provider,
    tracer,
    exporter: settings.spanExporter === undefined ? settings.exporter : 'custom',
    store: memory,
    start() {
      started ??= start();
      return started;
    },
    forceFlush: () => sink?.forceFlush() ?? Promise.resolve(),
    shutdown() {
      stopping ??= shutdown();
      return stopping;
    },
  };
}
