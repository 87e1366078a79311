// uPlot charts: time series from query_range (one line per series) and small sparklines.
import uPlot from 'uplot';
import type { MatrixItem } from './api.ts';
import { h } from './dom.ts';

const PALETTE = [
  '#3b82f6',
  '#ef4444',
  '#10b981',
  '#f59e0b',
  '#8b5cf6',
  '#ec4899',
  '#14b8a6',
  '#f97316',
  '#64748b',
  '#84cc16',
];

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

/** `name{a="b"}`, as Prometheus names a series. */
export function seriesName(metric: Record<string, string>): string {
  const { __name__: name = '', ...labels } = metric;
  const inner = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ');
  return inner === '' ? name || '{}' : `${name}{${inner}}`;
}

/** One chart with a line per series; resizes with its container. Returns the element (data-series = lines). */
export function timeChart(series: MatrixItem[], opts: { title?: string; unit?: string } = {}): HTMLElement {
  const box = h('div', { class: 'chart', 'data-series': series.length });
  if (series.length === 0) {
    box.append(h('p', { class: 'muted' }, 'no data in this range'));
    return box;
  }
  // Native histograms have no single value to draw: the table shows their count, sum and buckets.
  if (series.every((s) => (s.values ?? []).length === 0) && series.some((s) => (s.histograms ?? []).length > 0)) {
    box.append(
      h(
        'p',
        { class: 'muted' },
        'native histograms: graph histogram_quantile(0.95, …), histogram_count(…) or histogram_sum(…), or use the table',
      ),
    );
    return box;
  }
  const times = [...new Set(series.flatMap((s) => (s.values ?? []).map((v) => v[0])))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const data: uPlot.AlignedData = [
    times,
    ...series.map((s) => {
      const ys: (number | null)[] = new Array(times.length).fill(null);
      for (const [t, v] of s.values ?? []) ys[index.get(t)!] = Number(v);
      return ys;
    }),
  ];
  const axis = {
    stroke: cssVar('--fg-muted'),
    grid: { stroke: cssVar('--grid') },
    ticks: { stroke: cssVar('--grid') },
  };
  const unit = opts.unit ?? '';
  const plot = new uPlot(
    {
      ...(opts.title === undefined ? {} : { title: opts.title }),
      width: 600,
      height: 240,
      series: [
        {},
        ...series.map((s, i) => ({
          label: seriesName(s.metric),
          stroke: PALETTE[i % PALETTE.length]!,
          width: 1.5,
          spanGaps: false,
          value: (_u: uPlot, v: number | null) => (v === null ? '-' : `${formatValue(v)}${unit}`),
        })),
      ],
      axes: [axis, { ...axis, size: 60, values: (_u, vals) => vals.map((v) => `${formatValue(v)}${unit}`) }],
      legend: { live: true },
      cursor: { focus: { prox: 16 } },
    },
    data,
    box,
  );
  const fit = (): void => {
    const w = Math.max(240, Math.floor(box.clientWidth));
    if (w !== plot.width) plot.setSize({ width: w, height: 240 });
  };
  new ResizeObserver(fit).observe(box);
  requestAnimationFrame(fit);
  return box;
}

/** A small line of the last values, no axes. */
export function sparkline(values: number[], times: number[], label: string): HTMLElement {
  const box = h('div', { class: 'spark', role: 'img', 'aria-label': label });
  if (values.length < 2) {
    box.append(h('span', { class: 'muted' }, 'collecting history...'));
    return box;
  }
  new uPlot(
    {
      width: 160,
      height: 36,
      legend: { show: false },
      cursor: { show: false },
      select: { show: false, left: 0, top: 0, width: 0, height: 0 },
      axes: [{ show: false }, { show: false }],
      scales: { x: { time: false }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(1, max * 1.1)] } },
      series: [{}, { stroke: cssVar('--accent'), width: 1.5, fill: cssVar('--accent-soft') }],
    },
    [times, values],
    box,
  );
  return box;
}

export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e9) return `${(v / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(2).replace(/\.?0+$/, '');
  return v.toPrecision(3).replace(/\.?0+$/, '');
}
