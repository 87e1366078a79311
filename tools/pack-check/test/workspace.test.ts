// Issue #20: what every pnpm command of a fresh clone prints. No "There are cyclic workspace dependencies" warning
// (pnpm refuses to run a recursive command over a cycle), and no "Update available" box (pnpm is pinned).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const root = join(import.meta.dirname, '../../..');

test('the workspace has no dependency cycle: a recursive pnpm command runs in topological order', () => {
  const out = execFileSync('pnpm', ['-r', '--workspace-concurrency=1', 'exec', 'node', '-e', ''], {
    cwd: root,
    encoding: 'utf8',
    stdio: 'pipe',
  });
  expect(out).not.toMatch(/cycl/i);
});

test("pnpm's update notifier is off in the repository's config", () => {
  expect(readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8')).toMatch(/^updateNotifier: false$/m);
  expect(readFileSync(join(root, '.npmrc'), 'utf8')).toMatch(/^update-notifier=false$/m);
});
