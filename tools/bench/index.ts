// `pnpm bench` at the root: builds the packages (cold start measures dist/), runs every package's bench
// one at a time (a 2-core machine: never two at once), then the cold start bench, and prints one table of
// every case and target. Each package's own output is shown as it runs; the table at the end collects the
// rows their harness reports (OBS_BENCH_REPORT) and, for tables printed by hand, the lines with a target.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchRow } from '../testing/src/bench.ts';
import { coldStartBench } from './cold-start.ts';

const root = join(import.meta.dirname, '..', '..');
const BENCHED = ['core', 'metrics', 'tracing', 'health', 'alerts', 'promql'] as const;
const BUILT = ['promql', 'core', 'metrics', 'tracing', 'health', 'alerts', 'dashboards'] as const;
const only = process.argv.slice(2); // `pnpm bench metrics cold-start` runs those only

function selected(name: string): boolean {
  return only.length === 0 || only.includes(name);
}

async function run(pkg: string, report: string): Promise<{ code: number; text: string }> {
  const child = spawn('pnpm', ['--silent', 'run', 'bench'], {
    cwd: join(root, 'packages', pkg),
    env: { ...process.env, OBS_BENCH_REPORT: report },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    process.stdout.write(chunk);
  });
  const code = await new Promise<number>((resolve) => child.once('close', (c) => resolve(c ?? 1)));
  return { code, text };
}

// A line of a hand-printed table with a target: `<name>   ...   >= 0.90x ok` (tracing's and health's HTTP).
const TARGET_LINE = /^(\S.*?)\s{2,}.*?((?:<=|>=)\s?[\d.]+\s?(?:x|ms|µs)?)\s+(ok|MISSED)\b/;

function textRows(suite: string, text: string, reported: readonly BenchRow[]): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const line of text.split('\n')) {
    const m = TARGET_LINE.exec(line);
    if (m === null) continue;
    const name = m[1]!.trim();
    if (reported.some((r) => r.name.startsWith(name) || name.startsWith(r.name))) continue;
    const ratio = /(\d+\.\d+)x/.exec(line.slice(m[1]!.length));
    rows.push({
      suite: `${suite} (from its output)`,
      name,
      detail: line.slice(m[1]!.length).trim().replace(/\s+/g, ' ').slice(0, 90),
      ratio: ratio === null ? Number.NaN : Number(ratio[1]),
      target: m[2]!.replace(/\s/g, ''),
      ok: m[3] === 'ok',
    });
  }
  return rows;
}

function readRows(file: string): BenchRow[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as BenchRow);
  } catch {
    return [];
  }
}

function printTable(rows: readonly BenchRow[]): void {
  const value = (r: BenchRow): string =>
    typeof r.ratio !== 'number' || !Number.isFinite(r.ratio) // NaN arrives as null through JSON
      ? '-'
      : r.target?.includes('ms')
        ? `${r.ratio.toFixed(3)} ms`
        : r.target?.includes('µs')
          ? `${r.ratio.toFixed(3)} µs`
          : `${r.ratio.toFixed(2)}x`;
  const width = (f: (r: BenchRow) => string, min: number) => Math.max(min, ...rows.map((r) => f(r).length));
  const cols: [string, (r: BenchRow) => string][] = [
    ['suite', (r) => r.suite],
    ['case', (r) => r.name],
    ['value', value],
    ['target', (r) => r.target ?? ''],
    ['', (r) => (r.ok === undefined ? '' : r.ok ? 'ok' : 'MISSED')],
    ['stability', (r) => r.stability ?? ''],
    ['measured', (r) => r.detail],
  ];
  const widths = cols.map(([h, f]) => width(f, h.length));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  console.log(`\n${'='.repeat(40)}\nEvery case and target (ratios: candidate / baseline; see each suite above)\n`);
  console.log(line(cols.map(([h]) => h)));
  for (const r of rows) console.log(line(cols.map(([, f]) => f(r))));
  const missed = rows.filter((r) => r.ok === false);
  console.log(
    `\n${rows.length} rows, ${rows.filter((r) => r.ok === true).length} targets met, ${missed.length} missed`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'obs-bench-'));
const rows: BenchRow[] = [];
let failed = false;
try {
  if (selected('cold-start')) {
    // Cold start measures what users import: dist/. A package whose build fails keeps its last dist/.
    const build = spawnSync(
      'pnpm',
      [
        'exec',
        'turbo',
        'run',
        'build',
        '--continue',
        '--output-logs=errors-only',
        ...BUILT.map((p) => `--filter=@obs/${p}`),
      ],
      { cwd: root, stdio: 'inherit', env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' } },
    );
    if (build.status !== 0) console.log('warning: a build failed; cold start measures the dist/ that is there');
  }
  for (const pkg of BENCHED) {
    if (!selected(pkg)) continue;
    const report = join(dir, `${pkg}.jsonl`);
    const { code, text } = await run(pkg, report);
    const reported = readRows(report);
    rows.push(...reported, ...textRows(`@obs/${pkg}`, text, reported));
    if (code !== 0) failed = true;
  }
  if (selected('cold-start')) {
    const report = join(dir, 'cold-start.jsonl');
    process.env['OBS_BENCH_REPORT'] = report;
    if (!coldStartBench()) failed = true;
    rows.push(...readRows(report));
  }
  printTable(rows);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (failed || rows.some((r) => r.ok === false)) process.exitCode = 1;
