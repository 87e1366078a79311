/** A label set; `__name__` holds the metric name. */
export type Labels = Readonly<Record<string, string>>;

const SEP = '\xff';

// Label sets that cannot change (the store's, and those made here) keep their key: range queries and
// subqueries meet the same series at every step.
const keys = new WeakMap<Labels, string>();
const unnamed = new WeakMap<Labels, Labels>();

/** A stable key for a label set (sorted names and values). */
export function labelsKey(labels: Labels, only?: readonly string[], without?: readonly string[]): string {
  const whole = only === undefined && without === undefined;
  if (whole) {
    const hit = keys.get(labels);
    if (hit !== undefined) return hit;
  }
  let out = '';
  const names = Object.keys(labels).sort();
  for (const name of names) {
    if (only !== undefined && !only.includes(name)) continue;
    if (without?.includes(name)) continue;
    out += `${name}${SEP}${labels[name]}${SEP}`;
  }
  if (whole && Object.isFrozen(labels)) keys.set(labels, out);
  return out;
}

const named = new WeakMap<Labels, Map<string, string>>();

/**
 * `labelsKey({ ...labels, __name__: name })`, kept per frozen label set and name: a collection hands the same
 * frozen objects every time, so a series' key is built once, not at every collection.
 */
export function seriesKey(name: string, labels: Labels): string {
  let byName = named.get(labels);
  let key = byName?.get(name);
  if (key !== undefined) return key;
  key = labelsKey({ ...labels, __name__: name });
  if (!Object.isFrozen(labels)) return key;
  if (byName === undefined) {
    byName = new Map();
    named.set(labels, byName);
  }
  // Flattened once here, so that every map lookup with it hashes a flat string.
  byName.set(name, key);
  return key;
}

/** A copy of `labels` without `__name__` (frozen, and the same copy each time, when `labels` is frozen). */
export function dropName(labels: Labels): Labels {
  if (!('__name__' in labels)) return labels;
  const hit = unnamed.get(labels);
  if (hit !== undefined) return hit;
  const { __name__: _, ...rest } = labels;
  if (!Object.isFrozen(labels)) return rest;
  const frozen = Object.freeze(rest);
  unnamed.set(labels, frozen);
  return frozen;
}

/** Prometheus' labels.Compare: names and values pairwise in name order, then the shorter set first. */
export function compareLabels(a: Labels, b: Labels): number {
  const an = Object.keys(a).sort();
  const bn = Object.keys(b).sort();
  const n = Math.min(an.length, bn.length);
  for (let i = 0; i < n; i++) {
    const x = an[i]!;
    const y = bn[i]!;
    if (x !== y) return x < y ? -1 : 1;
    const xv = a[x]!;
    const yv = b[y]!;
    if (xv !== yv) return xv < yv ? -1 : 1;
  }
  return an.length - bn.length;
}
