// Issue #18: histograms of the app's own (`metrics.histogram()`), native like the built-in ones.
import { execFileSync } from 'node:child_process';
import { createMonitor, ObsConfigError, silentLogger } from '@obs/core';
import { debianTool, waitUntil } from '@obs/testing';
import { describe, expect, test } from 'vitest';
import { createMetrics, metricsPlugin } from '../src/index.ts';
import { decodeMetricFamilies } from './fixtures/metric-family-decoder.ts';

const promtool = debianTool('promtool');

function configError(f: () => unknown): ObsConfigError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ObsConfigError);
    return err as ObsConfigError;
  }
  throw new Error('did not throw');
}

describe('metrics.histogram()', () => {
  test('classic and native buckets, in text (promtool-clean) and in protobuf', async () => {
    const metrics = createMetrics({ defaultMetrics: false, nativeHistograms: true });
    const steps = metrics.histogram({
      name: 'job_step_duration_seconds',
      help: 'Duration of each step of the job',
      labelNames: ['step'],
      buckets: [0.1, 1],
    });
    steps.observe({ step: 'fetch' }, 0.5);
    steps.observe({ step: 'fetch' }, 3);
    steps.observe({ step: 'write' }, 0.05);
    const text = await metrics.render();
    expect(text).toContain('# TYPE job_step_duration_seconds histogram');
    expect(text).toContain('job_step_duration_seconds_bucket{le="1",step="fetch"} 1');
    expect(text).toContain('job_step_duration_seconds_count{step="fetch"} 2');
    if (promtool !== undefined)
      expect(execFileSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' })).toBe('');
    const family = decodeMetricFamilies(await metrics.encode()).find((f) => f.name === 'job_step_duration_seconds')!;
    const fetch = family.metrics.find((m) => m.labels['step'] === 'fetch')!.histogram!;
    // Schema 3 (bucket_factor 1.1): 0.5 = 2^-1 ends bucket -8, 3 lies in (2^(12/8), 2^(13/8)]: bucket 13.
    expect(fetch).toMatchObject({ schema: 3, sampleCount: 2, sampleSum: 3.5 });
    expect(fetch.positiveSpans).toEqual([
      { offset: -8, length: 1 },
      { offset: 20, length: 1 },
    ]);
  });

  test('without labels, native only, and its own options over the set', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const batch = metrics.histogram({
      name: 'batch_size',
      help: 'Items per batch',
      nativeHistograms: { bucketFactor: 2, classicBuckets: false },
    });
    batch.observe(12);
    const text = await metrics.render();
    expect(text).toContain('batch_size_bucket{le="+Inf"} 1');
    expect(text).not.toContain('le="0.005"');
    const h = decodeMetricFamilies(await metrics.encode()).find((f) => f.name === 'batch_size')!.metrics[0]!.histogram!;
    expect(h).toMatchObject({ schema: 0, sampleCount: 1, positiveSpans: [{ offset: 4, length: 1 }] });
  });

  test('bad options are one config error naming each; a bad observation is reported and dropped', async () => {
    const errors: Error[] = [];
    const metrics = createMetrics({ defaultMetrics: false, onError: (e) => errors.push(e) });
    const err = configError(() =>
      metrics.histogram({
        name: 'bad-name',
        help: '',
        labelNames: ['le', 'step', 'step'],
        buckets: [1, 0.5],
        nativeHistograms: { bucketFactor: 1 },
      }),
    );
    expect(err.issues.map((i) => i.path)).toEqual([
      'name',
      'help',
      'labelNames[0]',
      'labelNames[2]',
      'buckets[1]',
      'nativeHistograms.bucketFactor',
    ]);
    metrics.histogram({ name: 'taken_seconds', help: 'x' });
    expect(configError(() => metrics.histogram({ name: 'taken_seconds', help: 'x' })).message).toContain(
      'already registered',
    );
    const h = metrics.histogram({ name: 'step_seconds', help: 'x', labelNames: ['step'] });
    h.observe({ stage: 'fetch' }, 1);
    h.observe({ step: 'fetch' }, 'slow' as never);
    h.observe(1);
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringContaining('step_seconds.observe: labels must be strings named ["step"]'),
      expect.stringContaining('step_seconds.observe: the value must be a number'),
      expect.stringContaining('step_seconds.observe: labels must be strings named ["step"]'),
    ]);
    expect(await metrics.render()).not.toContain('step_seconds_count');
  });

  test("in the plugin: the embedded store keeps its native series, PromQL's histogram functions read it", async () => {
    const monitor = await createMonitor({
      config: {
        metrics_port: 0,
        health_port: 0,
        host: '127.0.0.1',
        prometheus: { default_metrics: false, native_histograms: true, collect_interval: '1s' },
      },
      plugins: [metricsPlugin()],
      logger: silentLogger,
    }).start();
    try {
      const steps = monitor.service('metrics').histogram({ name: 'step_seconds', help: 'Steps', labelNames: ['step'] });
      for (const v of [0.1, 0.2, 0.4, 0.8]) steps.observe({ step: 'fetch' }, v);
      const url = new URL('/api/v1/query', monitor.url('metrics'));
      url.searchParams.set('query', 'histogram_count(step_seconds{step="fetch"})');
      const body = await waitUntil(
        async () => {
          const b = (await (await fetch(url)).json()) as { data: { result: { value: [number, string] }[] } };
          return b.data.result[0]?.value[1] === '4' ? b : undefined;
        },
        { what: 'the store to collect the histogram', timeoutMs: 10_000, intervalMs: 100 },
      );
      expect(body.data.result).toHaveLength(1);
    } finally {
      await monitor.stop();
    }
  });
});
