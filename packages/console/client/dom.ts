// A tiny element builder: the page builds its DOM with properties and text nodes only (no innerHTML).
type Child = Node | string | number | false | null | undefined;
type Attrs = Record<string, string | number | boolean | ((event: Event) => void) | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[] | Child[][])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat(2)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'object' ? child : String(child));
  }
  return el;
}

export function badge(status: string): HTMLSpanElement {
  return h('span', { class: `badge s-${status}` }, status);
}

/** "3m ago" for a past time, with the ISO time as its title. */
export function since(iso: string): HTMLTimeElement {
  const ms = Date.now() - Date.parse(iso);
  return h('time', { datetime: iso, title: iso }, `${formatMs(ms)} ago`);
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1_000);
  if (s < 60) return `${s}s`;
  if (s < 3_600) return `${Math.floor(s / 60)}m${s % 60 > 0 ? `${s % 60}s` : ''}`;
  if (s < 86_400) return `${Math.floor(s / 3_600)}h${Math.floor((s % 3_600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3_600)}h`;
}

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };

/** Milliseconds of a Go duration ("145ms", "2h34m12s"), or NaN. */
export function parseGoDuration(text: string): number {
  let total = 0;
  let matched = '';
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(m[1]) * (UNITS[m[2]!] ?? Number.NaN);
    matched += m[0];
  }
  return matched === text && text !== '' ? total : Number.NaN;
}

export function labelChips(labels: Record<string, string>, skip: readonly string[] = []): HTMLElement {
  return h(
    'span',
    { class: 'labels' },
    Object.entries(labels)
      .filter(([k]) => !skip.includes(k))
      .map(([k, v]) => h('span', { class: 'label' }, `${k}="${v}"`)),
  );
}

export function errorBox(message: string): HTMLElement {
  return h('p', { class: 'error', role: 'alert' }, message);
}

/** The non-null nodes, for replaceChildren with optional parts. */
export function nodes(...list: (Node | null)[]): Node[] {
  return list.filter((n): n is Node => n !== null);
}
