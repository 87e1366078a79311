// Remote write 1.0 from the embedded store: each collection's samples go into a bounded queue, sent in
// batches by one sender (so each series' samples arrive in order), retried with backoff on 5xx, 429 and
// network errors, dropped with a reason on other 4xx, and flushed once more at stop.
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import type { MetricSample, ObsLogger } from '@obs/core';
import { type ObsError, redactUrl } from '@obs/core';
import { labelsKey, type NamedSample } from '@obs/promql';
import { metricsError } from './errors.ts';
import {
  type EncodedSeries,
  encodeHistogram,
  encodeLabels,
  encodeWriteRequest,
  type Metadata,
  snappyBlock,
} from './internal/remote-write-proto.ts';

/** What happened to samples: `sent` (2xx), `retried` (an attempt failed, to be sent again), `rejected` (4xx), `dropped` (queue full, or unsent at stop). */
export type RemoteWriteOutcome = 'sent' | 'retried' | 'rejected' | 'dropped';

/** @internal Options of {@link createRemoteWriter}, from `[monitoring.prometheus]`. */
export interface RemoteWriterOptions {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly bearerToken: string;
  readonly username: string;
  readonly password: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly maxSamplesPerSend: number;
  readonly capacity: number;
  /** Added to every series that lacks the label (series labels win, as Prometheus's external labels). */
  readonly externalLabels: Readonly<Record<string, string>>;
  readonly metadata: () => readonly Metadata[];
  readonly onOutcome: (outcome: RemoteWriteOutcome, samples: number) => void;
  readonly onError: (error: ObsError) => void;
  readonly logger: ObsLogger;
  /** @default 100 */
  readonly minBackoffMs?: number;
  /** @default 5000 */
  readonly maxBackoffMs?: number;
  /** How often metadata goes along with a request. @default 60000 */
  readonly metadataIntervalMs?: number;
}

/** @internal The sender the plugin feeds. */
export interface RemoteWriter {
  /**
   * Queues a collection (floats, and the native histogram samples of the same collection); series seen last time
   * and missing now get a staleness marker at `at`.
   */
  enqueue(at: number, samples: readonly MetricSample[], histograms?: readonly NamedSample[]): void;
  start(): void;
  /** Sends what is queued (resolves when the queue is empty, or a retry is waiting). */
  flush(): Promise<void>;
  /** Stops the timer and sends what is queued, for at most `timeoutMs`; what is left is dropped and reported. */
  stop(timeoutMs: number): Promise<void>;
  /** Samples waiting. */
  pending(): number;
}

const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
/** The User-Agent of remote write requests. */
const USER_AGENT: string = `@obs/metrics/${VERSION}`;

export { RESERVED_HEADERS } from './internal/reserved-headers.ts';

interface SeriesRef extends EncodedSeries {
  gen: number;
  /** False once the series ended (it got its staleness marker). */
  alive: boolean;
}

function retryAfterMs(header: string | null): number {
  if (header === null) return 0;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? 0 : Math.max(0, at - Date.now());
}

/** @internal Creates the remote writer (no I/O until `start`, `flush` or `stop`). */
export function createRemoteWriter(options: RemoteWriterOptions): RemoteWriter {
  const { capacity, maxSamplesPerSend, onOutcome, onError } = options;
  const minBackoff = options.minBackoffMs ?? 100;
  const maxBackoff = options.maxBackoffMs ?? 5_000;
  const metadataInterval = options.metadataIntervalMs ?? 60_000;
  const url = new URL(options.url);
  const headers: Record<string, string> = { ...options.headers };
  if (url.username !== '' || url.password !== '') {
    headers['authorization'] =
      `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  if (options.username !== '')
    headers['authorization'] = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
  if (options.bearerToken !== '') headers['authorization'] = `Bearer ${options.bearerToken}`;
  Object.assign(headers, {
    'content-encoding': 'snappy',
    'content-type': 'application/x-protobuf',
    'x-prometheus-remote-write-version': '0.1.0',
    'user-agent': USER_AGENT,
  });
  const target = url.href;
  const where = redactUrl(target);
  const external = Object.entries(options.externalLabels).filter(([, v]) => v !== '');

  // The queue: a ring of parallel arrays, so a long outage costs 17 bytes and a pointer a sample.
  const series: (SeriesRef | undefined)[] = new Array(capacity);
  const t = new Float64Array(capacity);
  const v = new Float64Array(capacity);
  const stale = new Uint8Array(capacity);
  // The few slots that hold a native histogram: its encoded prompb.Histogram (about 100 bytes for 20 buckets).
  const histogramAt = new Map<number, Uint8Array>();
  let head = 0;
  let count = 0;
  const known = new Map<string, SeriesRef>();
  let gen = 0;
  let lastAt = 0;

  let timer: NodeJS.Timeout | undefined;
  let draining: Promise<void> | undefined;
  let deadline = Number.POSITIVE_INFINITY;
  // Aborts a request still in flight when the stop deadline passes.
  const stopping = new AbortController();
  let wake: (() => void) | undefined;
  let failing = false;
  let warnedFull = false;
  const rejectedStatuses = new Set<number>();
  let metadataAt = Number.NEGATIVE_INFINITY;

  const push = (ref: SeriesRef, at: number, value: number, isStale: boolean, histogram?: Uint8Array): boolean => {
    if (count === capacity) return false;
    const i = (head + count) % capacity;
    series[i] = ref;
    t[i] = at;
    v[i] = value;
    stale[i] = isStale ? 1 : 0;
    if (histogram !== undefined) histogramAt.set(i, histogram);
    count++;
    return true;
  };

  // Our families hand out the same labels object at every collection: a lookup by identity skips building
  // the series key, which is most of the cost of a collection.
  const byObject = new WeakMap<object, Map<string, SeriesRef>>();

  const refFor = (s: { readonly name: string; readonly labels: Readonly<Record<string, string>> }): SeriesRef => {
    let names = byObject.get(s.labels);
    const fast = names?.get(s.name);
    if (fast?.alive === true) return fast;
    const ref = slowRef(s);
    if (names === undefined) {
      names = new Map();
      byObject.set(s.labels, names);
    }
    names.set(s.name, ref);
    return ref;
  };

  const slowRef = (s: { readonly name: string; readonly labels: Readonly<Record<string, string>> }): SeriesRef => {
    const all: Record<string, string> = { ...s.labels, __name__: s.name };
    const key = labelsKey(all);
    let ref = known.get(key);
    if (ref === undefined) {
      for (const [k, value] of external) if (all[k] === undefined || all[k] === '') all[k] = value;
      // Prometheus wants the labels sorted by name and drops empty values.
      const pairs = Object.entries(all)
        .filter(([, value]) => value !== '')
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      ref = { labels: encodeLabels(pairs), gen, alive: true };
      known.set(key, ref);
    }
    return ref;
  };

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timeout);
        wake = undefined;
        resolve();
      };
      const timeout = setTimeout(done, ms);
      wake = done;
    });

  type Attempt = { readonly ok: true } | { readonly ok: false; readonly retry: boolean; readonly afterMs: number };

  // node:http with an agent of our own rather than fetch: its keep-alive sockets and timers end at stop
  // (undici's global pool outlives the plugin), and a request times out on its socket, not on a timer.
  const agent = new (url.protocol === 'https:' ? https : http).Agent({ keepAlive: true, maxSockets: 1 });
  const post = (body: Uint8Array): Promise<{ status: number; text: string; retryAfter: string | null }> =>
    new Promise((resolve, reject) => {
      const req = (url.protocol === 'https:' ? https : http).request(
        url,
        { method: 'POST', agent, headers: { ...headers, 'content-length': `${body.length}` }, signal: stopping.signal },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            if (size < 4096) chunks.push(chunk);
            size += chunk.length;
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              text: redactUrl(Buffer.concat(chunks).toString('utf8').slice(0, 300).trim()),
              retryAfter: (res.headers['retry-after'] as string | undefined) ?? null,
            }),
          );
          res.on('error', reject);
        },
      );
      req.setTimeout(options.timeoutMs, () =>
        req.destroy(Object.assign(new Error(`no answer within ${options.timeoutMs} ms`), { code: 'ETIMEDOUT' })),
      );
      req.on('error', reject);
      req.end(body);
    });

  async function send(body: Uint8Array, n: number): Promise<Attempt> {
    let response: { status: number; text: string; retryAfter: string | null };
    try {
      response = await post(body);
    } catch (err) {
      if (!failing) {
        failing = true;
        const cause = (err as { code?: string; message: string }).code ?? (err as Error).message;
        onError(
          metricsError(
            'OBS_ERR_METRICS_REMOTE_WRITE',
            `[@obs/metrics] remote write to ${where} failed: ${redactUrl(cause)}; retrying with backoff (up to ${capacity} samples wait in the queue)`,
            { cause: err },
          ),
        );
      }
      return { ok: false, retry: true, afterMs: 0 };
    }
    const { text } = response;
    const { status } = response;
    if (status >= 200 && status < 300) {
      if (failing) options.logger.info(`[@obs/metrics] remote write to ${where} works again`);
      failing = false;
      return { ok: true };
    }
    if (status === 429 || status >= 500) {
      if (!failing) {
        failing = true;
        onError(
          metricsError(
            'OBS_ERR_METRICS_REMOTE_WRITE',
            `[@obs/metrics] the remote write receiver at ${where} answered ${status}: ${text}; retrying with backoff (up to ${capacity} samples wait in the queue)`,
          ),
        );
      }
      return { ok: false, retry: true, afterMs: retryAfterMs(response.retryAfter) };
    }
    // Other answers (400, 401, 403, 404, 413...) will not change by sending the same request again.
    if (!rejectedStatuses.has(status)) {
      rejectedStatuses.add(status);
      onError(
        metricsError(
          'OBS_ERR_METRICS_REMOTE_WRITE',
          `[@obs/metrics] the remote write receiver at ${where} answered ${status}: ${text}; ${n} samples dropped, not retried (later ${status} answers are only counted in obs_remote_write_samples_total{outcome="rejected"})`,
        ),
      );
    }
    return { ok: false, retry: false, afterMs: 0 };
  }

  async function drain(): Promise<void> {
    while (count > 0 && Date.now() < deadline) {
      const n = Math.min(count, maxSamplesPerSend);
      const indices: number[] = new Array(n);
      for (let k = 0; k < n; k++) indices[k] = (head + k) % capacity;
      const withMetadata = Date.now() - metadataAt >= metadataInterval;
      const body = snappyBlock(
        encodeWriteRequest(
          series as EncodedSeries[],
          t,
          v,
          stale,
          indices,
          withMetadata ? options.metadata() : [],
          histogramAt,
        ),
      );
      for (let attempt = 0; ; attempt++) {
        const result = await send(body, n);
        if (result.ok) {
          onOutcome('sent', n);
          if (withMetadata) metadataAt = Date.now();
          break;
        }
        if (!result.retry) {
          onOutcome('rejected', n);
          break;
        }
        onOutcome('retried', n);
        const wait = Math.max(Math.min(maxBackoff, minBackoff * 2 ** attempt), Math.min(result.afterMs, 60_000));
        if (Date.now() + wait >= deadline) return;
        await sleep(wait);
        if (Date.now() >= deadline) return;
      }
      for (const i of indices) series[i] = undefined;
      if (histogramAt.size > 0) for (const i of indices) histogramAt.delete(i);
      head = (head + n) % capacity;
      count -= n;
    }
  }

  const flush = (): Promise<void> => {
    draining ??= drain().finally(() => {
      draining = undefined;
    });
    return draining;
  };

  return {
    pending: () => count,
    enqueue(when, samples, histograms = []) {
      // Prometheus refuses a second, different sample at the same timestamp: two collections in one ms are apart by 1.
      const at = Math.max(when, lastAt + 1);
      lastAt = at;
      gen++;
      let dropped = 0;
      for (const s of samples) {
        const ref = refFor(s);
        ref.gen = gen;
        if (!push(ref, at, s.value, false)) dropped++;
      }
      for (const s of histograms) {
        if (s.histogram === undefined) continue;
        const ref = refFor(s);
        ref.gen = gen;
        if (!push(ref, at, 0, false, encodeHistogram(s.histogram, at))) dropped++;
      }
      // A series that was collected last time and not now has ended: Prometheus marks it stale at once.
      for (const [key, ref] of known) {
        if (ref.gen === gen) continue;
        known.delete(key);
        ref.alive = false;
        if (!push(ref, at, Number.NaN, true)) dropped++;
      }
      if (dropped > 0) {
        onOutcome('dropped', dropped);
        if (!warnedFull) {
          warnedFull = true;
          options.logger.warn(
            `[@obs/metrics] the remote write queue is full (remote_write_queue_capacity = ${capacity} samples): new samples are dropped and counted in obs_dropped_total{what="remote_write"} until ${where} takes them`,
          );
        }
      }
    },
    start() {
      timer = setInterval(() => void flush(), options.intervalMs);
      timer.unref();
    },
    flush,
    async stop(timeoutMs) {
      clearInterval(timer);
      timer = undefined;
      deadline = Date.now() + timeoutMs;
      const cut = setTimeout(() => {
        stopping.abort();
        wake?.();
      }, timeoutMs);
      // A retry waiting for its backoff tries again now, within the deadline.
      wake?.();
      await draining;
      await flush();
      clearTimeout(cut);
      agent.destroy();
      if (count > 0) {
        const left = count;
        onOutcome('dropped', left);
        onError(
          metricsError(
            'OBS_ERR_METRICS_REMOTE_WRITE',
            `[@obs/metrics] ${left} samples were not sent to ${where} within shutdown_timeout (${timeoutMs} ms): dropped`,
          ),
        );
        series.fill(undefined);
        histogramAt.clear();
        count = 0;
      }
    },
  };
}
