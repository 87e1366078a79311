import { join } from 'node:path';
import { testErrorCodes } from '@obs/testing';
import { describe } from 'vitest';
import { alertsErrorCodes } from '../src/index.ts';

describe('error codes', () => {
  testErrorCodes('@obs/alerts', alertsErrorCodes, join(import.meta.dirname, '../src'), {
    borrowed: ['OBS_ERR_MONITOR_STATE', 'OBS_ERR_PROMQL_UNSUPPORTED'],
    retired: ['OBS_ERR_ALERTS_TEST_SCRIPT'],
  });
});
