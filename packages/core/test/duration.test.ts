import { describe, expect, test } from 'vitest';
import { formatDuration, ObsError, parseDuration, tryParseDuration } from '../src/index.ts';

describe('parseDuration', () => {
  test.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h34m12s', 9_252_000],
    ['89ms', 89],
    ['1.5h', 5_400_000],
    ['250us', 0.25],
    ['250µs', 0.25],
    ['1000ns', 0.001],
    ['0', 0],
    ['-5s', -5_000],
    ['1h1ms', 3_600_001],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 9);
  });

  test.each(['', '30', 's', '5 m', '1d', '1h-5m', 'abc', '5m3', '.s'])('rejects %j with a coded error', (text) => {
    expect(tryParseDuration(text)).toBeUndefined();
    expect(() => parseDuration(text)).toThrow(ObsError);
    try {
      parseDuration(text);
    } catch (err) {
      expect((err as ObsError).code).toBe('OBS_ERR_DURATION_INVALID');
    }
  });
});

describe('formatDuration', () => {
  test.each([
    [9_252_000, '2h34m12s'],
    [8_100_000, '2h15m'],
    [89, '89ms'],
    [89.4, '89ms'],
    [1.25, '1.25ms'],
    [0.25, '250µs'],
    [1_500, '1.5s'],
    [0, '0s'],
    [3_600_000, '1h'],
    [60_500, '1m0.5s'],
    [999.7, '1s'],
    [-5_000, '-5s'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  test('what it prints parses back to the same value', () => {
    for (const ms of [1, 12, 999, 1_000, 61_001, 9_252_000, 86_400_000])
      expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});
