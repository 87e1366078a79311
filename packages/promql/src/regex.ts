// Regular expressions as Prometheus has them: RE2 syntax and semantics, fully anchored, `.` matching newlines,
// matched in linear time (re2js, a port of RE2), so no pattern a user sends can stall the event loop.
import { RE2JS } from 're2js';

/** A compiled, fully anchored RE2 pattern. */
export interface AnchoredRegex {
  /** The pattern as written, without the anchoring. */
  readonly source: string;
  /** Whether the whole text matches. */
  test(text: string): boolean;
  /** The whole-text match with its numbered and named groups, or null. */
  exec(text: string): RegExpExecArray | null;
}

const META = /[\\^$.|?*+()[\]{}]/;
const CACHE_LIMIT = 1000;
const cache = new Map<string, AnchoredRegex>();

// What Prometheus's FastRegexMatcher also short-cuts: a literal, a set of literals, `.*` and `.+`.
function fastTest(source: string): ((text: string) => boolean) | undefined {
  if (source === '.*') return () => true;
  if (source === '.+') return (text) => text !== '';
  if (!META.test(source)) return (text) => text === source;
  const parts = source.split('|');
  if (parts.length > 1 && parts.every((p) => !META.test(p))) {
    const set = new Set(parts);
    return (text) => set.has(text);
  }
  return undefined;
}

/**
 * Compiles `source` with RE2 syntax, anchored at both ends as Prometheus anchors label matchers
 * (`^(?s:source)$`). Compiled patterns are cached.
 * @throws Error (re2js's syntax error, naming what is wrong) for a pattern RE2 rejects.
 */
export function anchoredRegex(source: string): AnchoredRegex {
  const hit = cache.get(source);
  if (hit !== undefined) return hit;
  const re = RE2JS.compile(`^(?s:${source})$`);
  const fast = fastTest(source);
  const compiled: AnchoredRegex = {
    source,
    test: fast ?? ((text) => re.testExact(text)),
    exec: (text) => re.exec(text) as RegExpExecArray | null,
  };
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(source, compiled);
  return compiled;
}
