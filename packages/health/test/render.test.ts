import { describe, expect, test } from 'vitest';
import { type HealthReport, toIetfJson, toIetfStatus, toSeedJson } from '../src/index.ts';
import { formatBytes, formatLatency, formatSeconds, isoSeconds } from '../src/internal/format.ts';

const report: HealthReport = {
  status: 'degraded',
  checkedAt: Date.UTC(2025, 6, 11, 15, 43, 20),
  checks: {
    api_connectivity: {
      status: 'healthy',
      message: 'Trakt API responding normally',
      latencyMs: 89.4,
      critical: true,
      checkedAt: Date.UTC(2025, 6, 11, 15, 43, 20),
    },
    cache: {
      status: 'degraded',
      message: 'cache hit ratio 42.0% is below 50%',
      details: { hit_ratio: 0.42, size: '1.2MB', entries: 456 },
      latencyMs: 0.02,
      critical: false,
      checkedAt: Date.UTC(2025, 6, 11, 15, 43, 21),
    },
  },
};

describe('formats', () => {
  test('sizes, timestamps, uptimes and latencies as the seed prints them', () => {
    expect(formatBytes(1.2 * 1024 * 1024)).toBe('1.2MB');
    expect(formatBytes(456)).toBe('456B');
    expect(formatBytes(4 * 1024 ** 3)).toBe('4GB');
    expect(isoSeconds(Date.UTC(2025, 6, 11, 15, 43, 22, 987))).toBe('2025-07-11T15:43:22Z');
    expect(formatSeconds((2 * 3600 + 34 * 60 + 12) * 1000 + 999)).toBe('2h34m12s');
    expect(formatSeconds(400)).toBe('0s');
    expect(formatLatency(89.4)).toBe('89ms');
    expect(formatLatency(0.02)).toBe('0ms');
    expect(formatLatency(1234)).toBe('1.2s');
  });
});

describe('renderers', () => {
  test("the seed's JSON", () => {
    const now = Date.UTC(2025, 6, 11, 15, 43, 22, 500);
    expect(toSeedJson(report, { now, uptimeMs: 9_252_400 })).toEqual({
      status: 'degraded',
      timestamp: '2025-07-11T15:43:22Z',
      uptime: '2h34m12s',
      checks: {
        api_connectivity: { status: 'healthy', latency: '89ms', message: 'Trakt API responding normally' },
        cache: {
          status: 'degraded',
          latency: '0ms',
          message: 'cache hit ratio 42.0% is below 50%',
          details: { hit_ratio: 0.42, size: '1.2MB', entries: 456 },
        },
      },
    });
    expect(toSeedJson(report, { now, uptimeMs: 0, details: false }).checks).toEqual({
      api_connectivity: { status: 'healthy', latency: '89ms' },
      cache: { status: 'degraded', latency: '0ms' },
    });
  });

  test('the IETF format: pass/warn/fail, output only when not passing', () => {
    expect(['healthy', 'degraded', 'unhealthy'].map((s) => toIetfStatus(s as 'healthy'))).toEqual([
      'pass',
      'warn',
      'fail',
    ]);
    expect(toIetfJson(report, { serviceId: 'svc' })).toEqual({
      status: 'warn',
      serviceId: 'svc',
      checks: {
        'api_connectivity:responseTime': [
          {
            componentId: 'api_connectivity',
            status: 'pass',
            time: '2025-07-11T15:43:20Z',
            observedValue: 89,
            observedUnit: 'ms',
          },
        ],
        'cache:responseTime': [
          {
            componentId: 'cache',
            status: 'warn',
            time: '2025-07-11T15:43:21Z',
            observedValue: 0,
            observedUnit: 'ms',
            output: 'cache hit ratio 42.0% is below 50%',
            details: { hit_ratio: 0.42, size: '1.2MB', entries: 456 },
          },
        ],
      },
    });
  });
});
