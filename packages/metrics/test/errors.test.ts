import { join } from 'node:path';
import { testErrorCodes } from '@obs/testing';
import { describe } from 'vitest';
import { metricsErrorCodes } from '../src/index.ts';

describe('error codes', () => {
  testErrorCodes('@obs/metrics', metricsErrorCodes, join(import.meta.dirname, '../src'), {
    borrowed: [
      'OBS_ERR_RECORD_INVALID',
      'OBS_ERR_MONITOR_STATE',
      // The query API maps @obs/promql's codes to Prometheus's error types.
      'OBS_ERR_PROMQL_EVAL',
      'OBS_ERR_PROMQL_PARSE',
      'OBS_ERR_PROMQL_UNSUPPORTED',
    ],
    prefix: 'OBS_ERR_METRICS_',
  });
});
