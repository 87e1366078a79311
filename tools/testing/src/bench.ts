// A small benchmark harness: each case is measured against its baseline in the same run, interleaved
// round by round so that machine noise hits both alike, and reported as a ratio of times per operation.
// Cases run their own loops (`run(n)`), so nanosecond operations are not drowned by harness overhead,
// and each case runs in a fresh child process, so that the JIT feedback of one case (another listener
// count, another shape) cannot slow down or speed up the next.
import { spawnSync } from 'node:child_process';

/** One side of a comparison: runs the operation `n` times (and settles, when it is asynchronous). */
export interface BenchSide {
  readonly name: string;
  run(n: number): void | Promise<void>;
}

/** A benchmark case: the candidate against its baseline, optionally with a target time ratio. */
export interface BenchCase {
  readonly name: string;
  readonly baseline: BenchSide;
  readonly candidate: BenchSide;
  /** The candidate's time per operation must be at most this multiple of the baseline's. */
  readonly maxRatio?: number;
  /** Called after measuring (close servers, stop monitors). */
  teardown?(): void | Promise<void>;
}

/** What one case measured. */
export interface BenchResult {
  readonly name: string;
  readonly baselineNs: number;
  readonly candidateNs: number;
  readonly ratio: number;
  readonly ok: boolean | undefined;
}

async function nsPerOp(side: BenchSide, n: number): Promise<number> {
  const start = process.hrtime.bigint();
  const pending = side.run(n);
  if (pending !== undefined) await pending;
  return Number(process.hrtime.bigint() - start) / n;
}

async function calibrate(side: BenchSide, targetMs: number): Promise<number> {
  let n = 1;
  for (;;) {
    const ms = ((await nsPerOp(side, n)) * n) / 1e6;
    if (ms >= targetMs || n >= 1 << 30) return Math.max(1, Math.round((n * targetMs) / Math.max(ms, 1e-3)));
    n *= ms < targetMs / 10 ? 10 : 2;
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Options of {@link runBenchmarks}. */
export interface BenchOptions {
  /** Rounds per case; the median round counts. @default 15 */
  readonly rounds?: number;
  /** Time of one side in one round. @default 25 */
  readonly roundMs?: number;
}

async function measure(c: BenchCase, rounds: number, roundMs: number): Promise<BenchResult> {
  const nBase = await calibrate(c.baseline, roundMs);
  const nCand = await calibrate(c.candidate, roundMs);
  const base: number[] = [];
  const cand: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // Alternate which side goes first, so neither always runs on a warmer or cooler machine.
    if (round % 2 === 0) {
      base.push(await nsPerOp(c.baseline, nBase));
      cand.push(await nsPerOp(c.candidate, nCand));
    } else {
      cand.push(await nsPerOp(c.candidate, nCand));
      base.push(await nsPerOp(c.baseline, nBase));
    }
  }
  const baselineNs = median(base);
  const candidateNs = median(cand);
  const ratio = candidateNs / baselineNs;
  return {
    name: c.name,
    baselineNs,
    candidateNs,
    ratio,
    ok: c.maxRatio === undefined ? undefined : ratio <= c.maxRatio,
  };
}

const CASE_ENV = 'OBS_BENCH_CASE';
const MARK = 'OBS_BENCH_RESULT ';

/**
 * Runs each case (built by its factory) in its own child process, prints a table of ns/op and ratios,
 * and sets a failing exit code when a case misses its target. Call it as the whole of a bench script.
 */
export async function runBenchmarks(
  title: string,
  cases: Readonly<Record<string, () => BenchCase | Promise<BenchCase>>>,
  options: BenchOptions = {},
): Promise<BenchResult[]> {
  const rounds = options.rounds ?? 15;
  const roundMs = options.roundMs ?? 25;
  const only = process.env[CASE_ENV];
  if (only !== undefined) {
    const factory = cases[only];
    if (factory === undefined) throw new Error(`unknown bench case ${only}`);
    const c = await factory();
    const result = await measure(c, rounds, roundMs);
    await c.teardown?.();
    const sides = { baseline: c.baseline.name, candidate: c.candidate.name, maxRatio: c.maxRatio };
    process.stdout.write(`${MARK}${JSON.stringify({ ...result, ...sides })}\n`);
    return [result];
  }
  const results: BenchResult[] = [];
  console.log(`\n${title} (time per operation; ratio = candidate / baseline, lower is faster)`);
  console.log(`${'case'.padEnd(40)} ${'baseline'.padEnd(24)} ${'candidate'.padEnd(28)} ratio  target`);
  for (const key of Object.keys(cases)) {
    const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!], {
      env: { ...process.env, [CASE_ENV]: key },
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
    const line = child.stdout.split('\n').find((l) => l.startsWith(MARK));
    if (child.status !== 0 || line === undefined) {
      console.log(`${key.padEnd(40)} failed: ${child.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      results.push({ name: key, baselineNs: Number.NaN, candidateNs: Number.NaN, ratio: Number.NaN, ok: false });
      continue;
    }
    const r = JSON.parse(line.slice(MARK.length)) as BenchResult & {
      baseline: string;
      candidate: string;
      maxRatio?: number;
    };
    results.push(r);
    const fmt = (name: string, ns: number, width: number) =>
      `${name} ${ns < 100 ? ns.toFixed(2) : ns.toFixed(0)} ns`.padEnd(width);
    const verdict = r.maxRatio === undefined ? '' : `<= ${r.maxRatio}x ${r.ok ? 'ok' : 'MISSED'}`;
    console.log(
      `${r.name.padEnd(40)} ${fmt(r.baseline, r.baselineNs, 24)} ${fmt(r.candidate, r.candidateNs, 28)} ${`${r.ratio.toFixed(2)}x`.padEnd(6)} ${verdict}`,
    );
  }
  if (results.some((r) => r.ok === false)) process.exitCode = 1;
  return results;
}
