import { join } from 'node:path';
import { testErrorCodes } from '@obs/testing';
import { describe } from 'vitest';
import { consoleErrorCodes } from '../src/index.ts';

describe('error codes', () => {
  testErrorCodes('@obs/console', consoleErrorCodes, join(import.meta.dirname, '../src'), {
    prefix: 'OBS_ERR_CONSOLE_',
  });
});
