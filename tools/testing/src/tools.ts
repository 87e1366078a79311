import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

/**
 * The path of a Debian tool (promtool, prometheus, prometheus-pushgateway...), or undefined when it is
 * not installed. In CI (CI=true) a missing tool is an error: `.ci/run` installs them, so the tests must run.
 */
export function debianTool(name: string): string | undefined {
  let path: string | undefined;
  try {
    path = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    path = undefined;
  }
  if (path === undefined) {
    if (process.env['CI'] === 'true')
      throw new Error(`${name} is not installed: .ci/run must install its Debian package`);
    console.warn(
      `skipping: ${name} is not installed here (apt-get install prometheus prometheus-alertmanager prometheus-pushgateway)`,
    );
  }
  return path;
}

/** The environment variable that points the PromQL conformance suite at Prometheus's engine test scripts. */
export const PROMQL_TESTDATA_ENV = 'OBS_PROMQL_TESTDATA';

/**
 * The folder of Prometheus's own PromQL engine test scripts (`promql/promqltest/testdata` of a Prometheus
 * checkout): `$OBS_PROMQL_TESTDATA` when set, else `../shared/promql-testdata` beside the repository.
 * Undefined (and said once, with how to get them) when that folder does not exist: the suite is then skipped.
 */
export function promqlTestdata(): string | undefined {
  const fromEnv = process.env[PROMQL_TESTDATA_ENV];
  const dir =
    fromEnv !== undefined && fromEnv !== ''
      ? resolve(fromEnv)
      : join(import.meta.dirname, '../../../../shared/promql-testdata');
  if (existsSync(dir)) return dir;
  console.warn(
    `skipping Prometheus' PromQL engine test scripts: ${dir} is missing (clone https://github.com/prometheus/prometheus at d15adb9ad7, then ${PROMQL_TESTDATA_ENV}=<clone>/promql/promqltest/testdata)`,
  );
  return undefined;
}

/** A free TCP port on 127.0.0.1, for tools that cannot report the port they bound. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A child process that stops with the test. */
export interface RunningTool extends AsyncDisposable {
  readonly child: ChildProcess;
  readonly output: () => string;
  stop(): Promise<void>;
}

/** Starts a tool and waits until `ready()` resolves true (polled), or fails with its output. */
export async function startTool(
  command: string,
  args: readonly string[],
  ready: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<RunningTool> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}:\n${output}`);
    if (await ready().catch(() => false)) {
      // Ready may have been answered by another process on a port that ours then failed to bind (freePort's port
      // taken meanwhile by a parallel test): ours says so and exits at once, so look once more before trusting it.
      await new Promise((resolve) => setTimeout(resolve, 150));
      if (child.exitCode !== null || /address already in use/i.test(output))
        throw new Error(`${command} could not start (another process answered on its port):\n${output}`);
      break;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${command} was not ready after ${timeoutMs}ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, output: () => output, stop, [Symbol.asyncDispose]: stop };
}
