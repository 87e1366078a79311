import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { metricsError } from './errors.ts';
import type { JsonMetric } from './internal/families.ts';
import { type NativeSnapshot, nativeKey } from './internal/native-histogram.ts';

/** Native histograms of every process, by family name and label set (`nativeKey`), to be summed. */
export type NativeParts = Map<string, Map<string, NativeSnapshot[]>>;

function collectNatives(answers: readonly unknown[][]): NativeParts {
  const parts: NativeParts = new Map();
  for (const metrics of answers)
    for (const metric of metrics as JsonMetric[]) {
      if (metric.natives === undefined) continue;
      let byLabels = parts.get(metric.name);
      if (byLabels === undefined) {
        byLabels = new Map();
        parts.set(metric.name, byLabels);
      }
      for (const native of metric.natives) {
        const key = nativeKey(native.labels);
        const list = byLabels.get(key) ?? [];
        list.push(native);
        byLabels.set(key, list);
      }
    }
  return parts;
}

const REQUEST = 'obs:metrics:request';
const RESPONSE = 'obs:metrics:response';

interface Request {
  readonly type: typeof REQUEST;
  readonly id: number;
}
interface Response {
  readonly type: typeof RESPONSE;
  readonly id: number;
  readonly metrics?: unknown[];
  readonly error?: string;
}

/** In a cluster worker: answers the primary's metrics requests from `registry`. Returns the uninstaller. */
export function answerClusterRequests(registry: Registry): () => void {
  const onMessage = (message: unknown): void => {
    if (typeof message !== 'object' || message === null || (message as Request).type !== REQUEST) return;
    const { id } = message as Request;
    registry.getMetricsAsJSON().then(
      (metrics) => process.send?.({ type: RESPONSE, id, metrics } satisfies Response),
      (err: unknown) => process.send?.({ type: RESPONSE, id, error: (err as Error).message } satisfies Response),
    );
  };
  process.on('message', onMessage);
  return () => void process.off('message', onMessage);
}

let nextId = 0;

/**
 * In the primary: asks every connected worker for its metrics and aggregates them with the primary's
 * own (counters and histograms summed, native histograms too; gauges by each metric's aggregator). A
 * worker that does not answer within `timeoutMs` is left out and reported.
 */
export async function gatherCluster(
  own: Registry,
  timeoutMs: number,
  onError: (error: Error) => void,
): Promise<{ registry: Registry; natives: NativeParts }> {
  const workers = Object.values(cluster.workers ?? {}).filter((w) => w?.isConnected());
  const id = nextId++;
  const answers = await new Promise<unknown[][]>((resolve) => {
    const collected: unknown[][] = [];
    const waiting = new Set(workers.map((w) => w!.id));
    const finish = (): void => {
      clearTimeout(timer);
      cluster.off('message', onMessage);
      if (waiting.size > 0) {
        onError(
          metricsError(
            'OBS_ERR_METRICS_CLUSTER',
            `[@obs/metrics] ${waiting.size} cluster worker(s) did not answer within ${timeoutMs}ms; their metrics are missing from this scrape`,
          ),
        );
      }
      resolve(collected);
    };
    const onMessage = (worker: { id: number }, message: unknown): void => {
      const m = message as Response;
      if (typeof m !== 'object' || m === null || m.type !== RESPONSE || m.id !== id || !waiting.has(worker.id)) return;
      waiting.delete(worker.id);
      if (m.error !== undefined) {
        onError(
          metricsError(
            'OBS_ERR_METRICS_CLUSTER',
            `[@obs/metrics] cluster worker ${worker.id} failed to collect: ${m.error}`,
          ),
        );
      } else if (m.metrics !== undefined) collected.push(m.metrics);
      if (waiting.size === 0) finish();
    };
    const timer = setTimeout(finish, timeoutMs);
    cluster.on('message', onMessage);
    for (const worker of workers) {
      try {
        worker!.send({ type: REQUEST, id } satisfies Request);
      } catch {
        waiting.delete(worker!.id);
      }
    }
    if (waiting.size === 0) finish();
  });
  answers.push(await own.getMetricsAsJSON());
  return {
    registry: AggregatorRegistry.aggregate(answers as never) as unknown as Registry,
    natives: collectNatives(answers),
  };
}
