// The page's files, built by scripts/build-assets.mjs into dist/assets and read once at start.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { consoleError } from './errors.ts';

/** One served file, with its gzip form and a strong ETag. */
export interface Asset {
  readonly type: string;
  readonly body: Buffer;
  readonly gzip: Buffer;
  readonly etag: string;
}

/** The file names a browser may ask for, with their media types. */
export const ASSET_TYPES: Readonly<Record<string, string>> = Object.freeze({
  'index.html': 'text/html; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
});

// src/assets.ts and dist/assets.js both sit one level below the package root.
const ASSETS_DIR = new URL('../dist/assets/', import.meta.url);

/**
 * Reads and compresses the built page.
 * @throws ObsError `OBS_ERR_CONSOLE_ASSETS_MISSING` when the package was not built.
 */
export async function loadAssets(dir: URL = ASSETS_DIR): Promise<ReadonlyMap<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(ASSET_TYPES)) {
    let body: Buffer;
    try {
      body = await readFile(new URL(name, dir));
    } catch (cause) {
      throw consoleError(
        'OBS_ERR_CONSOLE_ASSETS_MISSING',
        `[@obs/console] the built page is missing (${name} in ${dir.pathname}): reinstall @obs/console, or run its build`,
        { cause },
      );
    }
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    assets.set(name, { type, body, gzip: gzipSync(body, { level: 9 }), etag });
  }
  return assets;
}
