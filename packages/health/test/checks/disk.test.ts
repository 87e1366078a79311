import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { createHealthChecker, diskSpaceCheck, type HealthCheck } from '../../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'obs-health-disk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(check: HealthCheck) {
  return (await createHealthChecker({ checks: [check] }).report()).checks[check.name]!;
}

// Thresholds are set around what the real filesystem has free right now.
const stats = statfsSync(dir);
const free = stats.bavail * stats.bsize;
const percent = (stats.bavail / stats.blocks) * 100;

describe('diskSpaceCheck on a real folder', () => {
  test('healthy above every threshold, with the seed-style details', async () => {
    const result = await run(
      diskSpaceCheck({ path: dir, minFreeBytes: 0, minFreePercent: 0, warnFreeBytes: 0, warnFreePercent: 0 }),
    );
    expect(result).toMatchObject({ status: 'healthy', critical: false, details: { path: dir } });
    expect(result.details!['free']).toMatch(/^\d+(\.\d)?(B|KB|MB|GB|TB|PB)$/);
    expect(result.details!['free_percent']).toBeCloseTo(percent, 0);
  });

  test('degraded below the warning thresholds, in bytes or percent', async () => {
    const bytes = await run(diskSpaceCheck({ path: dir, minFreeBytes: 0, minFreePercent: 0, warnFreeBytes: free * 2 }));
    expect(bytes.status).toBe('degraded');
    const pct = await run(
      diskSpaceCheck({ path: dir, minFreeBytes: 0, minFreePercent: 0, warnFreeBytes: 0, warnFreePercent: 100 }),
    );
    expect(pct.status).toBe('degraded');
  });

  test('unhealthy below the minimum thresholds', async () => {
    expect((await run(diskSpaceCheck({ path: dir, minFreeBytes: free * 2 }))).status).toBe('unhealthy');
    expect((await run(diskSpaceCheck({ path: dir, minFreeBytes: 0, minFreePercent: 100 }))).status).toBe('unhealthy');
  });

  test('a folder not created yet is measured at its nearest existing parent', async () => {
    const later = join(dir, 'exports', 'not-yet');
    const result = await run(
      diskSpaceCheck({ path: later, minFreeBytes: 0, minFreePercent: 0, warnFreeBytes: 0, warnFreePercent: 0 }),
    );
    expect(result).toMatchObject({ status: 'healthy', details: { path: later, measured_at: dir } });
  });

  test('bad options throw', () => {
    expect(() => diskSpaceCheck({ path: '', minFreePercent: 120 })).toThrow(
      expect.objectContaining({ code: 'OBS_ERR_CONFIG_INVALID' }),
    );
  });
});
