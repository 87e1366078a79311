import { createMonitor, type ObsServices } from '@obs/core';
import { describe, expectTypeOf, test } from 'vitest';
import { healthError } from '../src/errors.ts';
import {
  type HealthCheck,
  type HealthChecker,
  type HealthErrorCode,
  type HealthPlugin,
  type healthErrorCodes,
  healthPlugin,
} from '../src/index.ts';

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

  test('error codes are a closed union: a misspelt code does not compile (#20)', () => {
    expectTypeOf<keyof typeof healthErrorCodes>().toEqualTypeOf<HealthErrorCode>();
    expectTypeOf<'OBS_ERR_HEALTH_CHECK_INVALID'>().toExtend<HealthErrorCode>();
    // @ts-expect-error a code with a typo is not a HealthErrorCode
    healthError('OBS_ERR_HEALTH_CHEK_INVALID', 'x');
    // @ts-expect-error another package's code is not one either
    healthError('OBS_ERR_TRACING_USAGE', 'x');
  });
});
