// Issue #20: the release path, dry-run. `pnpm release` publishes with `pnpm -r publish --access public --provenance`
// (then `changeset tag`); here that command runs with --dry-run over every package, and the pending changesets
// are read into a release plan, as `pnpm version-packages` (changeset version) will read them.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

const root = join(import.meta.dirname, '../../..');
const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
  .scripts;
const published = readdirSync(join(root, 'packages'))
  .map((dir) => join(root, 'packages', dir, 'package.json'))
  .filter((file) => existsSync(file))
  .map((file) => JSON.parse(readFileSync(file, 'utf8')) as { name: string; private?: boolean })
  .filter((pkg) => pkg.private !== true)
  .map((pkg) => pkg.name)
  .sort();

interface DryRun {
  readonly name: string;
  readonly version: string;
  readonly files: readonly { readonly path: string }[];
}

describe('pnpm release, dry-run', () => {
  test('the release:dry-run script is the release command plus --dry-run', () => {
    const publish = 'pnpm -r publish --access public --provenance';
    expect(scripts['release']).toBe(`turbo run build && ${publish} && changeset tag`);
    expect(scripts['release:dry-run']).toBe(`${publish} --dry-run --no-git-checks`);
    expect(scripts['version-packages']).toBe('changeset version');
  });

  test('publishes every package under packages/ with its built dist, and nothing private', () => {
    const [command, ...args] = scripts['release:dry-run']!.split(' ');
    const out = execFileSync(command!, [...args, '--json'], { cwd: root, encoding: 'utf8', stdio: 'pipe' });
    const runs = JSON.parse(out) as DryRun[];
    expect(runs.map((r) => r.name).sort()).toEqual(published);
    for (const run of runs) {
      const files = run.files.map((f) => f.path);
      expect(files, run.name).toEqual(expect.arrayContaining(['package.json', 'dist/index.js', 'dist/index.d.ts']));
      expect(
        files.filter((f) => f.startsWith('test/') || f.includes('.test.')),
        run.name,
      ).toEqual([]);
    }
  });

  test('every pending changeset parses and names published packages (the plan changeset version applies)', () => {
    const output = join(mkdtempSync(join(tmpdir(), 'obs-changesets-')), 'status.json');
    execFileSync('pnpm', ['exec', 'changeset', 'status', '--output', output], { cwd: root, stdio: 'pipe' });
    const plan = JSON.parse(readFileSync(output, 'utf8')) as {
      changesets: { releases: { name: string }[] }[];
      releases: { name: string; type: string }[];
    };
    const named = new Set(plan.changesets.flatMap((c) => c.releases.map((r) => r.name)));
    expect([...named].filter((n) => !published.includes(n))).toEqual([]);
    expect(plan.releases.filter((r) => r.type !== 'none').map((r) => r.name)).toEqual(
      expect.arrayContaining([...named]),
    );
  });
});
