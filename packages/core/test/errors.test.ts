import { join } from 'node:path';
import { testErrorCodes } from '@obs/testing';
import { describe, expect, test } from 'vitest';
import { coreErrorCodes, ObsConfigError, ObsError } from '../src/index.ts';

describe('error codes', () => {
  testErrorCodes('@obs/core', coreErrorCodes, join(import.meta.dirname, '../src'));

  test('ObsError carries its code and cause; ObsConfigError lists every issue', () => {
    const cause = new Error('low level');
    const error = new ObsError('OBS_ERR_PLUGIN_START', '[@obs/core] x', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ObsError');
    expect(error.cause).toBe(cause);
    const config = new ObsConfigError('@obs/health', [
      { path: 'port', message: 'must be an integer' },
      { path: 'checks.db', message: 'must be a function', file: 'a.toml', line: 3, column: 1 },
    ]);
    expect(config).toBeInstanceOf(ObsError);
    expect(config.code).toBe('OBS_ERR_CONFIG_INVALID');
    expect(config.issues).toHaveLength(2);
    expect(config.message).toBe(
      '[@obs/health] invalid configuration (2 problems):\n  - port: must be an integer\n  - a.toml:3:1: checks.db: must be a function',
    );
  });
});
