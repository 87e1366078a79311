import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ObsError } from '@obs/core';
import { exportPrometheusRules } from './export.ts';
import { runRuleTests } from './rule-tests.ts';
import {
  isRecordingRule,
  loadRuleGroups,
  metricNamesOfExposition,
  type RuleGroup,
  seedRules,
  unmatchedMetrics,
} from './rules.ts';

const USAGE = `Usage: obs-alerts <command> [options] [file...]

Commands:
  check <file>...          validate rule files (seed YAML or Prometheus rule groups)
    --metrics <file|->     and fail on a rule selecting a metric that this /metrics text (a file, or - for
                           stdin: curl -s localhost:8081/metrics | obs-alerts check --metrics - rules.yml)
                           does not expose
  export [file...] [-o f]  write the rules (default: the seed's) as a Prometheus rule file
  test <file>...           run rule unit tests in promtool's "test rules" format

Prometheus' own PromQL engine test scripts run with obs-promql promqltest (@obs/promql).
`;

/**
 * What promtool says of rules that write the same series (the same `record` or `alert` and labels): a warning,
 * since they "might cause inconsistency while recording expressions".
 */
function duplicateRules(groups: readonly RuleGroup[]): string[] {
  const seen = new Map<string, number>();
  for (const g of groups)
    for (const r of g.rules) {
      const name = isRecordingRule(r) ? r.record : r.name;
      const key = `${name}\u0000${Object.entries(r.labels)
        .sort()
        .map(([k, v]) => `${k}=${v}`)
        .join(',')}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  const dups = [...seen].filter(([, n]) => n > 1);
  if (dups.length === 0) return [];
  return [
    `${dups.length} duplicate rule(s) found.\n`,
    ...dups.map(([key]) => {
      const [name, labels] = key.split('\u0000') as [string, string];
      return `Metric: ${name}\nLabel(s):\n${labels === '' ? '' : `\t${labels.split(',').join('\n\t')}\n`}`;
    }),
    'Might cause inconsistency while recording expressions.\n',
  ];
}

/** Runs the command line; returns the exit code. */
export function main(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): number {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      metrics: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...files] = positionals;
  if (values.help || command === undefined) {
    out(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  try {
    switch (command) {
      case 'check': {
        let failed = 0;
        let exposed: Set<string> | undefined;
        if (values.metrics !== undefined) {
          try {
            exposed = metricNamesOfExposition(readFileSync(values.metrics === '-' ? 0 : values.metrics, 'utf8'));
          } catch (e) {
            err(`cannot read the metrics ${values.metrics}: ${(e as Error).message}\n`);
            return 1;
          }
        }
        for (const f of files) {
          try {
            const groups = loadRuleGroups(f);
            const all = groups.flatMap((g) => g.rules);
            const unmatched = exposed === undefined ? [] : unmatchedMetrics(all, exposed);
            for (const u of unmatched)
              err(`${f}: rule ${JSON.stringify(u.rule)} selects ${u.metric}, which the metrics do not expose\n`);
            if (unmatched.length > 0) {
              failed++;
              continue;
            }
            out(`${f}: ${all.length} rule(s) OK\n`);
            for (const w of duplicateRules(groups)) out(w);
          } catch (e) {
            failed++;
            err(`${f}: ${(e as Error).message}\n`);
          }
        }
        return failed > 0 || files.length === 0 ? 1 : 0;
      }
      case 'export': {
        const rules = files.length === 0 ? seedRules() : files.flatMap((f) => loadRuleGroups(f));
        const text = exportPrometheusRules(rules);
        if (values.output === undefined) out(text);
        else writeFileSync(values.output, text);
        return 0;
      }
      case 'test': {
        let failed = 0;
        for (const f of files) {
          const result = runRuleTests(f);
          for (const failure of result.failures) err(`FAILED: ${failure}\n`);
          out(`${f}: ${result.passed} passed, ${result.failures.length} failed\n`);
          failed += result.failures.length;
        }
        return failed > 0 || files.length === 0 ? 1 : 0;
      }
      case 'promqltest':
        err('promqltest moved to @obs/promql: obs-promql promqltest <path>...\n');
        return 2;
      default:
        err(`unknown command ${command}\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    err(`${e instanceof ObsError ? e.message : String(e)}\n`);
    return 1;
  }
}
