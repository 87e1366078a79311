import type { AlertRuleDescriptor, ObsPlugin, ObsServices } from '@obs/core';
import { expectTypeOf, test } from 'vitest';
import {
  type AlertEngine,
  type AlertsPlugin,
  alertsPlugin,
  createSampleStore,
  evaluate,
  type PromValue,
  type SampleSource,
} from '../src/index.ts';

test('alertsPlugin is an ObsPlugin with its engine', () => {
  expectTypeOf(alertsPlugin()).toExtend<ObsPlugin>();
  expectTypeOf<AlertsPlugin['name']>().toEqualTypeOf<'@obs/alerts'>();
  expectTypeOf<AlertsPlugin['engine']>().toEqualTypeOf<AlertEngine>();
});

test('the alerts.rules service returns descriptors', () => {
  expectTypeOf<ReturnType<ObsServices['alerts.rules']>>().toEqualTypeOf<readonly AlertRuleDescriptor[]>();
});

test('the sample store is a SampleSource that evaluate() reads', () => {
  expectTypeOf(createSampleStore()).toExtend<SampleSource>();
  expectTypeOf(evaluate).returns.toEqualTypeOf<PromValue>();
});
