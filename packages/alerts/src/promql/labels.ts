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
