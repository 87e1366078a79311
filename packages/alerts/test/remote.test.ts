import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMonitor, type ObsEvents, silentLogger } from '@obs/core';
import { debianTool, freePort, type RunningTool, startTool } from '@obs/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Alert, alertsPlugin, createAlertEngine, createPrometheusQuery } from '../src/index.ts';

const prometheus = debianTool('prometheus');

describe.skipIf(prometheus === undefined)('remote mode against the real Debian prometheus', () => {
  let server: RunningTool;
  let url: string;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'obs-alerts-prom-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    // Prometheus scrapes itself every second: `up{job="self"}` is 1 once the first scrape is in.
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: self\n    static_configs: [{targets: ['127.0.0.1:${port}']}]\n`,
    );
    server = await startTool(
      prometheus!,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      async () => {
        const res = await fetch(`${url}/api/v1/query?query=up`);
        const body = (await res.json()) as { data: { result: unknown[] } };
        return body.data.result.length > 0;
      },
      30_000,
    );
  }, 40_000);
  afterAll(async () => {
    await server?.stop();
  });

  test('the same rules fire from /api/v1/query, with the labels the local engine would give', async () => {
    const changes: Alert[] = [];
    const engine = createAlertEngine({
      rules: [
        {
          name: 'SelfUp',
          expr: 'up{job="self"} == 1',
          labels: { severity: 'info' },
          annotations: { s: '{{ $labels.job }} is {{ $value }}' },
        },
        { name: 'Never', expr: 'up{job="nope"} == 1' },
      ],
      query: createPrometheusQuery({ url }),
      onChange: (a) => changes.push(a),
    });
    const alerts = await engine.evaluateAsync(Date.now());
    expect(alerts).toMatchObject([
      {
        rule: 'SelfUp',
        state: 'firing',
        value: 1,
        labels: { alertname: 'SelfUp', job: 'self', severity: 'info' },
        annotations: { s: 'self is 1' },
      },
    ]);
    expect(alerts[0]?.labels).not.toHaveProperty('__name__');
    expect(changes.map((c) => c.state)).toEqual(['firing']);
  });

  test('a query Prometheus refuses, or an unreachable server, becomes obs:error; the plugin keeps running', async () => {
    const errors: string[] = [];
    const engine = createAlertEngine({
      // Two series meet one on a one-to-one match: Prometheus refuses it at run time.
      rules: [
        {
          name: 'Bad',
          expr: '(label_replace(up, "x", "a", "", "") or label_replace(up, "x", "b", "", "")) / on(job) up',
        },
      ],
      query: createPrometheusQuery({ url }),
      onError: (e) => errors.push(e.code),
    });
    await engine.evaluateAsync(Date.now());
    const down = createAlertEngine({
      rules: [{ name: 'Down', expr: 'up == 1' }],
      query: createPrometheusQuery({ url: `http://127.0.0.1:${await freePort()}`, timeoutMs: 2000 }),
      onError: (e) => errors.push(e.code),
    });
    await down.evaluateAsync(Date.now());
    expect(errors).toEqual(['OBS_ERR_ALERTS_EVAL', 'OBS_ERR_ALERTS_EVAL']);
  });

  test('alertsPlugin in remote mode emits alert:changed', async () => {
    const monitor = createMonitor({
      config: { metrics_port: 0, health_port: 0, host: '127.0.0.1', alerts: { evaluation_interval: '100ms' } },
      plugins: [alertsPlugin({ rules: [{ name: 'SelfUp', expr: 'up{job="self"} == 1' }], remote: { url } })],
      logger: silentLogger,
    });
    const changed = new Promise<ObsEvents['alert:changed']>((resolve) => {
      monitor.bus.on('alert:changed', resolve);
    });
    await monitor.start();
    try {
      expect(await changed).toMatchObject({ rule: 'SelfUp', state: 'firing', labels: { job: 'self' } });
    } finally {
      await monitor.stop();
    }
  });
});
