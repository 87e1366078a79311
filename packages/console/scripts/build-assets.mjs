// Builds the page into dist/assets: one ES module (the client and uPlot, minified), one stylesheet, index.html.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = new URL('../', import.meta.url);
const out = new URL('dist/assets/', root);
await mkdir(out, { recursive: true });
await build({
  entryPoints: [new URL('client/main.ts', root).pathname],
  outfile: new URL('console.js', out).pathname,
  bundle: true,
  format: 'esm',
  minify: true,
  target: 'es2022',
  legalComments: 'eof',
  logLevel: 'warning',
});
const uplotCss = createRequire(import.meta.url).resolve('uplot/dist/uPlot.min.css');
const css = `${await readFile(uplotCss, 'utf8')}\n${await readFile(new URL('client/console.css', root), 'utf8')}`;
await writeFile(new URL('console.css', out), css);
await copyFile(new URL('client/index.html', root), new URL('index.html', out));

let total = 0;
for (const name of ['index.html', 'console.js', 'console.css'])
  total += gzipSync(await readFile(new URL(name, out))).length;
if (total > 150 * 1024) throw new Error(`@obs/console: the page is ${total} bytes gzipped, over the 150 KB budget`);
console.log(`@obs/console: page assets ${(total / 1024).toFixed(1)} KB gzipped`);
