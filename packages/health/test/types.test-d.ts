import { createMonitor, type ObsServices } from '@obs/core';
import { describe, expectTypeOf, test } from 'vitest';
import { type HealthCheck, type HealthChecker, type HealthPlugin, healthPlugin } from '../src/index.ts';

describe('types', () => {
  test('health.checker is a typed service', () => {
    expectTypeOf<ObsServices['health.checker']>().toEqualTypeOf<HealthChecker>();
    const monitor = createMonitor({ plugins: [healthPlugin()] });
    expectTypeOf(monitor.service('health.checker').register).parameter(0).toEqualTypeOf<HealthCheck>();
  });

  test('the plugin and check shapes', () => {
    expectTypeOf(healthPlugin()).toEqualTypeOf<HealthPlugin>();
    expectTypeOf<HealthPlugin['name']>().toEqualTypeOf<'@obs/health'>();
    const check: HealthCheck = {
      name: 'db',
      check: async ({ signal }) => ({ status: signal.aborted ? 'unhealthy' : 'healthy' }),
    };
    expectTypeOf(check.check).returns.toEqualTypeOf<ReturnType<HealthCheck['check']>>();
    // @ts-expect-error a status outside the three is rejected
    const bad: HealthCheck = { name: 'x', check: () => ({ status: 'ok' }) };
    void bad;
  });
});
