import type { AlertRuleDescriptor, ObsPlugin, ObsServices } from '@obs/core';
import { expectTypeOf, test } from 'vitest';
import { type AlertEngine, type AlertsPlugin, alertsPlugin } from '../src/index.ts';

test('alertsPlugin is an ObsPlugin with its engine', () => {
  expectTypeOf(alertsPlugin()).toExtend<ObsPlugin>();
  expectTypeOf<AlertsPlugin['name']>().toEqualTypeOf<'@obs/alerts'>();
  expectTypeOf<AlertsPlugin['engine']>().toEqualTypeOf<AlertEngine>();
});

test('the alerts.rules service returns descriptors', () => {
  expectTypeOf<ReturnType<ObsServices['alerts.rules']>>().toEqualTypeOf<readonly AlertRuleDescriptor[]>();
});
