// The demo as a child process on free ports, with everything it writes at hand (shared by the issue #19 tests).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitUntil } from '@obs/testing';
import { SMTPServer } from 'smtp-server';
import { SEED_ENV } from './seed-env.ts';

export const bin = join(import.meta.dirname, '../dist/main.js');
export const dir = mkdtempSync(join(tmpdir(), 'exporter-demo-19-'));

/** Writes `text` as `name` in the test folder and returns its path. */
export function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** A running (or finished) demo. */
export interface Demo extends AsyncDisposable {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code and how long after `since` it came. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Waits (up to 30s) until stderr contains `text`; rejects if the demo exits first. */
  waitFor(text: string): Promise<void>;
}

/** The README's runner (`npm run demo` is `node scripts/run.mjs demo`). */
export const runner = join(import.meta.dirname, '../../../scripts/run.mjs');

/**
 * Starts the demo with `args` and `env`; `--export-dir` goes into the test folder. With `runner`, through
 * `node scripts/run.mjs demo` (give it a `pnpm` on PATH in `env`: it installs and builds first).
 */
export function startDemo(
  name: string,
  args: string[],
  env: Record<string, string> = {},
  options: { readonly runner?: boolean } = {},
): Demo {
  const entry = options.runner === true ? [runner, 'demo'] : [bin];
  const child = spawn(process.execPath, [...entry, '--export-dir', join(dir, name), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...SEED_ENV, ...env },
    cwd: dir,
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })),
  );
  let done = false;
  void exited.then(() => {
    done = true;
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(text) {
      await waitUntil(() => err.includes(text), { what: `"${text}"`, timeoutMs: 30_000, gaveUp: () => done }).catch(
        (error: Error) => {
          throw new Error(`${done ? 'the demo exited before' : `${error.message}:`} "${text}":\n${err}`);
        },
      );
    },
    async [Symbol.asyncDispose]() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A real SMTP server (smtp-server) on loopback, without TLS, keeping each mail's raw text. */
export interface SmtpReceiver {
  readonly port: number;
  readonly mails: string[];
  close(): Promise<void>;
}

/** Starts an {@link SmtpReceiver} on `port` (0: a free one). */
export async function smtpReceiver(port = 0): Promise<SmtpReceiver> {
  const mails: string[] = [];
  const smtp = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, _session, callback) {
      let raw = '';
      stream.on('data', (c: Buffer) => {
        raw += c.toString('utf8');
      });
      stream.on('end', () => {
        mails.push(raw);
        callback();
      });
    },
  });
  const bound = await new Promise<number>((resolve, reject) => {
    smtp.once('error', reject);
    smtp.listen(port, '127.0.0.1', () => resolve((smtp.server.address() as { port: number }).port));
  });
  return { port: bound, mails, close: () => new Promise<void>((r) => smtp.close(() => r())) };
}
