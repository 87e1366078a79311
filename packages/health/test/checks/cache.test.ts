import { createEventBus } from '@obs/core';
import { describe, expect, test, vi } from 'vitest';
import { cacheCheck, createHealthChecker } from '../../src/index.ts';

function setup(options: Parameters<typeof cacheCheck>[0] = {}) {
  const bus = createEventBus();
  const checker = createHealthChecker({ bus, checks: [cacheCheck(options)] });
  checker.start();
  const result = async () => (await checker.refresh()).checks['cache']!;
  return { bus, checker, result };
}

describe('cacheCheck', () => {
  test('healthy with a note before any statistics; the seed details after cache:updated', async () => {
    const { bus, checker, result } = setup();
    expect(await result()).toMatchObject({
      status: 'healthy',
      message: 'no cache statistics reported yet',
      critical: false,
    });
    bus.emit('cache:updated', { hitRatio: 0.847, sizeBytes: 1.2 * 1024 * 1024, entries: 456 });
    expect(await result()).toMatchObject({
      status: 'healthy',
      details: { hit_ratio: 0.847, size: '1.2MB', entries: 456 },
    });
    await checker.stop();
  });

  test('thresholds: hit ratio (degraded and unhealthy), size, entries', async () => {
    const { bus, checker, result } = setup({
      minHitRatio: 0.8,
      criticalHitRatio: 0.2,
      maxSizeBytes: 1024,
      maxEntries: 10,
    });
    bus.emit('cache:updated', { hitRatio: 0.5, sizeBytes: 10, entries: 1 });
    expect((await result()).status).toBe('degraded');
    bus.emit('cache:updated', { hitRatio: 0.1, sizeBytes: 10, entries: 1 });
    expect((await result()).status).toBe('unhealthy');
    bus.emit('cache:updated', { hitRatio: 0.9, sizeBytes: 4096, entries: 1 });
    expect((await result()).message).toContain('size 4KB is above 1KB');
    bus.emit('cache:updated', { hitRatio: 0.9, sizeBytes: 10, entries: 11 });
    expect((await result()).message).toContain('11 entries');
    bus.emit('cache:updated', { hitRatio: 0.9, sizeBytes: 10, entries: undefined });
    expect((await result()).status).toBe('healthy');
    await checker.stop();
  });

  test('stale statistics are degraded', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const { bus, checker, result } = setup({ staleAfter: '10m' });
      bus.emit('cache:updated', { hitRatio: 0.9, sizeBytes: 10, entries: 1 });
      expect((await result()).status).toBe('healthy');
      vi.setSystemTime(Date.now() + 11 * 60_000);
      expect((await result()).message).toContain('no statistics for 11m');
      await checker.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  test('cache:updated re-runs the check, at most once per second, so the cached report is live', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const bus = createEventBus();
      const checker = createHealthChecker({ bus, checks: [cacheCheck()] });
      checker.start();
      await vi.advanceTimersByTimeAsync(0);
      const hit = () => checker.snapshot()?.checks['cache']?.details?.['hit_ratio'];
      bus.emit('cache:updated', { hitRatio: 0.9, sizeBytes: 10, entries: 1 });
      await vi.advanceTimersByTimeAsync(0);
      expect(hit()).toBe(0.9);
      bus.emit('cache:updated', { hitRatio: 0.8, sizeBytes: 10, entries: 1 });
      bus.emit('cache:updated', { hitRatio: 0.7, sizeBytes: 10, entries: 1 });
      await vi.advanceTimersByTimeAsync(0);
      expect(hit()).toBe(0.9);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(hit()).toBe(0.7);
      await checker.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  test('stops listening when the checker stops', async () => {
    const { bus, checker } = setup();
    expect(bus.listenerCount('cache:updated')).toBe(1);
    await checker.stop();
    expect(bus.listenerCount('cache:updated')).toBe(0);
  });

  test('bad thresholds throw', () => {
    expect(() => cacheCheck({ minHitRatio: 2 })).toThrow(expect.objectContaining({ code: 'OBS_ERR_CONFIG_INVALID' }));
  });
});
