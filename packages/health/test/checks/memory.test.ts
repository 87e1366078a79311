import { describe, expect, test } from 'vitest';
import { createHealthChecker, type HealthCheck, memoryCheck } from '../../src/index.ts';

async function run(check: HealthCheck) {
  return (await createHealthChecker({ checks: [check] }).report()).checks[check.name]!;
}

describe('memoryCheck on this process', () => {
  test('healthy by default, with heap, limit, rss', async () => {
    const result = await run(memoryCheck());
    expect(result).toMatchObject({ status: 'healthy', critical: false });
    expect(Object.keys(result.details!)).toEqual(['heap_used', 'heap_limit', 'heap_used_percent', 'rss']);
    expect(result.details!['heap_used_percent']).toBeGreaterThan(0);
  });

  test('heap and rss thresholds', async () => {
    expect((await run(memoryCheck({ warnHeapPercent: 0 }))).status).toBe('degraded');
    expect((await run(memoryCheck({ warnHeapPercent: 0, maxHeapPercent: 0 }))).status).toBe('unhealthy');
    expect((await run(memoryCheck({ warnRssBytes: 1 }))).status).toBe('degraded');
    expect((await run(memoryCheck({ maxRssBytes: 1 }))).message).toContain('rss');
  });

  test('observes real GC pauses while the checker runs', async () => {
    const check = memoryCheck({ warnGcPause: 0 });
    const checker = createHealthChecker({ checks: [check] });
    checker.start();
    let kept = 0;
    try {
      let result = (await checker.refresh()).checks['memory']!;
      // Allocate until V8 collects and perf_hooks reports it.
      for (let round = 0; round < 200 && (result.details!['gc_pauses'] as number) === 0; round++) {
        const junk: unknown[] = [];
        for (let i = 0; i < 50_000; i++) junk.push({ i, s: `x${i}` });
        kept = junk.length;
        await new Promise((resolve) => setImmediate(resolve));
        result = (await checker.refresh()).checks['memory']!;
      }
      expect(kept).toBe(50_000);
      expect(result.details!['gc_pauses']).toBeGreaterThan(0);
      expect(result.details!['gc_pause_max']).toMatch(/ms$/);
      expect(result.status).toBe('degraded');
      expect(result.message).toContain('GC pause');
    } finally {
      await checker.stop();
    }
  });

  test('bad thresholds throw', () => {
    expect(() => memoryCheck({ warnHeapPercent: 101 })).toThrow(
      expect.objectContaining({ code: 'OBS_ERR_CONFIG_INVALID' }),
    );
  });
});
