import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { inspect } from 'node:util';
import type { z } from 'zod';
import { type ConfigIssue, ObsConfigError } from '../errors.ts';
import { closest } from '../internal/suggest.ts';
import type { ObsPlugin } from '../plugin.ts';
import { isSecretKey, redact, redactUrl } from '../redact.ts';
import { findPosition, locateKeys, type Position } from './locate.ts';
import { buildConfigSchema, type ConfigSection, type ObsConfig } from './sections.ts';

/** The `[monitoring]` table as a program writes it: TOML keys, durations as strings like `"30s"`. */
export interface ConfigInput {
  readonly enabled?: boolean;
  readonly metrics_port?: number;
  readonly health_port?: number;
  readonly host?: string;
  readonly request_timeout?: string;
  readonly headers_timeout?: string;
  readonly shutdown_timeout?: string;
  readonly auth?: Readonly<Record<string, unknown>>;
  readonly prometheus?: Readonly<Record<string, unknown>>;
  readonly tracing?: Readonly<Record<string, unknown>>;
  readonly health?: Readonly<Record<string, unknown>>;
  readonly alerts?: Readonly<Record<string, unknown>>;
  readonly [section: string]: unknown;
}

/** Options of {@link loadConfig}. Later sources win: file, then environment, then overrides. */
export interface LoadConfigOptions {
  /** A TOML file whose `[monitoring]` table is read; other tables belong to the app and are ignored. */
  readonly file?: string | undefined;
  /** Environment to read `MONITORING_*` overrides from. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Programmatic overrides, in the shape of the `[monitoring]` table. */
  readonly overrides?: ConfigInput;
  /** Sections contributed by plugins, beyond those of `plugins`. */
  readonly sections?: readonly ConfigSection[];
  /** The plugins the config is for: their `configSection`s are validated with the rest. */
  readonly plugins?: readonly Pick<ObsPlugin, 'configSection'>[];
}

type Source = { readonly env: string } | { readonly overrides: true };

interface ConfigMeta {
  readonly raw: Record<string, unknown>;
  readonly sources: ReadonlyMap<string, Source>;
  readonly file: string | undefined;
  readonly positions: ReadonlyMap<string, Position>;
  readonly sections: readonly ConfigSection[];
}

const metas = new WeakMap<object, ConfigMeta>();
const ROOT = 'monitoring';

/**
 * Reads the monitoring configuration: the `[monitoring]` table of a TOML file, then `MONITORING_*`
 * environment variables, then programmatic overrides; validates it and returns it frozen.
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` listing every problem with its file, line and column, or env var.
 */
export function loadConfig(options: LoadConfigOptions = {}): ObsConfig {
  const raw: Record<string, unknown> = {};
  const sources = new Map<string, Source>();
  let positions: ReadonlyMap<string, Position> = new Map();
  const { file } = options;
  if (file !== undefined) {
    const fromFile = readTomlTable(file);
    positions = fromFile.positions;
    Object.assign(raw, fromFile.table);
  }
  const sections = [...(options.sections ?? []), ...(options.plugins ?? []).flatMap((p) => p.configSection ?? [])];
  const schema = buildConfigSchema(sections);
  const envIssues = applyEnv(raw, sources, schema, options.env ?? process.env);
  if (options.overrides !== undefined) mergeInto(raw, options.overrides, [], sources);
  return validate({ raw, sources, file, positions, sections }, schema, envIssues);
}

/**
 * A file path from the config, made absolute: relative to the folder of the TOML file when the key is written
 * there (as Prometheus resolves `rule_files`), else to the working directory (environment, overrides,
 * defaults). An empty value stays empty. `keyPath` is below `[monitoring]`: `"alerts.rules_file"`.
 */
export function resolveConfigPath(config: ObsConfig, keyPath: string): string {
  let value: unknown = config;
  for (const key of keyPath.split('.'))
    value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  if (typeof value !== 'string' || value === '') return '';
  const meta = metas.get(config);
  const inFile =
    meta?.file !== undefined &&
    findSource(meta.sources, keyPath) === undefined &&
    meta.positions.has(`${ROOT}.${keyPath}`);
  return resolve(inFile ? dirname(meta.file!) : process.cwd(), value);
}

/**
 * A {@link ConfigIssue} for a check made outside the schema (a plugin's cross-key rule), located like the
 * schema's own: file, line and column when the key is written in the TOML file, the variable when it came from
 * the environment. `keyPath` is below `[monitoring]`: `"health.show_details"`.
 */
export function configIssueAt(config: ObsConfig, keyPath: string, message: string): ConfigIssue {
  const path = `${ROOT}.${keyPath}`;
  const meta = metas.get(config);
  if (meta === undefined) return { path, message };
  const source = findSource(meta.sources, keyPath);
  if (source !== undefined && 'env' in source) return { path, env: source.env, message };
  if (source !== undefined || meta.file === undefined) return { path, message };
  const at = findPosition(meta.positions, path);
  return { path, file: meta.file, line: at?.line, column: at?.column, message };
}

/** @internal Validates a loaded config again with more sections (those of the plugins of a monitor). */
export function withSections(config: ObsConfig, sections: readonly ConfigSection[]): ObsConfig {
  const meta = metas.get(config);
  if (meta === undefined) return config;
  const missing = sections.filter((s) => !meta.sections.includes(s));
  if (missing.length === 0) return config;
  const all = [...meta.sections, ...missing];
  return validate({ ...meta, sections: all }, buildConfigSchema(all), []);
}

/** @internal Whether `value` came out of {@link loadConfig}. */
export function isLoadedConfig(value: unknown): value is ObsConfig {
  return typeof value === 'object' && value !== null && metas.has(value);
}

// smol-toml is loaded by the first config file read, not by every import of @obs/core (#22); its CommonJS
// build, so that a synchronous loadConfig() can load it.
let toml: typeof import('smol-toml') | undefined;

function readTomlTable(file: string): { table: Record<string, unknown>; positions: Map<string, Position> } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    throw new ObsConfigError('@obs/core', [{ path: '', file, message: `cannot read the config file: ${reason}` }]);
  }
  toml ??= createRequire(import.meta.url)('smol-toml') as typeof import('smol-toml');
  const { parse: parseToml, TomlError } = toml;
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = err.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
      throw new ObsConfigError('@obs/core', [
        { path: '', file, line: err.line, column: err.column, message: `TOML syntax error: ${reason}` },
      ]);
    }
    throw err;
  }
  const positions = locateKeys(text);
  const table = doc[ROOT];
  if (table === undefined) return { table: {}, positions };
  if (!isPlainObject(table)) {
    const at = positions.get(ROOT);
    throw new ObsConfigError('@obs/core', [
      { path: ROOT, file, line: at?.line, column: at?.column, message: 'must be a table ([monitoring])' },
    ]);
  }
  return { table: structuredClone(table), positions };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function mergeInto(
  target: Record<string, unknown>,
  source: object,
  path: string[],
  sources: Map<string, Source>,
): void {
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined) continue;
    const keyPath = [...path, key];
    const existing = target[key];
    if (isPlainObject(value) && isPlainObject(existing)) {
      mergeInto(existing, value, keyPath, sources);
    } else {
      target[key] = isPlainObject(value) ? structuredClone(value) : value;
      sources.set(keyPath.join('.'), { overrides: true });
    }
  }
}

// zod 4 keeps the wrapped schema in `def.innerType` (default, optional...) or `def.in` (pipe).
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const def = current._zod.def as unknown as { type: string; innerType?: z.ZodType; in?: z.ZodType };
    if (def.innerType !== undefined) current = def.innerType;
    else if (def.type === 'pipe' && def.in !== undefined) current = def.in;
    else return current;
  }
}

function leaves(schema: z.ZodType, path: string[], out: Map<string, { path: string[]; type: string }>): void {
  const base = unwrap(schema);
  if (base._zod.def.type === 'object') {
    for (const [key, child] of Object.entries((base as z.ZodObject).shape)) leaves(child, [...path, key], out);
    return;
  }
  out.set(`MONITORING_${path.join('_').toUpperCase()}`, { path, type: base._zod.def.type });
}

function coerce(text: string, type: string): unknown {
  const trimmed = text.trim();
  if (type === 'boolean') {
    if (/^(true|1|yes|on)$/i.test(trimmed)) return true;
    if (/^(false|0|no|off)$/i.test(trimmed)) return false;
    return text;
  }
  if (type === 'number') return /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(trimmed) ? Number(trimmed) : text;
  if (type === 'array') return trimmed === '' ? [] : trimmed.split(',').map((s) => s.trim());
  return text;
}

function applyEnv(
  raw: Record<string, unknown>,
  sources: Map<string, Source>,
  schema: z.ZodObject,
  env: Readonly<Record<string, string | undefined>>,
): ConfigIssue[] {
  const known = new Map<string, { path: string[]; type: string }>();
  leaves(schema, [], known);
  const sectionPrefixes = Object.keys(schema.shape).map((k) => `MONITORING_${k.toUpperCase()}_`);
  const issues: ConfigIssue[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !name.startsWith('MONITORING_')) continue;
    const leaf = known.get(name);
    if (leaf === undefined) {
      const suggestion = closest(name, known.keys());
      if (suggestion !== undefined || sectionPrefixes.some((p) => name.startsWith(p))) {
        issues.push({
          path: '',
          env: name,
          message: `unknown setting${suggestion === undefined ? '' : `; did you mean ${suggestion}?`}`,
        });
      }
      continue;
    }
    let target = raw;
    for (const key of leaf.path.slice(0, -1)) {
      let next = target[key];
      if (!isPlainObject(next)) {
        next = {};
        target[key] = next;
      }
      target = next as Record<string, unknown>;
    }
    target[leaf.path.at(-1)!] = coerce(value, leaf.type);
    sources.set(leaf.path.join('.'), { env: name });
  }
  return issues;
}

function describe(value: unknown, secret: boolean): string {
  if (secret) return `a ${typeof value}`;
  if (typeof value === 'string') {
    // Redacted before it is shortened: a cut URL could otherwise lose the `@` that marks its password.
    const safe = redactUrl(value);
    return JSON.stringify(safe.length > 60 ? `${safe.slice(0, 57)}...` : safe);
  }
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a table';
  return String(value);
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current = root;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function shapeAt(schema: z.ZodObject, path: readonly PropertyKey[]): string[] {
  let current: z.ZodType = schema;
  for (const key of path) {
    const base = unwrap(current);
    if (base._zod.def.type === 'array' && typeof key === 'number') {
      current = (base as z.ZodArray).element as z.ZodType;
      continue;
    }
    if (base._zod.def.type !== 'object') return [];
    const child = (base as z.ZodObject).shape[String(key)];
    if (child === undefined) return [];
    current = child;
  }
  const base = unwrap(current);
  return base._zod.def.type === 'object' ? Object.keys((base as z.ZodObject).shape) : [];
}

function messageFor(issue: z.core.$ZodIssue, input: unknown, secret: boolean): string {
  const got = input === undefined ? '' : ` (got ${describe(input, secret)})`;
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${issue.expected === 'object' ? 'a table' : `a ${issue.expected}`}${got}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}${got}`;
    case 'too_small':
      return issue.origin === 'string' ? `must not be empty${got}` : `must be at least ${String(issue.minimum)}${got}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}${got}`;
    case 'invalid_format':
    case 'custom':
      return issue.message.includes('(got ') ? redactUrl(issue.message) : `${redactUrl(issue.message)}${got}`;
    default:
      return issue.message;
  }
}

function validate(meta: ConfigMeta, schema: z.ZodObject, issues: ConfigIssue[]): ObsConfig {
  const result = schema.safeParse(meta.raw);
  const located = (path: string, fromEnv?: string): ConfigIssue => {
    const source = fromEnv === undefined ? findSource(meta.sources, path) : { env: fromEnv };
    if (source !== undefined && 'env' in source) return { path, env: source.env, message: '' };
    if (source !== undefined || meta.file === undefined) return { path, message: '' };
    const at = findPosition(meta.positions, path === '' ? ROOT : `${ROOT}.${path}`);
    return { path, file: meta.file, line: at?.line, column: at?.column, message: '' };
  };
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        const siblings = shapeAt(schema, issue.path);
        for (const key of issue.keys) {
          const path = [ROOT, ...issue.path.map(String), key].join('.');
          const suggestion = closest(key, siblings);
          const hint =
            suggestion === undefined ? ` (known keys: ${siblings.join(', ')})` : `; did you mean "${suggestion}"?`;
          issues.push({ ...located(path.slice(ROOT.length + 1)), path, message: `unknown key${hint}` });
        }
        continue;
      }
      const keyPath = issue.path.map(String).join('.');
      const input = valueAt(meta.raw, issue.path);
      const secret = issue.path.some((k) => typeof k === 'string' && isSecretKey(k));
      const path = keyPath === '' ? ROOT : `${ROOT}.${keyPath}`;
      issues.push({ ...located(keyPath), path, message: messageFor(issue, input, secret) });
    }
  }
  if (issues.length > 0) throw new ObsConfigError('@obs/core', issues);
  const config = deepFreeze(decorate(result.data as Record<string, unknown>)) as unknown as ObsConfig;
  metas.set(config, meta);
  return config;
}

function findSource(sources: ReadonlyMap<string, Source>, path: string): Source | undefined {
  for (let current = path; ; ) {
    const found = sources.get(current);
    if (found !== undefined) return found;
    const dot = current.lastIndexOf('.');
    if (dot === -1) return undefined;
    current = current.slice(0, dot);
  }
}

// Printing or logging the config (JSON.stringify, console.log, util.inspect) shows secrets redacted.
function decorate(config: Record<string, unknown>): Record<string, unknown> {
  const plain = { ...config };
  Object.defineProperty(config, 'toJSON', { value: () => redact(plain), enumerable: false });
  Object.defineProperty(config, inspect.custom, {
    value: (_depth: number, options: object) => inspect(redact(plain), options),
    enumerable: false,
  });
  return config;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
