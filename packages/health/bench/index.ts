// pnpm bench: @obs/health's hot paths against their baselines in the same run, then the HTTP benchmarks.
import { type BenchCase, runBenchmarks } from '@obs/testing/bench';
import { createHealthChecker, type HealthReport, overallStatus, type RuleInput, toSeedJson } from '../src/index.ts';
import { runHttpBenchmarks } from './http.ts';

let sink = 0;

const inputs: RuleInput[] = ['api_connectivity', 'auth_status', 'database', 'cache', 'disk_space', 'memory'].map(
  (name, i) => ({ name, critical: i < 3, status: i === 4 ? 'degraded' : 'healthy' }),
);

async function seededReport(): Promise<HealthReport> {
  const checker = createHealthChecker({
    checks: inputs.map((input) => ({
      name: input.name,
      critical: input.critical,
      check: () => ({
        status: input.status,
        message: `${input.name} fine`,
        details: { hit_ratio: 0.847, size: '1.2MB' },
      }),
    })),
  });
  return checker.report();
}

const results = await runBenchmarks('@obs/health', {
  'overall status, 6 checks': (): BenchCase => ({
    name: 'overall status, 6 checks',
    baseline: {
      name: 'Array.some',
      run(n) {
        for (let i = 0; i < n; i++) sink += inputs.some((c) => c.status === 'unhealthy') ? 1 : 0;
      },
    },
    candidate: {
      name: 'overallStatus',
      run(n) {
        for (let i = 0; i < n; i++) sink += overallStatus(inputs) === 'healthy' ? 1 : 0;
      },
    },
    maxRatio: 3,
    teardown: () => {
      if (sink < 0) console.log(sink);
    },
  }),
  'seed JSON body, 6 checks': async (): Promise<BenchCase> => {
    const report = await seededReport();
    const json = toSeedJson(report);
    return {
      name: 'seed JSON body, 6 checks',
      baseline: {
        name: 'JSON.stringify',
        run(n) {
          for (let i = 0; i < n; i++) sink += JSON.stringify(json).length;
        },
      },
      candidate: {
        name: 'toSeedJson+stringify',
        run(n) {
          for (let i = 0; i < n; i++) sink += JSON.stringify(toSeedJson(report)).length;
        },
      },
      // Built at most once per second per variant when serving; this bounds the cost of that rebuild.
      maxRatio: 4,
    };
  },
});

if (process.env['OBS_BENCH_CASE'] === undefined) {
  const httpOk = await runHttpBenchmarks();
  if (!httpOk || results.some((r) => r.ok === false)) process.exitCode = 1;
}
