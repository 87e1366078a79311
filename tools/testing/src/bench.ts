// A small benchmark harness: each case is measured against its baseline in the same run, interleaved
// round by round so that machine noise hits both alike, and reported as a ratio of times per operation.
// Cases run their own loops (`run(n)`), so nanosecond operations are not drowned by harness overhead,
// and each case runs in a fresh child process, so that the JIT feedback of one case (another listener
// count, another shape) cannot slow down or speed up the next. Each side is warmed up before its loop
// count is calibrated; rounds whose ratio lies far from the others (a preempted time slice on a shared
// machine) are discarded, and the table says how stable each ratio was and what the fastest rounds gave.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

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

/**
 * The two sides of a middleware's own cost per request, without the HTTP stack around it: `request` and a
 * fresh `response()` that closes at once, through the middleware (`name`) or through the same dispatch alone.
 */
export function middlewareSides<Req, Res extends { emit(event: 'close'): unknown }>(
  name: string,
  middleware: (req: Req, res: Res, next: () => void) => void,
  request: Req,
  response: () => Res,
): { baseline: BenchSide; candidate: BenchSide } {
  let dispatched = 0;
  const next = (): void => {
    dispatched++;
  };
  return {
    baseline: {
      name: 'dispatch only',
      run(n) {
        for (let i = 0; i < n; i++) {
          const res = response();
          next();
          res.emit('close');
        }
      },
    },
    candidate: {
      name,
      run(n) {
        for (let i = 0; i < n; i++) {
          const res = response();
          middleware(request, res, next);
          res.emit('close');
        }
        if (dispatched < 0) console.log(dispatched);
      },
    },
  };
}

/** What one case measured. */
export interface BenchResult {
  readonly name: string;
  /** Median over the kept rounds of the baseline's time per operation. */
  readonly baselineNs: number;
  /** Median over the kept rounds of the candidate's time per operation. */
  readonly candidateNs: number;
  /** Median of the per-round ratios candidate / baseline (each round runs both sides back to back). */
  readonly ratio: number;
  /** Fastest candidate round over fastest baseline round: the ratio with the least noise in it. */
  readonly minRatio?: number;
  /** Half the interquartile range of the kept per-round ratios, relative to their median (0.05 = ±5%). */
  readonly spread?: number;
  /** Rounds kept, of those run (rounds whose ratio lies far outside the others are discarded). */
  readonly kept?: number;
  readonly rounds?: number;
  readonly ok: boolean | undefined;
}

async function nsPerOp(side: BenchSide, n: number): Promise<number> {
  const start = process.hrtime.bigint();
  const pending = side.run(n);
  if (pending !== undefined) await pending;
  return Number(process.hrtime.bigint() - start) / n;
}

// Runs the side for about `ms`, doubling its loop, so that the first (cold, unoptimised) calls are done
// before calibration: a first call that takes 20 ms must not be mistaken for the cost of every call.
async function warmUp(side: BenchSide, ms: number): Promise<void> {
  const until = performance.now() + ms;
  for (let n = 1; performance.now() < until; n = Math.min(n * 2, 1 << 20)) await nsPerOp(side, n);
}

// The loop count that takes about `targetMs`; judged on the fastest of three runs at each size, so one
// garbage collection or one preempted time slice does not shrink the count (that left a case measuring
// one operation a round, and reporting 147x).
async function calibrate(side: BenchSide, targetMs: number): Promise<number> {
  let n = 1;
  for (;;) {
    let ns = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 3; i++) ns = Math.min(ns, await nsPerOp(side, n));
    const ms = (ns * n) / 1e6;
    if (ms >= targetMs || n >= 1 << 30) return Math.max(1, Math.round((n * targetMs) / Math.max(ms, 1e-3)));
    n *= ms < targetMs / 10 ? 10 : 2;
  }
}

const sortedCopy = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b);

const median = (values: readonly number[]): number => {
  const sorted = sortedCopy(values);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const quantile = (sorted: readonly number[], q: number): number => {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  return sorted[lo]! + (sorted[Math.ceil(at)]! - sorted[lo]!) * (at - lo);
};

/**
 * Which of `values` to keep: those within 3 scaled median absolute deviations of the median (and never
 * fewer than half of them, closest first). A round preempted by another process is discarded, not
 * averaged in.
 */
export function keptIndexes(values: readonly number[]): number[] {
  const m = median(values);
  const mad = median(values.map((v) => Math.abs(v - m))) * 1.4826;
  const byDistance = values.map((v, i) => [Math.abs(v - m), i] as const).sort((a, b) => a[0] - b[0]);
  const limit = Math.max(3 * mad, Math.abs(m) * 0.01);
  const kept = byDistance.filter(([d], rank) => d <= limit || rank < Math.ceil(values.length / 2));
  return kept.map(([, i]) => i).sort((a, b) => a - b);
}

/** Half the interquartile range of `values`, relative to their median. */
export function relativeSpread(values: readonly number[]): number {
  const sorted = sortedCopy(values);
  return (quantile(sorted, 0.75) - quantile(sorted, 0.25)) / 2 / Math.abs(median(values));
}

/** Options of {@link runBenchmarks}. */
export interface BenchOptions {
  /** Rounds per case; the median of the kept rounds counts. @default 15 */
  readonly rounds?: number;
  /** Time of one side in one round. @default 25 */
  readonly roundMs?: number;
}

async function measure(c: BenchCase, rounds: number, roundMs: number): Promise<BenchResult> {
  await warmUp(c.baseline, roundMs * 2);
  await warmUp(c.candidate, roundMs * 2);
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
  const ratios = cand.map((x, i) => x / base[i]!);
  const kept = keptIndexes(ratios);
  const keptRatios = kept.map((i) => ratios[i]!);
  const ratio = median(keptRatios);
  return {
    name: c.name,
    baselineNs: median(kept.map((i) => base[i]!)),
    candidateNs: median(kept.map((i) => cand[i]!)),
    ratio,
    minRatio: Math.min(...cand) / Math.min(...base),
    spread: relativeSpread(keptRatios),
    kept: kept.length,
    rounds,
    ok: c.maxRatio === undefined ? undefined : ratio <= c.maxRatio,
  };
}

/** One row of the root `pnpm bench` table (tools/bench), written when OBS_BENCH_REPORT names a file. */
export interface BenchRow {
  readonly suite: string;
  readonly name: string;
  /** What the row measured, e.g. `recordApiCall 48.1 ns vs prom-client inc+observe 412 ns`. */
  readonly detail: string;
  readonly ratio: number;
  /** `<= 0.5x`, `>= 0.90x`, or undefined for a row without a target. */
  readonly target?: string;
  readonly ok: boolean | undefined;
  /** How stable the ratio was, e.g. `±3% (11/11 rounds), min 0.41x`. */
  readonly stability?: string;
}

/** Appends `row` to the report file of the root aggregator; does nothing outside `pnpm bench` at the root. */
export function reportRow(row: BenchRow): void {
  const file = process.env['OBS_BENCH_REPORT'];
  if (file !== undefined && file !== '') appendFileSync(file, `${JSON.stringify(row)}\n`);
}

/** `±4% (13/15 rounds)`: the spread of a ratio over the rounds kept. */
export function describeStability(spread: number | undefined, kept?: number, rounds?: number): string {
  if (spread === undefined || !Number.isFinite(spread)) return '';
  const pct = spread * 100;
  const counted = kept === undefined || rounds === undefined ? '' : ` (${kept}/${rounds} rounds)`;
  return `±${pct < 10 ? pct.toFixed(1) : pct.toFixed(0)}%${counted}${pct > 15 ? ' noisy' : ''}`;
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
  console.log(
    `\n${title} (time per operation, median of kept rounds; ratio = median of per-round candidate / baseline, lower is faster)`,
  );
  console.log(
    `${'case'.padEnd(40)} ${'baseline'.padEnd(24)} ${'candidate'.padEnd(28)} ratio  ${'target'.padEnd(14)} stability`,
  );
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
      reportRow({ suite: title, name: key, detail: 'failed', ratio: Number.NaN, ok: false });
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
    const stability = `${describeStability(r.spread, r.kept, r.rounds)}, min ${r.minRatio?.toFixed(2)}x`;
    console.log(
      `${r.name.padEnd(40)} ${fmt(r.baseline, r.baselineNs, 24)} ${fmt(r.candidate, r.candidateNs, 28)} ${`${r.ratio.toFixed(2)}x`.padEnd(6)} ${verdict.padEnd(14)} ${stability}`,
    );
    const ns = (x: number) => (x < 100 ? x.toFixed(2) : x.toFixed(0));
    reportRow({
      suite: title,
      name: r.name,
      detail: `${r.candidate} ${ns(r.candidateNs)} ns vs ${r.baseline} ${ns(r.baselineNs)} ns`,
      ratio: r.ratio,
      target: r.maxRatio === undefined ? undefined : `<= ${r.maxRatio}x`,
      ok: r.ok,
      stability,
    });
  }
  if (results.some((r) => r.ok === false)) process.exitCode = 1;
  return results;
}

/**
 * For HTTP benchmarks on a small machine: with two or more CPUs and `taskset` (Linux), moves this process (the
 * load generator) to CPU 0 and returns true, so that servers started with {@link spawnServer} run on CPU 1 and
 * the two do not take turns on one core. `OBS_BENCH_PIN=0` turns it off.
 */
export function pinLoadGenerator(): boolean {
  if (process.env['OBS_BENCH_PIN'] === '0' || process.platform !== 'linux' || availableParallelism() < 2) return false;
  try {
    execFileSync('taskset', ['-cp', '0', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Starts `node <args>` (on CPU 1 when `pinned`; taskset execs node in place, so the pid stays the server's). */
export function spawnServer(pinned: boolean, args: readonly string[]): ChildProcess {
  return pinned
    ? spawn('taskset', ['-c', '1', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
}
