import { join } from 'node:path';
import { testErrorCodes } from '@obs/testing';
import { describe } from 'vitest';
import { dashboardsErrorCodes } from '../src/index.ts';

describe('error codes', () => {
  testErrorCodes('@obs/dashboards', dashboardsErrorCodes, join(import.meta.dirname, '../src'), {
    borrowed: ['OBS_ERR_MONITOR_STATE'],
    prefix: 'OBS_ERR_DASHBOARDS_',
    retired: [
      'OBS_ERR_DASHBOARDS_RULES',
      'OBS_ERR_DASHBOARDS_USAGE',
      'OBS_ERR_DASHBOARDS_METRICS_MISSING',
      'OBS_ERR_DASHBOARDS_ALERTS_MISSING',
    ],
  });
});
