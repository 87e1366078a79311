// Overview: overall status, each check with its latency history (kept in sessionStorage), uptime, versions.
import { getJson, prom, type Settings } from './api.ts';
import { sparkline } from './chart.ts';
import { badge, errorBox, h, parseGoDuration } from './dom.ts';

interface HealthJson {
  status: string;
  timestamp: string;
  uptime?: string;
  version?: string;
  checks?: Record<string, { status: string; latency?: string; message?: string; details?: Record<string, unknown> }>;
}

interface History {
  [check: string]: { t: number[]; v: number[] };
}

const HISTORY_KEY = 'obs-console-health-history';
const KEEP = 120;

function loadHistory(): History {
  try {
    return JSON.parse(sessionStorage.getItem(HISTORY_KEY) ?? '{}') as History;
  } catch {
    return {};
  }
}

let lastStamp = '';

// One point per check run: the health JSON is cached between runs, so a repeated timestamp adds nothing.
function record(health: HealthJson): History {
  const history = loadHistory();
  if (health.timestamp === lastStamp) return history;
  lastStamp = health.timestamp;
  const t = Date.parse(health.timestamp) / 1000;
  for (const [name, check] of Object.entries(health.checks ?? {})) {
    const ms = parseGoDuration(check.latency ?? '');
    if (!Number.isFinite(ms)) continue;
    history[name] ??= { t: [], v: [] };
    const line = history[name];
    if (line.t.at(-1) === t) continue;
    line.t.push(t);
    line.v.push(ms);
    if (line.t.length > KEEP) {
      line.t.splice(0, line.t.length - KEEP);
      line.v.splice(0, line.v.length - KEEP);
    }
  }
  sessionStorage.setItem(HISTORY_KEY, JSON.stringify(history));
  return history;
}

/** The health JSON (503 still carries it); used by the header's status dot too. */
export async function fetchHealth(settings: Settings): Promise<HealthJson> {
  try {
    return await getJson<HealthJson>(settings.health);
  } catch (err) {
    const body = (err as { body?: unknown }).body as HealthJson | undefined;
    if (body !== undefined && typeof body === 'object' && typeof body.status === 'string') return body;
    throw err;
  }
}

export async function renderOverview(settings: Settings, root: HTMLElement): Promise<void> {
  let health: HealthJson;
  try {
    health = await fetchHealth(settings);
  } catch (err) {
    root.replaceChildren(h('h1', {}, 'Overview'), errorBox(`health: ${(err as Error).message}`));
    return;
  }
  const history = record(health);
  let build: Record<string, string> = {};
  try {
    build = await prom<Record<string, string>>(settings, 'status/buildinfo', {});
  } catch {
    // No metrics listener: the versions list shows what the page itself knows.
  }
  const checks = Object.entries(health.checks ?? {});
  const versions = {
    ...settings.versions,
    ...(health.version === undefined ? {} : { service: health.version }),
    ...(build['version'] === undefined ? {} : { 'query API (Prometheus)': build['version'] }),
  };
  root.replaceChildren(
    h('h1', {}, 'Overview'),
    h(
      'section',
      { class: 'summary', 'aria-label': 'Summary' },
      h('div', { class: 'stat' }, h('span', { class: 'k' }, 'Status'), badge(health.status)),
      h('div', { class: 'stat' }, h('span', { class: 'k' }, 'Uptime'), h('span', { class: 'v' }, health.uptime ?? '-')),
      h(
        'div',
        { class: 'stat' },
        h('span', { class: 'k' }, 'Checked'),
        h('time', { class: 'v', datetime: health.timestamp }, new Date(health.timestamp).toLocaleTimeString()),
      ),
      h(
        'div',
        { class: 'stat' },
        h('span', { class: 'k' }, 'Checks'),
        h('span', { class: 'v' }, String(checks.length)),
      ),
    ),
    h('h2', {}, 'Checks'),
    h(
      'ul',
      { class: 'checks' },
      checks.map(([name, c]) =>
        h(
          'li',
          { class: `check s-${c.status}`, 'data-check': name },
          h('div', { class: 'check-head' }, h('strong', {}, name), badge(c.status)),
          h('div', { class: 'muted' }, `latency ${c.latency ?? '-'}`),
          h('p', { class: 'msg' }, c.message ?? ''),
          sparkline(history[name]?.v ?? [], history[name]?.t ?? [], `${name} latency history in ms`),
        ),
      ),
    ),
    h('h2', {}, 'Versions'),
    h(
      'dl',
      { class: 'versions' },
      Object.entries(versions).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
    ),
  );
}
