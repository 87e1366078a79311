import { join } from 'node:path';
import { ObsError } from '@obs/core';
import { testErrorCodes } from '@obs/testing';
import { describe, expect, test } from 'vitest';
import { createHealthChecker, healthErrorCodes } from '../src/index.ts';

describe('error codes', () => {
  testErrorCodes('@obs/health', healthErrorCodes, join(import.meta.dirname, '../src'), { prefix: 'OBS_ERR_HEALTH_' });

  test('thrown errors are ObsErrors with a code and an [@obs/health] message', () => {
    try {
      createHealthChecker().register({ name: '', check: () => ({ status: 'healthy' }) });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ObsError);
      expect((err as ObsError).code).toBe('OBS_ERR_HEALTH_CHECK_INVALID');
      expect((err as ObsError).message.startsWith('[@obs/health]')).toBe(true);
    }
  });
});
