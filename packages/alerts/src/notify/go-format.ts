// Values as Alertmanager (Go) writes them: times, quoted strings, label sets, matchers, the order of alerts.
import { goQuote, type Labels } from '@obs/promql';
import type { LabelMatcher } from './dispatcher.ts';

/** Go's `string <` compares UTF-8 bytes; JS `<` compares UTF-16 units (they differ above U+FFFF). */
export function goCompare(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** A time as Go's encoding/json writes it (RFC 3339 with trailing zeros of the fraction dropped): `…:00Z`, `…:20.16Z`. */
export function goTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');
}

/** The same label set with its names in Go's order (encoding/json writes map keys sorted). */
export function sortedLabels(labels: Labels): Labels {
  const out: Record<string, string> = {};
  for (const k of Object.keys(labels).sort(goCompare)) out[k] = labels[k] ?? '';
  return out;
}

/** `model.LabelSet.String()` of Alertmanager 0.25: `{alertname="X", endpoint="history"}`. */
export function labelSetString(labels: Labels): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${goQuote(v)}`);
  return `{${pairs.sort(goCompare).join(', ')}}`;
}

const MATCH_TYPE = (m: LabelMatcher): number => (m.isEqual === false ? 1 : 0) + (m.isRegex === true ? 2 : 0);
const MATCH_OP = ['=', '!=', '=~', '!~'] as const;

/** `labels.Matchers.String()` of a route, sorted as Alertmanager sorts them: `{severity="warning"}`. */
export function matchersString(matchers: readonly LabelMatcher[]): string {
  const sorted = [...matchers].sort(
    (a, b) => goCompare(a.name, b.name) || goCompare(a.value, b.value) || MATCH_TYPE(a) - MATCH_TYPE(b),
  );
  const omEscape = (v: string): string => v.replace(/[\\\n"]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
  return `{${sorted.map((m) => `${m.name}${MATCH_OP[MATCH_TYPE(m)]}"${omEscape(m.value)}"`).join(',')}}`;
}

/** `LabelSet.Before` behind Alertmanager's `AlertSlice` order: fewer labels first, then the first differing label. */
function labelsBefore(a: Labels, b: Labels): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return ka.length < kb.length;
  for (const name of [...ka, ...kb].sort(goCompare)) {
    const va = a[name];
    const vb = b[name];
    if (va === undefined) return true;
    if (vb === undefined) return false;
    const c = goCompare(va, vb);
    if (c !== 0) return c < 0;
  }
  return false;
}

/** Alertmanager's order of the alerts in a notification: by `job`, then `instance`, then the label sets. */
export function compareAlertLabels(a: Labels, b: Labels): number {
  for (const key of ['job', 'instance']) {
    const va = a[key];
    const vb = b[key];
    if (va === undefined && vb === undefined) continue;
    if (va === undefined) return 1;
    if (vb === undefined) return -1;
    if (va !== vb) return goCompare(va, vb);
  }
  return labelsBefore(a, b) ? -1 : labelsBefore(b, a) ? 1 : 0;
}

/** Go's `url.QueryEscape` (text/template's `urlquery`): spaces become `+`, all but `A-Za-z0-9-_.~` is %-escaped. */
export function goQueryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** Go's `regexp.QuoteMeta`, which Alertmanager applies to the receiver's name in template data. */
export function goQuoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}
