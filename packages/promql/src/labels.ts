/** A label set; `__name__` holds the metric name. */
export type Labels = Readonly<Record<string, string>>;

const SEP = '\xff';

/** A stable key for a label set (sorted names and values). */
export function labelsKey(labels: Labels, only?: readonly string[], without?: readonly string[]): string {
  let out = '';
  const names = Object.keys(labels).sort();
  for (const name of names) {
    if (only !== undefined && !only.includes(name)) continue;
    if (without?.includes(name)) continue;
    out += `${name}${SEP}${labels[name]}${SEP}`;
  }
  return out;
}

/** A copy of `labels` without `__name__`. */
export function dropName(labels: Labels): Labels {
  if (!('__name__' in labels)) return labels;
  const { __name__: _, ...rest } = labels;
  return rest;
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
