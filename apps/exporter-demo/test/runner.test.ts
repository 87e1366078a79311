// Issue #20: `kill -INT` (or -TERM) of the `npm run demo` process, the runner, stops the demo: the runner
// forwards the signal to its child and exits with the child's status. The runner's install and build go to a
// stand-in `pnpm` on PATH, so that the test runs the real runner and the real demo without touching the workspace.
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { type Demo, file, startDemo } from './demo-process.ts';

const fake = mkdtempSync(join(tmpdir(), 'fake-pnpm-'));
const calls = join(fake, 'calls.log');
writeFileSync(
  join(fake, 'pnpm'),
  `#!/bin/sh\nif [ "$1" = "--version" ]; then echo 12.4.2; exit 0; fi\necho "$*" >> '${calls}'\nexit 0\n`,
);
chmodSync(join(fake, 'pnpm'), 0o755);
const env = { PATH: `${fake}:${process.env['PATH'] ?? ''}` };
const config = file('runner.toml', '[monitoring]\nmetrics_port = 0\nhealth_port = 0\nhost = "127.0.0.1"\n');

// The runner's child: the demo's node process (the stand-in pnpm runs and exits before it).
function demoPid(demo: Demo): number {
  const pid = demo.child.pid!;
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
  expect(children).toHaveLength(1);
  return children[0]!;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the runner (npm run demo) forwards SIGINT and SIGTERM to the demo', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`kill -${signal.slice(3)} of the runner stops the demo cleanly, and the runner exits with its status`, async () => {
      await using demo = startDemo(`runner-${signal}`, ['--config', config, '--interval', '1h'], env, { runner: true });
      await demo.waitFor('export #1 done');
      const child = demoPid(demo);
      process.kill(demo.child.pid!, signal); // the runner alone, not its process group
      const { code } = await demo.exited;
      expect(code).toBe(0);
      expect(demo.stderr()).toContain(`exporter-demo: ${signal} received, stopping`);
      expect(alive(child)).toBe(false);
      expect(readFileSync(calls, 'utf8')).toMatch(
        /^install --frozen-lockfile\nexec turbo run build --filter=exporter-demo\.\.\./m,
      );
    });
  }

  test('a Ctrl-C (the signal reaches runner and demo both) still stops the demo once, cleanly', async () => {
    await using demo = startDemo('runner-ctrl-c', ['--config', config, '--interval', '1h'], env, { runner: true });
    await demo.waitFor('export #1 done');
    const child = demoPid(demo);
    process.kill(child, 'SIGINT');
    process.kill(demo.child.pid!, 'SIGINT');
    const { code } = await demo.exited;
    expect(code).toBe(0);
    expect(demo.stderr().match(/SIGINT received, stopping/g)).toHaveLength(1);
    expect(alive(child)).toBe(false);
  });
});
