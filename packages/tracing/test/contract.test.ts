import { testPluginContract } from '@obs/testing';
import { describe } from 'vitest';
import { tracingPlugin } from '../src/index.ts';

describe('memory exporter (the default)', () => {
  testPluginContract(() => tracingPlugin(), { listeners: ['metrics'] });
});

// Nothing is exported during the contract checks, so no collector is needed: these check that the
// batch processor, the lazily loaded exporters and their agents open nothing in setup and leave nothing behind.
describe.each([
  ['otlp', 'http://127.0.0.1:9/v1/traces'],
  ['jaeger', 'http://127.0.0.1:9/api/traces'],
])('%s exporter', (_name, endpoint) => {
  testPluginContract(() => tracingPlugin(), { config: { tracing: { endpoint, sample_rate: 1 } } });
});
