// A real PostgreSQL, started for this file in a temporary folder, where the server binaries are installed.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createHealthChecker, databaseCheck } from '../../src/index.ts';

function serverBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const version = readdirSync(root).sort().at(-1);
  const bin = version === undefined ? undefined : join(root, version, 'bin');
  return bin !== undefined && existsSync(join(bin, 'initdb')) ? bin : undefined;
}

const bin = serverBin();
// PostgreSQL refuses to run as root: run it as the postgres user when we are root.
function postgresUser(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.skipIf(bin === undefined)('databaseCheck against a real PostgreSQL', () => {
  let dir = '';
  let port = 0;
  let server: ChildProcess | undefined;
  let pool: pg.Pool | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'obs-health-pg-'));
    const user = postgresUser();
    if (user !== undefined) chownSync(dir, user.uid, user.gid);
    const as = user === undefined ? {} : { uid: user.uid, gid: user.gid, cwd: dir };
    execFileSync(join(bin!, 'initdb'), ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'obs', '--no-sync'], {
      stdio: 'pipe',
      ...as,
    });
    port = await freePort();
    const args = ['-D', join(dir, 'data'), '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1'];
    server = spawn(join(bin!, 'postgres'), [...args, '-c', 'fsync=off'], { stdio: 'ignore', ...as });
    pool = new pg.Pool({ host: '127.0.0.1', port, user: 'obs', database: 'postgres', max: 2 });
    // pg emits 'error' on idle clients when the server goes away; an app listens, and so do we.
    pool.on('error', () => {});
    for (let attempt = 0; ; attempt++) {
      try {
        await pool.query('SELECT 1');
        break;
      } catch (err) {
        if (attempt > 100) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }, 30_000);

  afterAll(async () => {
    await pool?.end().catch(() => {});
    if (server !== undefined && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGINT');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('a pg Pool through the query adapter: healthy, then unhealthy once the server is gone', async () => {
    const checker = createHealthChecker({ checks: [databaseCheck({ connection: pool!, timeout: '3s' })] });
    expect((await checker.refresh()).checks['database']).toMatchObject({ status: 'healthy' });
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    server!.kill('SIGINT');
    await exited;
    const down = (await checker.refresh()).checks['database']!;
    expect(down.status).toBe('unhealthy');
  });
});
