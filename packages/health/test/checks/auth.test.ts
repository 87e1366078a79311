import { createMonitor, silentLogger } from '@obs/core';
import { describe, expect, test, vi } from 'vitest';
import {
  authStatusCheck,
  createHealthChecker,
  type HealthCheck,
  healthPlugin,
  type TokenStatus,
} from '../../src/index.ts';

async function run(check: HealthCheck) {
  const checker = createHealthChecker({ checks: [check] });
  return (await checker.refresh()).checks[check.name]!;
}

describe('authStatusCheck', () => {
  test('a token far from expiry is healthy with expires_in as the seed shows it', async () => {
    const expiresAt = Date.now() + (2 * 3600 + 15 * 60) * 1000 + 500;
    const result = await run(authStatusCheck({ token: () => ({ expiresAt: new Date(expiresAt) }) }));
    expect(result).toMatchObject({
      status: 'healthy',
      details: { token_valid: true, expires_in: '2h15m', refresh_needed: false },
    });
  });

  test('missing, rejected and non-expiring tokens', async () => {
    expect(await run(authStatusCheck({ token: () => undefined }))).toMatchObject({
      status: 'unhealthy',
      message: 'no access token',
    });
    expect(await run(authStatusCheck({ token: () => ({ present: false }) }))).toMatchObject({ status: 'unhealthy' });
    expect(await run(authStatusCheck({ token: async () => ({ valid: false, refreshable: true }) }))).toMatchObject({
      status: 'unhealthy',
      details: { token_valid: false, refresh_needed: true, refreshable: true },
    });
    expect(await run(authStatusCheck({ token: () => ({}) }))).toMatchObject({ status: 'healthy' });
  });

  test('a token that expires during the test: degraded while within refreshWithin, then unhealthy', async () => {
    // The clock is faked (Date only: the checker's own timers stay real), so the expiry is a step, not a wait.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(new Date('2026-01-15T10:00:00Z'));
      const expiresAt = Date.now() + 5 * 60_000;
      const check = authStatusCheck({ token: () => ({ expiresAt }), refreshWithin: '10m' });
      const checker = createHealthChecker({ checks: [check] });
      const before = (await checker.refresh()).checks['auth_status']!;
      expect(before).toMatchObject({
        status: 'degraded',
        details: { token_valid: true, expires_in: '5m', refresh_needed: true },
      });
      expect(before.message).toContain('refresh needed');
      vi.setSystemTime(expiresAt + 90_000);
      const after = (await checker.refresh()).checks['auth_status']!;
      expect(after).toMatchObject({
        status: 'unhealthy',
        details: { token_valid: false, expires_in: '0s', refresh_needed: true },
      });
      expect(after.message).toBe('access token expired 1m30s ago');
    } finally {
      vi.useRealTimers();
    }
  });

  test('the token never appears in /health, even when the provider object carries it', async () => {
    const secret = 'demo-access-token-7f3a';
    const status = { accessToken: secret, expiresAt: Date.now() + 60_000 } as TokenStatus;
    const monitor = createMonitor({
      config: { metrics_port: 0, health_port: 0, host: '127.0.0.1' },
      plugins: [healthPlugin({ checks: [authStatusCheck({ token: () => status })] })],
      logger: silentLogger,
    });
    await monitor.start();
    try {
      const body = await (await fetch(new URL('/health', monitor.url('health')))).text();
      expect(body).toContain('auth_status');
      expect(body).not.toContain(secret);
      const ietf = await (
        await fetch(new URL('/health', monitor.url('health')), { headers: { accept: 'application/health+json' } })
      ).text();
      expect(ietf).not.toContain(secret);
    } finally {
      await monitor.stop();
    }
  });

  test('bad options throw', () => {
    expect(() => authStatusCheck({ token: 'abc' as unknown as () => TokenStatus })).toThrow(
      expect.objectContaining({ code: 'OBS_ERR_CONFIG_INVALID' }),
    );
  });
});
