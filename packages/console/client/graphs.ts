// Graphs: the seed's panels from query_range, and an expression box like Prometheus's /graph.
import {
  type HistogramValue,
  HttpError,
  type MatrixItem,
  prom,
  type QueryData,
  queryRange,
  type Settings,
} from './api.ts';
import { seriesName, timeChart } from './chart.ts';
import { errorBox, h } from './dom.ts';

const RANGES: [string, number][] = [
  ['5m', 300],
  ['15m', 900],
  ['1h', 3_600],
  ['6h', 21_600],
];
let range = 900;

/** The seed's panels, named after the configured namespace. */
export function panels(p: string): { title: string; expr: string; unit?: string }[] {
  return [
    { title: 'Request rate by endpoint', expr: `sum by (endpoint) (rate(${p}api_requests_total[1m]))`, unit: '/s' },
    {
      title: 'p95 API latency',
      expr: `histogram_quantile(0.95, sum by (le, endpoint) (rate(${p}api_duration_seconds_bucket[5m])))`,
      unit: 's',
    },
    { title: 'Cache hit ratio', expr: `${p}cache_hit_ratio` },
    { title: 'Exports by status', expr: `sum by (status) (increase(${p}export_operations_total[5m]))` },
    { title: 'Active workers', expr: `${p}worker_pool_active` },
  ];
}

function rangePicker(onChange: () => void): HTMLElement {
  const select = h(
    'select',
    { id: 'range', name: 'range' },
    RANGES.map(([t, s]) => h('option', { value: s, selected: s === range }, t)),
  );
  select.addEventListener('change', () => {
    range = Number(select.value);
    onChange();
  });
  return h('span', { class: 'inline' }, h('label', { for: 'range' }, 'Range '), select);
}

function asMatrix(data: QueryData): MatrixItem[] {
  if (data.resultType === 'matrix') return data.result;
  if (data.resultType === 'vector')
    return data.result.map((v) => ({
      metric: v.metric,
      ...(v.value === undefined ? {} : { values: [v.value] }),
      ...(v.histogram === undefined ? {} : { histograms: [v.histogram] }),
    }));
  return [{ metric: {}, values: [data.result] }];
}

const RULES = ['(%s, %s]', '[%s, %s)', '(%s, %s)', '[%s, %s]'];

/** A native histogram in a table cell: count and sum, then each bucket with its bounds as the API gives them. */
function histogramText(hist: HistogramValue): string {
  const buckets = (hist.buckets ?? []).map(
    ([rule, lower, upper, count]) =>
      `${(RULES[rule] ?? RULES[0]!).replace('%s', lower).replace('%s', upper)}: ${count}`,
  );
  return [`count ${hist.count}, sum ${hist.sum}`, ...buckets].join('\n');
}

export async function renderGraphs(settings: Settings, root: HTMLElement): Promise<void> {
  const grid = h('div', { class: 'panels' });
  const list = panels(settings.metricPrefix);
  const cards = await Promise.all(
    list.map(async (panel) => {
      const card = h(
        'figure',
        { class: 'panel' },
        h(
          'figcaption',
          {},
          panel.title,
          ' ',
          h('a', { href: `#query?expr=${encodeURIComponent(panel.expr)}`, class: 'muted small' }, 'query'),
        ),
      );
      try {
        card.append(
          timeChart(
            asMatrix(await queryRange(settings, panel.expr, range)),
            panel.unit === undefined ? {} : { unit: panel.unit },
          ),
        );
      } catch (err) {
        card.append(errorBox((err as Error).message));
      }
      return card;
    }),
  );
  grid.append(...cards);
  const keep = root.querySelector('#range');
  const hadFocus = keep !== null && document.activeElement === keep;
  root.replaceChildren(
    h('h1', {}, 'Graphs'),
    h(
      'p',
      { class: 'toolbar' },
      rangePicker(() => void renderGraphs(settings, root)),
      h('span', { class: 'muted' }, ` auto-refresh every ${settings.refreshMs / 1000}s`),
    ),
    grid,
  );
  if (hadFocus) root.querySelector<HTMLElement>('#range')?.focus();
}

// "1:34: parse error: ..." -> line 1, column 34: a caret under the expression.
function positioned(expr: string, message: string): HTMLElement {
  const m = /(?:^|\s)(\d+):(\d+): /.exec(message);
  const box = errorBox(message);
  box.id = 'query-error';
  if (m === null) return box;
  const line = expr.split('\n')[Number(m[1]) - 1] ?? '';
  const col = Math.max(1, Number(m[2]));
  return h(
    'div',
    { class: 'error-pos' },
    box,
    h('pre', { 'aria-label': `error at line ${m[1]}, column ${m[2]}` }, `${line}\n${' '.repeat(col - 1)}^`),
  );
}

let tab: 'table' | 'graph' = 'graph';

export async function renderQuery(settings: Settings, root: HTMLElement, params: URLSearchParams): Promise<void> {
  const expr = params.get('expr') ?? '';
  const input = h(
    'textarea',
    {
      id: 'expr',
      name: 'expr',
      rows: 2,
      spellcheck: 'false',
      autocomplete: 'off',
      'aria-label': 'PromQL expression',
      placeholder: `rate(${settings.metricPrefix}api_requests_total[1m])`,
    },
    expr,
  );
  const out = h('div', { id: 'query-result', 'aria-live': 'polite' });
  const run = (): void => {
    const next = new URLSearchParams({ expr: input.value });
    if (location.hash !== `#query?${next}`) location.hash = `query?${next}`;
    else void execute();
  };
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      run();
    }
  });
  const tabs = (['graph', 'table'] as const).map((t) =>
    h(
      'button',
      {
        type: 'button',
        role: 'tab',
        id: `tab-${t}`,
        'aria-selected': String(t === tab),
        'aria-controls': 'query-result',
        onclick: () => {
          tab = t;
          void renderQuery(settings, root, params);
        },
      },
      t === 'graph' ? 'Graph' : 'Table',
    ),
  );
  async function execute(): Promise<void> {
    if (expr.trim() === '') {
      out.replaceChildren(h('p', { class: 'muted' }, 'Type an expression and press Enter.'));
      return;
    }
    out.replaceChildren(h('p', { class: 'muted' }, 'Running...'));
    try {
      if (tab === 'graph') {
        const data = await queryRange(settings, expr, range);
        if (data.resultType === 'string') throw new Error('a string result cannot be graphed: use the table');
        out.replaceChildren(timeChart(asMatrix(data)));
      } else {
        const data = await prom<QueryData>(settings, 'query', { query: expr });
        out.replaceChildren(resultTable(data));
      }
    } catch (err) {
      out.replaceChildren(err instanceof HttpError ? positioned(expr, err.message) : errorBox((err as Error).message));
    }
  }
  root.replaceChildren(
    h('h1', {}, 'Query'),
    h(
      'div',
      { class: 'query-box' },
      input,
      h(
        'div',
        { class: 'toolbar' },
        h('button', { type: 'button', class: 'primary', id: 'execute', onclick: run }, 'Execute'),
        rangePicker(() => void execute()),
      ),
    ),
    h('div', { role: 'tablist', class: 'tabs', 'aria-label': 'Result view' }, tabs),
    out,
  );
  await execute();
  if (document.activeElement === document.body || document.activeElement === root) input.focus();
}

function resultTable(data: QueryData): HTMLElement {
  const rows: [string, string][] =
    data.resultType === 'vector'
      ? data.result.map((v) => [seriesName(v.metric), v.value?.[1] ?? histogramText(v.histogram![1])])
      : data.resultType === 'matrix'
        ? data.result.map((m) => [
            seriesName(m.metric),
            [
              ...(m.values ?? []).map((v) => `${v[1]} @${v[0]}`),
              ...(m.histograms ?? []).map(([t, hist]) => `${histogramText(hist).replace('\n', ` @${t}\n`)}`),
            ].join('\n'),
          ])
        : [[data.resultType, String(data.result[1])]];
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { id: 'result-table' },
      h('caption', {}, `${rows.length} result${rows.length === 1 ? '' : 's'} (${data.resultType})`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Series'), h('th', { scope: 'col' }, 'Value'))),
      h(
        'tbody',
        {},
        rows.length === 0
          ? h('tr', {}, h('td', { colspan: 2, class: 'muted' }, 'Empty result.'))
          : rows.map(([s, v]) => h('tr', {}, h('td', {}, h('code', {}, s)), h('td', { class: 'num' }, v))),
      ),
    ),
  );
}
