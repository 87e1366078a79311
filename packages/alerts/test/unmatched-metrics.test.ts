import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MetricDescriptor, ObsLogger, ObsPlugin } from '@obs/core';
import { createMonitor } from '@obs/core';
import { describe, expect, test } from 'vitest';
import { main } from '../src/cli.ts';
import { alertsPlugin } from '../src/index.ts';

// A stand-in for @obs/metrics: only the service the check reads.
function metricSet(prefix: string): ObsPlugin {
  const descriptors: MetricDescriptor[] = [
    { name: `${prefix}api_requests_total`, type: 'counter', help: '', labelNames: ['endpoint', 'status'] },
    { name: `${prefix}api_duration_seconds`, type: 'histogram', help: '', labelNames: ['endpoint'] },
    { name: `${prefix}cache_hit_ratio`, type: 'gauge', help: '', labelNames: [] },
    { name: `${prefix}export_operations_total`, type: 'counter', help: '', labelNames: ['type', 'status'] },
  ];
  return { name: 'metric-set', setup: (ctx) => ctx.provide('metrics.descriptors', () => descriptors) };
}

async function warningsAtStart(plugins: ObsPlugin[], prometheus: Record<string, string> = {}): Promise<string[]> {
  const warnings: string[] = [];
  const logger: ObsLogger = { debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {} };
  const monitor = createMonitor({
    config: { metrics_port: 0, health_port: 0, host: '127.0.0.1', prometheus },
    plugins,
    logger,
  });
  await monitor.start();
  await monitor.stop();
  return warnings.filter((w) => w.includes('no metric of this app'));
}

describe('a rule that selects no metric of the live metric set (issue 23)', () => {
  test('is a warning at start naming the rule and the metric', async () => {
    const warnings = await warningsAtStart([
      metricSet('trakt_'),
      alertsPlugin({
        notifications: false,
        rules: [
          { name: 'Typo', expr: 'rate(trakt_api_request_total[5m]) > 1' },
          { name: 'Latency', expr: 'histogram_quantile(0.9, rate(trakt_api_duration_seconds_bucket[5m])) > 1' },
          { name: 'Meta', expr: 'up == 0 or ALERTS{alertname="x"}' },
        ],
      }),
    ]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('"Typo"');
    expect(warnings[0]).toContain('trakt_api_request_total');
  });

  test("the shipped rules under the seed's subsystem match the metrics and warn of nothing", async () => {
    const prometheus = { namespace: 'trakt', subsystem: 'exporter' };
    expect(
      await warningsAtStart([metricSet('trakt_exporter_'), alertsPlugin({ notifications: false })], prometheus),
    ).toEqual([]);
    // The shipped rules against metrics under another prefix: each rule is named with its metric.
    const stale = await warningsAtStart([metricSet('other_'), alertsPlugin({ notifications: false })], prometheus);
    expect(stale.join('\n')).toContain('"API Error Rate High"');
    expect(stale.join('\n')).toContain('trakt_exporter_api_requests_total');
    expect(stale.join('\n')).toContain('"Cache Hit Ratio Low"');
  });

  test('without @obs/metrics there is nothing to compare with, and nothing is said', async () => {
    expect(await warningsAtStart([alertsPlugin({ notifications: false })])).toEqual([]);
  });

  test('obs-alerts check --metrics fails on it, naming the rule and the metric; a recording output is known', () => {
    const dir = mkdtempSync(join(tmpdir(), 'obs-alerts-unmatched-'));
    const metrics = join(dir, 'metrics.txt');
    writeFileSync(
      metrics,
      [
        '# HELP app_api_requests_total Total API requests',
        '# TYPE app_api_requests_total counter',
        'app_api_requests_total{endpoint="a",status="200"} 3',
        '# TYPE app_api_duration_seconds histogram',
        'app_api_duration_seconds_bucket{le="+Inf"} 3',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'good.yml'),
      [
        'groups:',
        '  - name: g',
        '    rules:',
        '      - record: endpoint:errors:rate5m',
        '        expr: sum by (endpoint) (rate(app_api_requests_total{status=~"[45]..|0"}[5m]))',
        '      - alert: Errors',
        '        expr: endpoint:errors:rate5m > 0.1',
        '      - alert: Slow',
        '        expr: rate(app_api_duration_seconds_sum[5m]) / rate(app_api_duration_seconds_count[5m]) > 1',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'bad.yml'),
      'alerts:\n  - name: Wrong prefix\n    condition: trakt_cache_hit_ratio < 0.5\n',
    );
    const out: string[] = [];
    const err: string[] = [];
    const run = (...args: string[]) =>
      main(
        args,
        (s) => out.push(s),
        (s) => err.push(s),
      );
    expect(run('check', '--metrics', metrics, join(dir, 'good.yml'))).toBe(0);
    expect(run('check', join(dir, 'bad.yml'))).toBe(0);
    expect(err).toEqual([]);
    expect(run('check', '--metrics', metrics, join(dir, 'bad.yml'))).toBe(1);
    expect(err.join('')).toContain('rule "Wrong prefix" selects trakt_cache_hit_ratio');
  });
});
