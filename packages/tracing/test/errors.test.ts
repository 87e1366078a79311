import { join } from 'node:path';
import { ObsConfigError, ObsError } from '@obs/core';
import { testErrorCodes } from '@obs/testing';
import { describe, expect, test } from 'vitest';
import { traceApiCall, tracingErrorCodes, tracingPlugin, withSpan } from '../src/index.ts';

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('error codes', () => {
  testErrorCodes('@obs/tracing', tracingErrorCodes, join(import.meta.dirname, '../src'), {
    prefix: 'OBS_ERR_TRACING_',
  });
});

describe('misuse throws early, with a code', () => {
  test('bad plugin options throw ObsConfigError listing each one', () => {
    const err = thrown(() =>
      tracingPlugin({
        spanExporter: {} as never,
        serviceVersion: '',
        resourceAttributes: { ok: 'yes', bad: { nested: true } as never },
      }),
    );
    expect(err).toBeInstanceOf(ObsConfigError);
    expect((err as ObsConfigError).code).toBe('OBS_ERR_CONFIG_INVALID');
    expect((err as ObsConfigError).issues.map((i) => i.path).sort()).toEqual([
      'resourceAttributes.bad',
      'serviceVersion',
      'spanExporter',
    ]);
  });

  test('withSpan throws a missing function or an empty name synchronously', () => {
    for (const run of [() => withSpan('', undefined, () => 1), () => withSpan('x', undefined, undefined as never)]) {
      const err = thrown(run);
      expect(err).toBeInstanceOf(ObsError);
      expect((err as ObsError).code).toBe('OBS_ERR_TRACING_USAGE');
    }
  });

  test('traceApiCall returns a Promise, so misuse rejects it instead of throwing (#20)', async () => {
    for (const run of [
      () => traceApiCall({}, '', async () => 1),
      () => traceApiCall({}, 'watched_movies', undefined as never),
    ]) {
      let returned: Promise<unknown> | undefined;
      expect(() => {
        returned = run();
      }).not.toThrow();
      expect(returned).toBeInstanceOf(Promise);
      await expect(returned).rejects.toBeInstanceOf(ObsError);
      await expect(returned).rejects.toMatchObject({ code: 'OBS_ERR_TRACING_USAGE' });
    }
  });
});
