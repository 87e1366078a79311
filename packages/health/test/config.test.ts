import { createMonitor, loadConfig, silentLogger } from '@obs/core';
import { describe, expect, test } from 'vitest';
import { healthConfigSection, healthPlugin } from '../src/index.ts';

describe('[monitoring.health] keys added by @obs/health', () => {
  test('defaults, validation, and environment overrides', () => {
    const config = loadConfig({ env: {}, sections: [healthConfigSection] });
    expect(config.health).toMatchObject({
      livez_endpoint: '/livez',
      readyz_endpoint: '/readyz',
      critical_unhealthy: 'unhealthy',
      non_critical_unhealthy: 'degraded',
      any_degraded: 'degraded',
    });
    const fromEnv = loadConfig({
      env: { MONITORING_HEALTH_NON_CRITICAL_UNHEALTHY: 'unhealthy', MONITORING_HEALTH_READYZ_ENDPOINT: '/ready' },
      sections: [healthConfigSection],
    });
    expect(fromEnv.health).toMatchObject({ non_critical_unhealthy: 'unhealthy', readyz_endpoint: '/ready' });
    expect(() =>
      loadConfig({ env: {}, overrides: { health: { any_degraded: 'fine' } }, sections: [healthConfigSection] }),
    ).toThrow(expect.objectContaining({ code: 'OBS_ERR_CONFIG_INVALID' }));
  });

  test('a config loaded without the section gets it from the plugin in createMonitor', async () => {
    const config = loadConfig({ env: {}, overrides: { metrics_port: 0, health_port: 0, host: '127.0.0.1' } });
    const monitor = createMonitor({ config, plugins: [healthPlugin()], logger: silentLogger });
    await monitor.start();
    try {
      expect(monitor.config.health.readyz_endpoint).toBe('/readyz');
      expect((await fetch(new URL('/readyz', monitor.url('health')))).status).toBe(200);
    } finally {
      await monitor.stop();
    }
  });
});
