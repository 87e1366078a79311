// The obs-promql command line: promqltest runs Prometheus's PromQL test scripts against the engine.
import { parseArgs } from 'node:util';
import { PromqlError } from './errors.ts';
import { formatReport, totals } from './promqltest/report.ts';
import { runScriptFile, type ScriptResult, scriptFiles } from './promqltest/run.ts';

const USAGE = `Usage: obs-promql <command> [options] [path...]

Commands:
  promqltest <path>...     run Prometheus' PromQL engine test scripts (.test files, or folders of them)
                           against the engine; --verbose shows each failure

Exit codes: 0 all passed, 1 an evaluation failed, 2 a bad path, script or command line.
`;

/** Runs the command line; returns the exit code. */
export function main(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): number {
  let parsed: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { help: { type: 'boolean', short: 'h' }, verbose: { type: 'boolean', short: 'v' } },
    });
  }
  try {
    parsed = parse();
  } catch (e) {
    err(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...paths] = positionals;
  if (values.help || command === undefined) {
    out(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  if (command !== 'promqltest') {
    err(`unknown command ${command}\n${USAGE}`);
    return 2;
  }
  return promqltest(paths, values.verbose === true, out, err);
}

// Exit codes: 2 when a path or a script is bad (one line per problem), 1 when an evaluation that ran failed.
function promqltest(
  paths: readonly string[],
  verbose: boolean,
  out: (s: string) => void,
  err: (s: string) => void,
): number {
  if (paths.length === 0) {
    err(`promqltest needs at least one .test file or folder\n${USAGE}`);
    return 2;
  }
  let files: string[];
  try {
    files = scriptFiles(paths);
  } catch (e) {
    err(`${(e as Error).message}\n`);
    return 2;
  }
  const results: ScriptResult[] = [];
  let bad = 0;
  for (const f of files) {
    try {
      results.push(runScriptFile(f));
    } catch (e) {
      bad++;
      err(`${e instanceof PromqlError ? e.message : String(e)}\n`);
    }
  }
  out(formatReport(results, verbose));
  if (bad > 0) return 2;
  return totals(results.flatMap((r) => r.outcomes)).failed > 0 ? 1 : 0;
}
