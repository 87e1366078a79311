import { yaml } from './internal/yaml.ts';
import { type AlertRule, isRecordingRule, type RuleGroup } from './rules.ts';

function promDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

function alertEntry(r: AlertRule): Record<string, unknown> {
  return {
    alert: r.name,
    expr: r.expr,
    ...(r.forMs > 0 ? { for: promDuration(r.forMs) } : {}),
    ...(r.keepFiringForMs > 0 ? { keep_firing_for: promDuration(r.keepFiringForMs) } : {}),
    ...(Object.keys(r.labels).length > 0 ? { labels: { ...r.labels } } : {}),
    ...(Object.keys(r.annotations).length > 0 ? { annotations: { ...r.annotations } } : {}),
  };
}

function groupEntry(g: RuleGroup, name: string): Record<string, unknown> {
  return {
    name,
    ...(g.intervalMs === undefined ? {} : { interval: promDuration(g.intervalMs) }),
    ...(g.limit > 0 ? { limit: g.limit } : {}),
    ...(g.queryOffsetMs > 0 ? { query_offset: promDuration(g.queryOffsetMs) } : {}),
    rules: g.rules.map((r) =>
      isRecordingRule(r)
        ? { record: r.record, expr: r.expr, ...(Object.keys(r.labels).length > 0 ? { labels: { ...r.labels } } : {}) }
        : alertEntry(r),
    ),
  };
}

/**
 * Writes rules as a Prometheus rule file that `promtool check rules` accepts: alerting rules as one group named
 * `group`, rule groups (recording rules included) as they are, in order.
 */
export function exportPrometheusRules(rules: readonly (AlertRule | RuleGroup)[], group = 'obs-alerts'): string {
  const loose = rules.filter((r): r is AlertRule => !('rules' in r));
  const groups = rules.filter((r): r is RuleGroup => 'rules' in r);
  const used = new Set<string>();
  // A seed-format file's group is named after its path; Prometheus wants a plain, unique name.
  const nameOf = (g: RuleGroup): string => {
    let name = g.name === g.source ? group : g.name;
    for (let i = 2; used.has(name); i++) name = `${g.name === g.source ? group : g.name}-${i}`;
    used.add(name);
    return name;
  };
  const out: Record<string, unknown>[] = [];
  if (loose.length > 0)
    out.push({
      name: nameOf({ name: group, source: '', intervalMs: undefined, limit: 0, queryOffsetMs: 0, rules: [] }),
      rules: loose.map(alertEntry),
    });
  for (const g of groups) out.push(groupEntry(g, nameOf(g)));
  return yaml().stringify({ groups: out });
}
