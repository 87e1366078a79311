// Issue 23: the demo's Dockerfile (multi-stage, non-root, HEALTHCHECK on /livez), checked outside Docker: its build
// stage's RUN lines run as written in a copy of the monorepo (install from the frozen lockfile, build, prune to
// production dependencies), then its CMD starts the pruned app and its HEALTHCHECK command probes it.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, waitUntil } from '@obs/testing';
import { afterAll, describe, expect, test } from 'vitest';

const app = join(import.meta.dirname, '..');
const root = join(app, '../..');
const text = readFileSync(join(app, 'Dockerfile'), 'utf8');

interface Instruction {
  readonly op: string;
  readonly args: string;
}

/** The Dockerfile's instructions, continuation lines joined, comments dropped; split into stages at FROM. */
function stages(): Instruction[][] {
  const out: Instruction[][] = [];
  const lines = text.replace(/\\\n\s*/g, '').split('\n');
  for (const line of lines) {
    const m = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    if (m === null || line.trimStart().startsWith('#')) continue;
    const ins = { op: m[1]!, args: m[2]!.trim() };
    if (ins.op === 'FROM') out.push([]);
    out.at(-1)!.push(ins);
  }
  return out;
}

/** An exec-form argument list (`["node", "-e", "…"]`), after a HEALTHCHECK's options. */
const execForm = (args: string): string[] => JSON.parse(args.slice(args.indexOf('['))) as string[];

const work = mkdtempSync(join(tmpdir(), 'demo-dockerfile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('apps/exporter-demo/Dockerfile (issue 23)', () => {
  const [build, run] = stages() as [Instruction[], Instruction[]];

  test('is multi-stage, runs as a non-root user, and checks its health on /livez', () => {
    expect(stages()).toHaveLength(2);
    expect(build[0]!.args).toMatch(/^node:20\S* AS build$/);
    expect(run.find((i) => i.op === 'USER')?.args).toBe('node');
    expect(run.find((i) => i.op === 'COPY')?.args).toMatch(/^--from=build --chown=node:node /);
    const health = run.find((i) => i.op === 'HEALTHCHECK');
    expect(health?.args).toContain('/livez');
    const runs = build.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => r.includes('pnpm install --frozen-lockfile'))).toBe(true);
    expect(runs.some((r) => r.includes('deploy --prod'))).toBe(true);
  });

  test('its commands, run outside Docker, install, build, prune, start the app, and its HEALTHCHECK passes', async () => {
    // COPY . . with Dockerfile.dockerignore: the repository's files (tracked, or new and not ignored) minus
    // node_modules and build output.
    const repo = join(work, 'repo');
    const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    })
      .split('\0')
      .filter((f) => f !== '' && !/(^|\/)(node_modules|dist|\.turbo|\.vitest|coverage|exports)(\/|$)/.test(f));
    for (const f of listed) {
      try {
        mkdirSync(dirname(join(repo, f)), { recursive: true });
        cpSync(join(root, f), join(repo, f));
      } catch (err) {
        // A file deleted in the working tree but still in the index.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    const prod = join(work, 'prod');
    const pnpmPin = /pnpm@(\S+)/.exec(build.find((i) => i.op === 'RUN')!.args)?.[1];
    expect(execFileSync('pnpm', ['--version'], { encoding: 'utf8' }).trim()).toBe(pnpmPin);
    for (const { args } of build.filter((i) => i.op === 'RUN').slice(1)) {
      // No registry here: pnpm takes what its store holds. /prod is the image's, here a temporary folder.
      const command = args
        .replace('/prod/exporter-demo', prod)
        .replace(/^pnpm (install|.* deploy) /, 'pnpm $1 --offline ');
      execFileSync('sh', ['-c', command], { cwd: repo, stdio: 'pipe', env: { ...process.env, CI: '1' } });
    }
    // Pruned: production dependencies only, the @obs packages built, no test tooling.
    const manifest = JSON.parse(readFileSync(join(prod, 'package.json'), 'utf8')) as { name: string };
    expect(manifest.name).toBe('exporter-demo');
    expect(() => readFileSync(join(prod, 'node_modules/@obs/core/dist/index.js'))).not.toThrow();
    expect(() => readFileSync(join(prod, 'node_modules/vitest/package.json'))).toThrow();

    // CMD, from WORKDIR, with the listeners on free ports; the HEALTHCHECK reads the health port from the same env.
    const workdir = run.filter((i) => i.op === 'WORKDIR').at(-1)!.args;
    expect(workdir).toBe('/app');
    const [cmd, ...cmdArgs] = execForm(run.find((i) => i.op === 'CMD')!.args);
    const env = {
      ...process.env,
      NODE_ENV: 'production',
      MONITORING_METRICS_PORT: String(await freePort()),
      MONITORING_HEALTH_PORT: String(await freePort()),
      MONITORING_HOST: '127.0.0.1',
    };
    expect(cmd).toBe('node');
    const child = spawn(process.execPath, cmdArgs, { cwd: prod, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const [probe, ...probeArgs] = execForm(run.find((i) => i.op === 'HEALTHCHECK')!.args);
      expect(probe).toBe('node');
      const probeOnce = () =>
        new Promise<number | null>((resolve) =>
          spawn(process.execPath, probeArgs, { env, stdio: 'ignore' }).once('exit', resolve),
        );
      const healthy = await waitUntil(async () => (await probeOnce()) === 0, {
        what: 'the HEALTHCHECK probe to pass',
        timeoutMs: 30_000,
        intervalMs: 300,
        gaveUp: () => child.exitCode !== null,
      }).catch(() => false);
      expect(healthy, log).toBe(true);
      const live = await fetch(`http://127.0.0.1:${env.MONITORING_HEALTH_PORT}/livez`);
      expect(live.status).toBe(200);
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    }
  }, 600_000);
});
