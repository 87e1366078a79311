import { redact, redactUrl } from './redact.ts';

/** The log levels, from the most verbose. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What @obs logs through: bring your own (pino, winston, console) by adapting these four methods. */
export interface ObsLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const LEVELS: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Options of {@link createConsoleLogger}. */
export interface ConsoleLoggerOptions {
  /** @default 'info' */
  level?: LogLevel;
  /** Where lines go. @default process.stderr */
  stream?: { write(line: string): unknown };
  /** One JSON object per line instead of text. @default false */
  json?: boolean;
}

/** A logger that writes one line per entry (text or JSON), with secrets redacted. */
export function createConsoleLogger(options: ConsoleLoggerOptions = {}): ObsLogger {
  const min = LEVELS[options.level ?? 'info'];
  const stream = options.stream ?? process.stderr;
  const write = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    if (LEVELS[level] < min) return;
    const safe = fields === undefined ? undefined : redact(fields);
    const time = new Date().toISOString();
    if (options.json) {
      stream.write(`${JSON.stringify({ time, level, msg: redactUrl(message), ...safe })}\n`);
      return;
    }
    const extra = safe === undefined || Object.keys(safe).length === 0 ? '' : ` ${JSON.stringify(safe)}`;
    stream.write(`${time} ${level.toUpperCase().padEnd(5)} ${redactUrl(message)}${extra}\n`);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}

/** A logger that drops everything. */
export const silentLogger: ObsLogger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});

/** Wraps a user logger so that fields are redacted and a throwing logger never reaches the caller. */
export function safeLogger(logger: ObsLogger): ObsLogger {
  const wrap =
    (level: LogLevel) =>
    (message: string, fields?: Record<string, unknown>): void => {
      try {
        logger[level](redactUrl(message), fields === undefined ? undefined : redact(fields));
      } catch {
        // A broken logger must not break telemetry, let alone the host.
      }
    };
  return { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
}
