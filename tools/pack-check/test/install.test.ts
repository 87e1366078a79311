import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';

const root = join(import.meta.dirname, '../../..');
const packagesDir = join(root, 'packages');
const packages = readdirSync(packagesDir).filter((name) => existsSync(join(packagesDir, name, 'package.json')));
const tarballs = mkdtempSync(join(tmpdir(), 'obs-tarballs-'));
const made: string[] = [tarballs];

afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

const packed = new Map<string, string>();

// Each package is packed once: core goes into every other package's install.
function pack(name: string): string {
  const done = packed.get(name);
  if (done !== undefined) return done;
  const before = new Set(readdirSync(tarballs));
  execFileSync('pnpm', ['pack', '--pack-destination', tarballs], { cwd: join(packagesDir, name), stdio: 'pipe' });
  const tarball = readdirSync(tarballs).find((f) => !before.has(f) && f.endsWith('.tgz'));
  if (tarball === undefined) throw new Error(`pnpm pack made no tarball for packages/${name}`);
  packed.set(name, join(tarballs, tarball));
  return join(tarballs, tarball);
}

function listTarball(tarball: string): string[] {
  return execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n');
}

describe.each(packages)('packages/%s, packed and installed with plain npm', (name) => {
  test('installs alone (with @obs/core for a plugin) outside the workspace and runs', () => {
    const smoke = join(import.meta.dirname, '../smoke', `${name}.mjs`);
    expect(existsSync(smoke), `tools/pack-check/smoke/${name}.mjs must exist`).toBe(true);
    const own = pack(name);
    const files = listTarball(own);
    expect(files).toContain('package/package.json');
    expect(files.some((f) => f.startsWith('package/dist/') && f.endsWith('index.js'))).toBe(true);
    expect(files.filter((f) => f.startsWith('package/test/') || f.includes('.test.'))).toEqual([]);
    const manifest = JSON.parse(execFileSync('tar', ['-xzOf', own, 'package/package.json'], { encoding: 'utf8' }));
    expect(JSON.stringify(manifest)).not.toContain('workspace:');

    const app = mkdtempSync(join(tmpdir(), `obs-user-${name}-`));
    made.push(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'user-app', private: true, type: 'module' }));
    // What a user installs: the package, @obs/core for a plugin (a peer), and the @obs libraries it depends on
    // (published alongside, so they come from their tarballs here). A library needs no core.
    const libraries = Object.keys(manifest.dependencies ?? {}).filter((d) => d.startsWith('@obs/'));
    const needsCore = name !== 'core' && manifest.peerDependencies?.['@obs/core'] !== undefined;
    const wanted = [...(needsCore ? [pack('core')] : []), ...libraries.map((d) => pack(d.slice(5))), own];
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...wanted], {
      cwd: app,
      stdio: 'pipe',
    });
    const installed = readdirSync(join(app, 'node_modules/@obs')).sort();
    expect(installed).toEqual(
      [
        ...new Set([...(needsCore || name === 'core' ? ['core'] : []), ...libraries.map((d) => d.slice(5)), name]),
      ].sort(),
    );
    cpSync(smoke, join(app, 'smoke.mjs'));
    const out = execFileSync(process.execPath, ['smoke.mjs'], { cwd: app, encoding: 'utf8', timeout: 60_000 });
    expect(out).toContain('smoke ok');
    expect(readFileSync(join(app, 'package-lock.json'), 'utf8')).not.toContain('workspace:');
  });
});
