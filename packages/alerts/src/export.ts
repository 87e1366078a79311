import { stringify } from 'yaml';
import type { AlertRule } from './rules.ts';

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

/** Writes rules as a Prometheus rule file (one group) that `promtool check rules` accepts. */
export function exportPrometheusRules(rules: readonly AlertRule[], group = 'obs-alerts'): string {
  return stringify({
    groups: [
      {
        name: group,
        rules: rules.map((r) => ({
          alert: r.name,
          expr: r.expr,
          ...(r.forMs > 0 ? { for: promDuration(r.forMs) } : {}),
          ...(r.keepFiringForMs > 0 ? { keep_firing_for: promDuration(r.keepFiringForMs) } : {}),
          ...(Object.keys(r.labels).length > 0 ? { labels: { ...r.labels } } : {}),
          ...(Object.keys(r.annotations).length > 0 ? { annotations: { ...r.annotations } } : {}),
        })),
      },
    ],
  });
}
