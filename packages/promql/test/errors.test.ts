import { join } from 'node:path';
import { testErrorCodes } from '@obs/testing';
import { describe, expect, test } from 'vitest';
import { PromqlError, parse, promqlErrorCodes } from '../src/index.ts';

describe('error codes', () => {
  testErrorCodes('@obs/promql', promqlErrorCodes, join(import.meta.dirname, '../src'), { prefix: 'OBS_ERR_PROMQL_' });

  test('a parse error is a PromqlError with its code and position', () => {
    const thrown = (() => {
      try {
        parse('rate(x[5m]\n  > 1');
      } catch (err) {
        return err;
      }
    })();
    expect(thrown).toBeInstanceOf(PromqlError);
    expect(thrown).toMatchObject({ code: 'OBS_ERR_PROMQL_PARSE', position: { line: 2, column: 6 } });
  });
});
