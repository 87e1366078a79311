import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMonitor, loadConfig, type Monitor, silentLogger } from '@obs/core';
import { describe, expect, test } from 'vitest';
import { healthPlugin, type SeedHealthJson } from '../src/index.ts';

const config = { metrics_port: 0, health_port: 0, host: '127.0.0.1' };

async function health(monitor: Monitor): Promise<SeedHealthJson> {
  const res = await fetch(new URL('/health?refresh', monitor.url('health')));
  return (await res.json()) as SeedHealthJson;
}

describe('the checks that need no input are on by default (issue 23)', () => {
  test('healthPlugin() alone serves memory and disk_space, and cache from the first cache statistics on', async () => {
    await using monitor = await createMonitor({ config, plugins: [healthPlugin()], logger: silentLogger }).start();
    const before = await health(monitor);
    expect(Object.keys(before.checks).sort()).toEqual(['disk_space', 'memory']);
    expect(before.checks['disk_space']?.details).toMatchObject({ path: process.cwd() });
    monitor.updateCacheStats(0.847, 1.2 * 1024 * 1024, 456);
    const after = await health(monitor);
    // The cache check saw the statistics that made it join.
    expect(after.checks['cache']).toMatchObject({ status: 'healthy', details: { hit_ratio: 0.847, entries: 456 } });
  });

  test('configurable off, one by one or all; disk_path is relative to the TOML file', async () => {
    await using none = await createMonitor({
      config,
      plugins: [healthPlugin({ defaultChecks: false })],
      logger: silentLogger,
    }).start();
    none.updateCacheStats(0.5, 10);
    expect((await health(none)).checks).toEqual({});

    const dir = mkdtempSync(join(tmpdir(), 'obs-health-defaults-'));
    mkdirSync(join(dir, 'exports'));
    const file = join(dir, 'app.toml');
    writeFileSync(
      file,
      '[monitoring]\nmetrics_port = 0\nhealth_port = 0\nhost = "127.0.0.1"\n[monitoring.health]\ndefault_checks = ["disk_space"]\ndisk_path = "exports"\n',
    );
    const plugin = healthPlugin();
    await using some = await createMonitor({
      config: loadConfig({ file, env: {}, plugins: [plugin] }),
      plugins: [plugin],
      logger: silentLogger,
    }).start();
    const report = await health(some);
    expect(Object.keys(report.checks)).toEqual(['disk_space']);
    expect(report.checks['disk_space']?.details).toMatchObject({ path: join(dir, 'exports') });
  });

  test("a check of the same name from the app replaces the default, and a restart doesn't duplicate them", async () => {
    const plugin = healthPlugin({
      checks: [{ name: 'memory', check: () => ({ status: 'degraded', message: 'mine' }) }],
    });
    const monitor = createMonitor({ config, plugins: [plugin], logger: silentLogger });
    await monitor.start();
    expect((await health(monitor)).checks['memory']).toMatchObject({ status: 'degraded', message: 'mine' });
    await monitor.stop();
    expect(plugin.checker.names()).toEqual(['memory']);
  });
});
