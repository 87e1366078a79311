// Throughput of an express app: bare, with our middleware, with ours and @obs/tracing's together (0.1
// sampling), with tracing's alone, with express-prom-bundle, with express-prom-bundle and OTel's http+express
// auto-instrumentation (the same provider and sampler), and with an empty middleware (whose distance from
// 1.00x shows the method's noise). Each variant runs in its own
// process while autocannon loads it from this one; rounds interleave the variants. Besides
// requests/s, the server's own CPU time per request is reported: it does not depend on whether the
// load generator or the server is the bottleneck, so it is the steadier figure on a 2-core machine.
// With two or more CPUs and `taskset`, the load generator (this process) runs on CPU 0 and each server on
// CPU 1, so that the two do not take turns on one core while a third process takes the other
// (OBS_BENCH_PIN=0 turns that off).
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import {
  describeStability,
  keptIndexes,
  pinLoadGenerator,
  relativeSpread,
  reportRow,
  spawnServer,
} from '@obs/testing/bench';
import autocannon from 'autocannon';

const variants = ['bare', 'obs', 'both', 'tracing', 'bundle', 'bundle-otel', 'noop'] as const;
type Variant = (typeof variants)[number];
const labels: Record<Variant, string> = {
  bare: 'bare express',
  obs: 'with @obs/metrics middleware',
  both: 'with @obs/metrics + @obs/tracing (0.1)',
  tracing: 'with @obs/tracing middleware (0.1)',
  bundle: 'with express-prom-bundle',
  'bundle-otel': 'express-prom-bundle + OTel auto-instr. (0.1)',
  noop: 'with an empty middleware',
};
// Targets, as ratios of bare express's requests/s.
const targets: Partial<Record<Variant, number>> = { obs: 0.93, both: 0.9 };

let pinned: boolean | undefined;

async function start(variant: Variant): Promise<{ child: ChildProcess; port: number }> {
  pinned ??= pinLoadGenerator();
  const child = spawnServer(pinned, [...process.execArgv, join(import.meta.dirname, 'http-server.ts'), variant]);
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`${variant} server exited with ${code}`)));
  });
  return { child, port };
}

async function cpu(port: number): Promise<number> {
  return ((await (await fetch(`http://127.0.0.1:${port}/__cpu`)).json()) as { micros: number }).micros;
}

async function round(port: number, seconds: number): Promise<{ rps: number; cpuPerRequest: number }> {
  const before = await cpu(port);
  // Pipelined, so that the server does as much of the work as it can.
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/movies/42`,
    connections: 20,
    pipelining: 4,
    duration: seconds,
  });
  if (result.errors + result.timeouts + result.non2xx > 0) throw new Error(`errors under load on port ${port}`);
  const after = await cpu(port);
  return { rps: result.requests.average, cpuPerRequest: (after - before) / result.requests.total };
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1]!;

/** Runs the comparison and prints it; returns whether every target (metrics 0.93x, both 0.90x of bare) was met. */
export async function httpBench(rounds = 9, seconds = 2): Promise<boolean> {
  const servers = Object.fromEntries(
    await Promise.all(variants.map(async (v) => [v, await start(v)] as const)),
  ) as Record<Variant, { child: ChildProcess; port: number }>;
  const rps = Object.fromEntries(variants.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
  const cpus = Object.fromEntries(variants.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
  try {
    for (const v of variants) await round(servers[v].port, 1); // warm-up
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) {
        const m = await round(servers[v].port, seconds);
        rps[v].push(m.rps);
        cpus[v].push(m.cpuPerRequest);
      }
    }
  } finally {
    for (const v of variants) servers[v].child.kill('SIGTERM');
  }
  // Each round's variants ran back to back: the ratio within a round cancels the machine's drift; a round
  // far from the others (another process took the core) is discarded.
  const perRound = (v: Variant): number[] => rps[v].map((x, i) => x / rps.bare[i]!);
  const kept = (v: Variant): number[] => keptIndexes(perRound(v)).map((i) => perRound(v)[i]!);
  const ratio = (v: Variant): number => median(kept(v));
  console.log(
    `\n@obs/metrics HTTP middleware under autocannon (median of kept rounds; ratio = variant / bare, higher is better; ${pinned ? 'load generator on CPU 0, servers on CPU 1' : 'not pinned to CPUs'})`,
  );
  console.log(
    `${'variant'.padEnd(46)} ${'req/s'.padStart(8)} ${'ratio'.padStart(6)}  ${'target'.padEnd(14)} stability                      server CPU per request`,
  );
  let ok = true;
  for (const v of variants) {
    const target = targets[v];
    const met = target === undefined ? undefined : ratio(v) >= target;
    if (met === false) ok = false;
    const verdict = target === undefined ? '' : `>= ${target.toFixed(2)}x ${met ? 'ok' : 'MISSED'}`;
    const stability = `${describeStability(relativeSpread(kept(v)), kept(v).length, rounds)}, best ${Math.max(...perRound(v)).toFixed(2)}x`;
    const cpu = `${median(cpus[v]).toFixed(1)} µs (${(median(cpus.bare) / median(cpus[v])).toFixed(2)}x of bare's capacity)`;
    console.log(
      `${labels[v].padEnd(46)} ${median(rps[v]).toFixed(0).padStart(8)} ${`${ratio(v).toFixed(2)}x`.padStart(6)}  ${verdict.padEnd(14)} ${stability.padEnd(30)} ${cpu}`,
    );
    if (v !== 'bare')
      reportRow({
        suite: '@obs/metrics HTTP',
        name: labels[v],
        detail: `${median(rps[v]).toFixed(0)} req/s vs bare ${median(rps.bare).toFixed(0)}; server CPU ${cpu}`,
        ratio: ratio(v),
        target: target === undefined ? undefined : `>= ${target.toFixed(2)}x`,
        ok: met,
        stability,
      });
  }
  return ok;
}
