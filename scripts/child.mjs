// Runs one child process for scripts/run.mjs, forwarding SIGINT and SIGTERM to it: `kill -INT` of the
// `npm run demo` process (not only a Ctrl-C to the whole process group) stops the demo cleanly (#20).
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

const FORWARDED = ['SIGINT', 'SIGTERM'];

/**
 * Spawns `command` with `args` (options as child_process.spawn's, stdio inherited by default) and resolves
 * with its exit status: its code, or 128 + the signal number when a signal ended it, as a shell reports it.
 * While it runs, this process survives SIGINT and SIGTERM and passes them on; the child decides when to end.
 * @param {string} command
 * @param {readonly string[]} args
 * @param {import('node:child_process').SpawnOptions} [options]
 * @returns {Promise<number>}
 */
export function runChild(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', ...options });
    const forward = (signal) => {
      // A Ctrl-C reaches the whole process group, the child included: then it has it already.
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    for (const signal of FORWARDED) process.on(signal, forward);
    const done = () => {
      for (const signal of FORWARDED) process.off(signal, forward);
    };
    child.once('error', (error) => {
      done();
      reject(error);
    });
    child.once('exit', (code, signal) => {
      done();
      resolve(code ?? 128 + (constants.signals[signal] ?? 0));
    });
  });
}
