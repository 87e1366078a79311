// zod, loaded when a config is first validated rather than when @obs/core is imported (#22: zod 4 is about
// 80 ms of a cold start). Plugins build their section schemas with `z` at import time, so until zod is
// loaded `z` records what is built (`z.string().min(1).default('x')`) and replays it on the real zod on
// first use; from then on every access goes straight to zod. Anything that reads a schema rather than
// building one (parse, shape, _zod, a symbol, `then`) loads zod first.
import { createRequire } from 'node:module';
import type { z as Zod } from 'zod';

type ZodNamespace = typeof Zod;

let real: ZodNamespace | undefined;

/** @internal zod itself, loaded (synchronously) on the first call. */
export function loadZod(): ZodNamespace {
  real ??= (createRequire(import.meta.url)('zod') as { z: ZodNamespace }).z;
  return real;
}

const RESOLVE = Symbol('obs.lazyZod.resolve');

// Names that read a schema (or zod's helpers that return something other than a schema).
const READS: ReadonlySet<PropertyKey> = new Set([
  'then',
  'parse',
  'safeParse',
  'parseAsync',
  'safeParseAsync',
  'spa',
  'decode',
  'encode',
  'safeDecode',
  'safeEncode',
  'decodeAsync',
  'encodeAsync',
  'safeDecodeAsync',
  'safeEncodeAsync',
  'shape',
  'def',
  '_def',
  '_zod',
  'type',
  'description',
  'isOptional',
  'isNullable',
  'options',
  'element',
  'toJSONSchema',
  'config',
  'treeifyError',
  'prettifyError',
  'flattenError',
  'formatError',
  'globalRegistry',
  'registry',
  'NEVER',
  'toString',
  'toJSON',
  'valueOf',
]);

type Resolver = () => unknown;

function isDeferred(value: unknown): value is { [RESOLVE]: Resolver } {
  return typeof value === 'function' && (value as unknown as Record<symbol, unknown>)[RESOLVE] !== undefined;
}

// Replaces deferred schemas in arguments (z.object({ a: deferred }), z.union([deferred, …])) by real ones.
function materialize(value: unknown, depth = 0): unknown {
  if (isDeferred(value)) return value[RESOLVE]();
  if (depth > 8 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => materialize(v, depth + 1));
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<PropertyKey, unknown> = {};
  for (const key of Reflect.ownKeys(value))
    out[key] = materialize((value as Record<PropertyKey, unknown>)[key], depth + 1);
  return out;
}

// A property of a real value: methods are bound to it and get their arguments materialized.
function member(owner: object, key: PropertyKey): unknown {
  const found = Reflect.get(owner, key) as unknown;
  if (typeof found !== 'function' || typeof key === 'symbol') return found;
  return new Proxy(found, {
    apply: (target, _this, args: unknown[]) =>
      Reflect.apply(
        target,
        owner,
        args.map((a) => materialize(a)),
      ),
  });
}

function deferred(resolve: Resolver): unknown {
  let done = false;
  let value: unknown;
  const once = (): unknown => {
    if (!done) {
      value = resolve();
      done = true;
    }
    return value;
  };
  // A function target, so that the proxy can be called (z.string()) and constructed.
  return new Proxy(() => {}, {
    get(_target, key) {
      if (key === RESOLVE) return once;
      if (real === undefined && typeof key !== 'symbol' && !READS.has(key)) {
        return deferred(() => member(once() as object, key));
      }
      loadZod();
      return member(once() as object, key);
    },
    apply(_target, _this, args: unknown[]) {
      if (real === undefined)
        return deferred(() =>
          Reflect.apply(
            once() as (...args: unknown[]) => unknown,
            undefined,
            args.map((a) => materialize(a)),
          ),
        );
      return Reflect.apply(
        once() as (...args: unknown[]) => unknown,
        undefined,
        args.map((a) => materialize(a)),
      );
    },
    has(_target, key) {
      loadZod();
      return Reflect.has(once() as object, key);
    },
  });
}

/** zod 4's `z`, loaded on first use (see above). */
export const lazyZ: ZodNamespace = deferred(loadZod) as ZodNamespace;
