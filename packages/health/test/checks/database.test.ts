import { ObsConfigError } from '@obs/core';
import initSqlJs from 'sql.js';
import { describe, expect, test } from 'vitest';
import { createHealthChecker, databaseCheck, type HealthCheck, pingConnection } from '../../src/index.ts';

async function run(check: HealthCheck) {
  return (await createHealthChecker({ checks: [check] }).refresh()).checks[check.name]!;
}

describe('databaseCheck against a real SQLite (sql.js, SQLite compiled to WebAssembly)', () => {
  test('healthy while the database answers, unhealthy once it is closed', async () => {
    const SQL = await initSqlJs();
    const db = new SQL.Database();
    db.run('CREATE TABLE exports (id INTEGER PRIMARY KEY, kind TEXT)');
    const check = databaseCheck({ connection: db, query: 'SELECT count(*) FROM exports' });
    const ok = await run(check);
    expect(ok).toMatchObject({ status: 'healthy', critical: true, details: { ping: expect.stringMatching(/ms$/) } });
    db.close();
    // sql.js words a closed database differently from call to call: assert on status, not on text.
    const down = await run(check);
    expect(down).toMatchObject({ status: 'unhealthy', message: expect.any(String) });
  });

  test('a failing statement is unhealthy with the SQL error', async () => {
    const SQL = await initSqlJs();
    const db = new SQL.Database();
    const result = await run(databaseCheck({ connection: db, query: 'SELECT * FROM missing_table' }));
    expect(result).toMatchObject({ status: 'unhealthy', message: expect.stringContaining('no such table') });
    db.close();
  });
});

describe('connection adapters', () => {
  test('ping(), then query(), then prepare().get(), then exec(), in that order of preference', async () => {
    const calls: string[] = [];
    const pool = {
      query: async (sql: string) => void calls.push(`query ${sql}`),
      ping: async () => void calls.push('ping'),
    };
    await pingConnection(pool)();
    await pingConnection({ query: pool.query }, 'SELECT 2')();
    await pingConnection({ prepare: (sql: string) => ({ get: () => calls.push(`prepare ${sql}`) }) })();
    await pingConnection({ exec: (sql: string) => calls.push(`exec ${sql}`) })();
    expect(calls).toEqual(['ping', 'query SELECT 2', 'prepare SELECT 1', 'exec SELECT 1']);
    // Misuse throws a coded ObsConfigError, not a bare TypeError (#20).
    expect(() => pingConnection({} as never)).toThrow(ObsConfigError);
    expect(() => pingConnection({} as never)).toThrow(
      expect.objectContaining({
        code: 'OBS_ERR_CONFIG_INVALID',
        issues: [expect.objectContaining({ path: 'connection' })],
      }),
    );
  });

  test('a ping function gets the check signal; slow pings are degraded', async () => {
    let signal: AbortSignal | undefined;
    const result = await run(
      databaseCheck({
        slowAfter: 10,
        ping: async (s) => {
          signal = s;
          await new Promise((resolve) => setTimeout(resolve, 40));
        },
      }),
    );
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(result).toMatchObject({ status: 'degraded', message: expect.stringContaining('slowly') });
  });

  test('options need a ping or a usable connection', () => {
    expect(() => databaseCheck({})).toThrow(expect.objectContaining({ code: 'OBS_ERR_CONFIG_INVALID' }));
    expect(() => databaseCheck({ connection: { nothing: true } as never })).toThrow(
      expect.objectContaining({ code: 'OBS_ERR_CONFIG_INVALID' }),
    );
  });
});
