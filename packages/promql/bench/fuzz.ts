// pnpm fuzz -- [--seeds N | --seed-list 1,2,3] [--count N]: differential fuzzing against Debian's promtool 2.42.
// Prints one line per disagreement (shrunk) and the totals; exits 1 when any was found.
import { execFileSync } from 'node:child_process';
import { fuzz, reproLine } from '../test/fuzz/differential.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

let promtool: string;
try {
  promtool = execFileSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).trim();
} catch {
  console.error('[@obs/promql] promtool is not installed (apt-get install prometheus): nothing to compare with');
  process.exit(2);
}
const first = Number(arg('--first') ?? 1);
const seeds =
  arg('--seed-list')?.split(',').map(Number) ??
  Array.from({ length: Number(arg('--seeds') ?? 10) }, (_, i) => first + i);
const count = Number(arg('--count') ?? 500);
const started = Date.now();
const report = fuzz(promtool, seeds, count, (seed, found) => {
  if (found > 0 || process.argv.includes('--verbose')) console.log(`seed ${seed}: ${found} disagreement(s)`);
});
for (const d of report.disagreements) console.log(reproLine(d));
console.log(
  `${report.expressions} expressions over ${seeds.length} seeds (${seeds[0]}..${seeds[seeds.length - 1]}), ${report.errors} rejected by both, ${report.disagreements.length} disagreements, ${((Date.now() - started) / 1000).toFixed(1)}s`,
);
process.exit(report.disagreements.length > 0 ? 1 : 0);
