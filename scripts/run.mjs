#!/usr/bin/env node
// The README's two commands, for a fresh machine with only Node and npm:
//   npm run demo   installs what is needed, builds, and starts the demo stack
//   npm test       installs what is needed and runs every check and test, then prints "N passed, N failed"
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChild } from './child.mjs';

const PNPM_VERSION = '12.4.2';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [mode, ...rest] = process.argv.slice(2);
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1' };

// Every step runs as a child that gets this process's SIGINT and SIGTERM (scripts/child.mjs).
function run(command, args, options = {}) {
  return runChild(command, args, { cwd: root, env, ...options });
}

async function pnpmCommand() {
  const found = spawnSync('pnpm', ['--version'], { encoding: 'utf8', env });
  if (found.status === 0 && found.stdout.trim() === PNPM_VERSION) return ['pnpm'];
  console.log(`Installing pnpm ${PNPM_VERSION} (npm i -g pnpm@${PNPM_VERSION})...`);
  if ((await run('npm', ['install', '--global', '--no-audit', '--no-fund', `pnpm@${PNPM_VERSION}`])) === 0)
    return ['pnpm'];
  console.log('Global install not permitted here; using npx instead.');
  return ['npx', '--yes', `pnpm@${PNPM_VERSION}`];
}

let pnpmCached;
async function pnpm(args) {
  pnpmCached ??= await pnpmCommand();
  const [command, ...prefix] = pnpmCached;
  return run(command, [...prefix, ...args]);
}

async function install() {
  const status = await pnpm(['install', '--frozen-lockfile']);
  if (status !== 0) process.exit(status);
}

// Each package's vitest run writes .vitest/report.json (turbo restores it on a cache hit).
function reports() {
  const found = [];
  for (const group of ['packages', 'apps', 'tools']) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      const report = join(dir, name, '.vitest', 'report.json');
      if (existsSync(report)) found.push(report);
    }
  }
  return found;
}

if (mode === 'test') {
  await install();
  for (const report of reports()) rmSync(report);
  const status = await pnpm([
    'exec',
    'turbo',
    'run',
    'lint',
    'typecheck',
    'test',
    'check:pack',
    '--concurrency=1',
    '--continue',
    ...rest,
  ]);
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const report of reports()) {
    const r = JSON.parse(readFileSync(report, 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + r.numTodoTests;
  }
  console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(status !== 0 ? status : failed > 0 ? 1 : 0);
} else if (mode === 'demo') {
  await install();
  const built = await pnpm(['exec', 'turbo', 'run', 'build', '--filter=exporter-demo...', '--output-logs=errors-only']);
  if (built !== 0) process.exit(built);
  // The demo stops on SIGINT or SIGTERM, forwarded by run(), and its exit status is this process's.
  process.exit(await run(process.execPath, [join(root, 'apps/exporter-demo/dist/main.js'), ...rest]));
} else {
  console.error('usage: node scripts/run.mjs test|demo [args...]');
  process.exit(2);
}
