/** A 1-based position in a TOML file. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

const HEADER = /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/;
const KEY_VALUE = /^(\s*)((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=/;

function splitKey(dotted: string): string[] {
  const parts: string[] = [];
  for (const match of dotted.matchAll(/"([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+)/g)) {
    parts.push(match[1] ?? match[2] ?? match[3] ?? '');
  }
  return parts;
}

/**
 * Maps each table header and key of a TOML document to where it is written, keyed by its dotted path
 * (`monitoring.tracing.sample_rate`; the keys of the second `[[a.routes]]` table are under `a.routes.1`). Only the first occurrence counts; keys inside inline tables and
 * multi-line strings are not indexed (their nearest indexed parent is used instead).
 */
export function locateKeys(text: string): Map<string, Position> {
  const positions = new Map<string, Position>();
  let table: string[] = [];
  let inMultiline: string | undefined;
  const arrays = new Map<string, number>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (inMultiline !== undefined) {
      if (line.includes(inMultiline)) inMultiline = undefined;
      continue;
    }
    const header = HEADER.exec(line);
    if (header !== null) {
      table = splitKey(header[1]!);
      const at = { line: i + 1, column: line.indexOf('[') + 1 };
      const path = table.join('.');
      if (!positions.has(path)) positions.set(path, at);
      if (line.trimStart().startsWith('[[')) {
        // An array of tables: each `[[a.b]]` is element a.b.<n> of the array.
        const n = arrays.get(path) ?? 0;
        arrays.set(path, n + 1);
        table = [...table, String(n)];
        positions.set(table.join('.'), at);
      }
      continue;
    }
    const kv = KEY_VALUE.exec(line);
    if (kv === null) continue;
    const path = [...table, ...splitKey(kv[2]!)].join('.');
    if (!positions.has(path)) positions.set(path, { line: i + 1, column: kv[1]!.length + 1 });
    const rest = line.slice(kv[0].length);
    for (const quote of ['"""', "'''"]) {
      const at = rest.indexOf(quote);
      if (at !== -1 && rest.indexOf(quote, at + 3) === -1) inMultiline = quote;
    }
  }
  return positions;
}

/** The position of `path`, or of its nearest written ancestor. */
export function findPosition(positions: ReadonlyMap<string, Position>, path: string): Position | undefined {
  let current = path;
  for (;;) {
    const found = positions.get(current);
    if (found !== undefined) return found;
    const dot = current.lastIndexOf('.');
    if (dot === -1) return undefined;
    current = current.slice(0, dot);
  }
}
