// The page: settings from console.json, hash routing between the views, refresh, and the bearer token prompt.

import { renderAlerts } from './alerts.ts';
import { getJson, type Settings, setToken, token } from './api.ts';
import { h } from './dom.ts';
import { renderGraphs, renderQuery } from './graphs.ts';
import { fetchHealth, renderOverview } from './overview.ts';
import { renderTraces } from './traces.ts';

type View = 'overview' | 'alerts' | 'traces' | 'graphs' | 'query';
const VIEWS: readonly View[] = ['overview', 'alerts', 'traces', 'graphs', 'query'];
// Views that redraw on the timer; the others change only when asked (a redraw would move keyboard focus).
const LIVE: ReadonlySet<View> = new Set(['overview', 'graphs']);

const main = document.getElementById('main')!;
let settings: Settings;
let rendering = false;

function route(): { view: View; params: URLSearchParams } {
  const [name = '', query = ''] = location.hash.slice(1).split('?');
  const view = (VIEWS as readonly string[]).includes(name) ? (name as View) : 'overview';
  return { view, params: new URLSearchParams(query) };
}

async function render(focus: boolean): Promise<void> {
  const { view, params } = route();
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
    if (a.dataset['view'] === view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${view[0]!.toUpperCase()}${view.slice(1)} · ${settings.service}`;
  main.dataset['view'] = view;
  rendering = true;
  try {
    if (view === 'overview') await renderOverview(settings, main);
    else if (view === 'alerts') await renderAlerts(settings, main);
    else if (view === 'traces') await renderTraces(settings, main, params);
    else if (view === 'graphs') await renderGraphs(settings, main);
    else await renderQuery(settings, main, params);
  } finally {
    rendering = false;
  }
  main.dataset['ready'] = view;
  if (focus && !main.contains(document.activeElement)) main.focus({ preventScroll: true });
}

async function headerStatus(): Promise<void> {
  const dot = document.getElementById('status-dot')!;
  try {
    const health = await fetchHealth(settings);
    dot.className = `dot s-${health.status}`;
    dot.title = health.status;
  } catch {
    dot.className = 'dot s-unknown';
  }
}

function authControl(): void {
  const slot = document.getElementById('auth')!;
  if (settings.auth !== 'bearer') return;
  const has = token() !== null;
  const button = h('button', { type: 'button', class: 'small' }, has ? 'Forget token' : 'Set token');
  button.addEventListener('click', () => {
    if (token() !== null) setToken(null);
    else {
      // Kept in sessionStorage only: gone when the tab closes, never in a cookie or the URL.
      const value = window.prompt('Bearer token of the health listener (kept for this tab only):');
      if (value !== null) setToken(value.trim());
    }
    authControl();
    void render(false);
  });
  slot.replaceChildren(button);
}

async function boot(): Promise<void> {
  settings = await getJson<Settings>('console.json');
  document.getElementById('service')!.textContent = settings.service;
  authControl();
  document.addEventListener('obs:unauthorized', () => {
    if (settings.auth === 'bearer' && token() === null)
      document.getElementById('auth')?.querySelector('button')?.focus();
  });
  window.addEventListener('hashchange', () => void render(true));
  await Promise.all([render(false), headerStatus()]);
  setInterval(() => {
    void headerStatus();
    const { view } = route();
    if (
      LIVE.has(view) &&
      !rendering &&
      document.visibilityState === 'visible' &&
      document.querySelector('dialog[open]') === null
    )
      void render(false);
  }, settings.refreshMs);
}

boot().catch((err: Error) => {
  main.replaceChildren(h('p', { class: 'error', role: 'alert' }, `The console could not start: ${err.message}`));
});
