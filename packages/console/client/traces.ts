// Traces: recent spans from /traces grouped by trace, filters, and one trace as a waterfall.
import { getJson, type Settings } from './api.ts';
import { badge, errorBox, formatMs, h } from './dom.ts';

interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: string;
  startTime: string;
  durationMs: number;
  status: { code: string; message?: string };
  attributes: Record<string, unknown>;
  events: { name: string; time?: string; attributes?: Record<string, unknown> }[];
  service?: string;
  scope?: string;
}

interface TracesJson {
  spans: Span[];
}

const filters = { name: '', errors: false };

function isError(s: Span): boolean {
  return s.status.code === 'ERROR';
}

function attrTable(attrs: Record<string, unknown>): HTMLElement {
  const entries = Object.entries(attrs);
  if (entries.length === 0) return h('p', { class: 'muted' }, 'no attributes');
  return h(
    'dl',
    { class: 'attrs' },
    entries.map(([k, v]) => [h('dt', {}, k), h('dd', {}, typeof v === 'string' ? v : JSON.stringify(v))]),
  );
}

function spanDetails(span: Span): HTMLElement {
  return h(
    'section',
    { class: 'span-details', 'aria-label': `Span ${span.name}` },
    h('h3', {}, span.name, ' ', isError(span) ? badge('error') : null),
    h(
      'p',
      { class: 'muted' },
      `${span.kind} · ${formatMs(span.durationMs)} · span ${span.spanId}${span.scope ? ` · ${span.scope}` : ''}`,
    ),
    span.status.message ? h('p', { class: 'error' }, span.status.message) : null,
    h('h4', {}, 'Attributes'),
    attrTable(span.attributes),
    h('h4', {}, `Events (${span.events.length})`),
    span.events.length === 0
      ? h('p', { class: 'muted' }, 'no events')
      : h(
          'ul',
          { class: 'events' },
          span.events.map((e) =>
            h('li', {}, h('strong', {}, e.name), e.time ? ` at ${e.time}` : '', attrTable(e.attributes ?? {})),
          ),
        ),
  );
}

async function renderWaterfall(settings: Settings, root: HTMLElement, traceId: string): Promise<void> {
  const { spans } = await getJson<TracesJson>(`${settings.metricsBase}traces?trace_id=${encodeURIComponent(traceId)}`);
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const children = new Map<string | undefined, Span[]>();
  for (const s of spans) {
    const parent = s.parentSpanId !== undefined && byId.has(s.parentSpanId) ? s.parentSpanId : undefined;
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  const ordered: [Span, number][] = [];
  const walk = (parent: string | undefined, depth: number): void => {
    for (const s of (children.get(parent) ?? []).sort((a, b) => Date.parse(a.startTime) - Date.parse(b.startTime))) {
      ordered.push([s, depth]);
      walk(s.spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  const t0 = Math.min(...spans.map((s) => Date.parse(s.startTime)));
  const t1 = Math.max(...spans.map((s) => Date.parse(s.startTime) + s.durationMs));
  const total = Math.max(1, t1 - t0);
  const details = h('div', { id: 'span-details' });
  const rows = ordered.map(([s, depth], i) => {
    const left = ((Date.parse(s.startTime) - t0) / total) * 100;
    const width = Math.max(0.4, (s.durationMs / total) * 100);
    const bar = h('span', { class: `bar${isError(s) ? ' err' : ''}` });
    // CSSOM, not a style attribute: allowed under style-src 'self'.
    bar.style.left = `${left}%`;
    bar.style.width = `${Math.min(width, 100 - left)}%`;
    const name = h('span', { class: 'wf-name' }, s.name);
    name.style.paddingLeft = `${depth * 0.9}rem`;
    return h(
      'li',
      {},
      h(
        'button',
        {
          type: 'button',
          class: 'wf-row',
          'aria-label': `${s.name}, ${formatMs(s.durationMs)}${isError(s) ? ', error' : ''}`,
          onclick: (e: Event) => {
            for (const b of root.querySelectorAll('.wf-row[aria-pressed]')) b.removeAttribute('aria-pressed');
            (e.currentTarget as HTMLElement).setAttribute('aria-pressed', 'true');
            details.replaceChildren(spanDetails(s));
          },
          'data-index': i,
        },
        name,
        h('span', { class: 'wf-track' }, bar),
        h('span', { class: 'wf-dur' }, formatMs(s.durationMs)),
      ),
    );
  });
  const first = ordered[0]?.[0];
  if (first !== undefined) details.replaceChildren(spanDetails(first));
  root.replaceChildren(
    h('h1', {}, 'Trace'),
    h(
      'p',
      {},
      h('a', { href: '#traces' }, '← all traces'),
      ' ',
      h('code', {}, traceId),
      ` · ${spans.length} spans · ${formatMs(total)}`,
    ),
    h('ol', { class: 'waterfall', id: 'waterfall' }, rows),
    details,
  );
  root.querySelector<HTMLButtonElement>('.wf-row')?.focus();
}

export async function renderTraces(settings: Settings, root: HTMLElement, params: URLSearchParams): Promise<void> {
  const traceId = params.get('trace');
  if (traceId !== null) {
    try {
      await renderWaterfall(settings, root, traceId);
    } catch (err) {
      root.replaceChildren(h('h1', {}, 'Trace'), errorBox((err as Error).message));
    }
    return;
  }
  const q = new URLSearchParams();
  if (filters.name !== '') q.set('name', filters.name);
  if (filters.errors) q.set('error', 'true');
  const nameInput = h('input', {
    id: 'trace-name',
    type: 'search',
    value: filters.name,
    placeholder: 'api.*',
    name: 'name',
  });
  const errorsBox = h('input', { id: 'trace-errors', type: 'checkbox', checked: filters.errors, name: 'errors' });
  const form = h(
    'form',
    { class: 'filters', role: 'search' },
    h('label', { for: 'trace-name' }, 'Span name'),
    nameInput,
    h('label', { class: 'inline' }, errorsBox, ' errors only'),
    h('button', { type: 'submit', class: 'primary' }, 'Apply'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    filters.name = nameInput.value.trim();
    filters.errors = errorsBox.checked;
    void renderTraces(settings, root, params);
  });
  let spans: Span[];
  try {
    spans = (await getJson<TracesJson>(`${settings.metricsBase}traces${q.size > 0 ? `?${q}` : ''}`)).spans;
  } catch (err) {
    root.replaceChildren(h('h1', {}, 'Traces'), form, errorBox(`traces: ${(err as Error).message}`));
    return;
  }
  const traces = new Map<string, Span[]>();
  for (const s of spans) traces.set(s.traceId, [...(traces.get(s.traceId) ?? []), s]);
  const rows = [...traces.entries()]
    .map(([id, list]) => {
      const root0 = list.find((s) => s.parentSpanId === undefined) ?? list[0]!;
      return { id, root: root0, list, start: Math.min(...list.map((s) => Date.parse(s.startTime))) };
    })
    .sort((a, b) => b.start - a.start)
    .slice(0, 100);
  root.replaceChildren(
    h('h1', {}, 'Traces'),
    form,
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { id: 'traces-table' },
        h('caption', {}, `${rows.length} traces from ${spans.length} recent spans`),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Trace', 'Started', 'Duration', 'Spans', ''].map((t) => h('th', { scope: 'col' }, t)),
          ),
        ),
        h(
          'tbody',
          {},
          rows.length === 0
            ? h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No spans match.'))
            : rows.map((r) =>
                h(
                  'tr',
                  {},
                  h('td', {}, h('a', { href: `#traces?trace=${r.id}`, class: 'trace-link' }, r.root.name)),
                  h('td', {}, new Date(r.start).toLocaleTimeString()),
                  h('td', {}, formatMs(r.root.durationMs)),
                  h('td', {}, String(r.list.length)),
                  h('td', {}, r.list.some(isError) ? badge('error') : null),
                ),
              ),
        ),
      ),
    ),
  );
}
