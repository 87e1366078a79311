// Alerts: firing (from /alerts, with their silences) and pending (from /api/v1/alerts), each with a link to its rule
// (/api/v1/rules), silencing one, and the silences.
import { getJson, prom, type Settings, send } from './api.ts';
import { badge, errorBox, h, labelChips, nodes, since } from './dom.ts';

interface Alert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  value?: number;
  fingerprint: string;
  status: { state: 'active' | 'suppressed' };
}

interface Silence {
  id: string;
  matchers: { name: string; value: string; isRegex: boolean; isEqual: boolean }[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  status: { state: 'active' | 'pending' | 'expired' };
}

const DURATIONS: [string, number][] = [
  ['15 minutes', 15],
  ['1 hour', 60],
  ['4 hours', 240],
  ['1 day', 1_440],
];

/** A pending or firing alert of /api/v1/alerts. */
interface RuleAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
}

/** An alerting rule of /api/v1/rules. */
interface AlertingRule {
  name: string;
  query: string;
  duration: number;
  labels: Record<string, string>;
  health: string;
  lastError?: string;
}

function queryLink(expr: string, text: string, attrs: Record<string, string> = {}): HTMLAnchorElement {
  return h('a', { href: `#query?expr=${encodeURIComponent(expr)}`, ...attrs }, text);
}

// The rule of an alert: the one of its name whose own labels the alert carries (several rules may share a name).
function ruleOf(rules: readonly AlertingRule[], labels: Record<string, string>): AlertingRule | undefined {
  return rules.find(
    (r) => r.name === labels['alertname'] && Object.entries(r.labels).every(([k, v]) => labels[k] === v),
  );
}

function ruleLinks(rules: readonly AlertingRule[], labels: Record<string, string>): (Node | string)[] {
  const rule = ruleOf(rules, labels);
  const graph = queryLink(`ALERTS{alertname="${labels['alertname'] ?? ''}"}`, 'graph');
  if (rule === undefined) return [graph];
  const title = `${rule.query}${rule.duration > 0 ? `  for ${rule.duration}s` : ''}${rule.health === 'err' ? `  (last evaluation failed: ${rule.lastError ?? ''})` : ''}`;
  return [queryLink(rule.query, 'rule', { class: 'rule-link', title }), ' · ', graph];
}

function silenceDialog(alert: Alert, done: () => void): HTMLDialogElement {
  const name = alert.labels['alertname'] ?? 'alert';
  const status = h('p', { class: 'error', role: 'alert', hidden: true });
  const duration = h(
    'select',
    { id: 'silence-duration', name: 'duration' },
    DURATIONS.map(([t, m]) => h('option', { value: m, selected: m === 60 }, t)),
  );
  const comment = h('textarea', { id: 'silence-comment', name: 'comment', rows: 3, required: true, maxlength: 1000 });
  const author = h('input', {
    id: 'silence-author',
    name: 'author',
    value: localStorage.getItem('obs-console-author') ?? 'console',
  });
  const dialog = h('dialog', { 'aria-labelledby': 'silence-title' });
  const form = h(
    'form',
    { method: 'dialog' },
    h('h2', { id: 'silence-title' }, `Silence "${name}"`),
    h('p', { class: 'muted' }, 'Matches every label of this alert:'),
    labelChips(alert.labels),
    h('label', { for: 'silence-duration' }, 'Duration'),
    duration,
    h('label', { for: 'silence-comment' }, 'Comment'),
    comment,
    h('label', { for: 'silence-author' }, 'Created by'),
    author,
    status,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel'),
      h('button', { type: 'submit', class: 'primary' }, 'Silence'),
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (comment.value.trim() === '') {
      status.hidden = false;
      status.textContent = 'A comment is required.';
      comment.focus();
      return;
    }
    localStorage.setItem('obs-console-author', author.value);
    const now = Date.now();
    send<{ silenceID: string }>('POST', '/silences', {
      matchers: Object.entries(alert.labels).map(([n, value]) => ({ name: n, value, isRegex: false, isEqual: true })),
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + Number(duration.value) * 60_000).toISOString(),
      createdBy: author.value,
      comment: comment.value.trim(),
    })
      .then(() => {
        dialog.close();
        done();
      })
      .catch((err: Error) => {
        status.hidden = false;
        status.textContent = `Not silenced: ${err.message}`;
      });
  });
  dialog.append(form);
  dialog.addEventListener('close', () => dialog.remove());
  return dialog;
}

export async function renderAlerts(settings: Settings, root: HTMLElement): Promise<void> {
  const rerender = (): void => void renderAlerts(settings, root);
  const [alerts, silences, ruleAlerts, ruleGroups] = await Promise.allSettled([
    getJson<Alert[]>('/alerts'),
    getJson<Silence[]>('/silences'),
    prom<{ alerts: RuleAlert[] }>(settings, 'alerts', {}),
    prom<{ groups: { rules: AlertingRule[] }[] }>(settings, 'rules', { type: 'alert' }),
  ]);
  const rules = ruleGroups.status === 'fulfilled' ? ruleGroups.value.groups.flatMap((g) => g.rules) : [];
  const alertRows =
    alerts.status === 'fulfilled'
      ? alerts.value.map((a) =>
          h(
            'tr',
            { 'data-alert': a.labels['alertname'] ?? '', 'data-fingerprint': a.fingerprint },
            h(
              'td',
              {},
              h('strong', {}, a.labels['alertname'] ?? '?'),
              h('br'),
              h('span', { class: 'small' }, ...ruleLinks(rules, a.labels)),
            ),
            h('td', {}, badge(a.status.state === 'suppressed' ? 'silenced' : 'firing')),
            h('td', {}, labelChips(a.labels, ['alertname'])),
            h(
              'td',
              {},
              Object.entries(a.annotations).map(([k, v]) => h('div', {}, h('span', { class: 'k' }, `${k}: `), v)),
            ),
            h('td', {}, since(a.startsAt)),
            h(
              'td',
              {},
              a.status.state === 'active'
                ? h(
                    'button',
                    {
                      type: 'button',
                      onclick: () => {
                        const dialog = silenceDialog(a, rerender);
                        document.body.append(dialog);
                        dialog.showModal();
                      },
                    },
                    'Silence',
                  )
                : h('span', { class: 'muted' }, 'muted'),
            ),
          ),
        )
      : [];
  const pendingRows =
    ruleAlerts.status === 'fulfilled'
      ? ruleAlerts.value.alerts
          .filter((p) => p.state === 'pending')
          .map((p) =>
            h(
              'tr',
              { 'data-alert': p.labels['alertname'] ?? '' },
              h(
                'td',
                {},
                h('strong', {}, p.labels['alertname'] ?? '?'),
                h('br'),
                h('span', { class: 'small' }, ...ruleLinks(rules, p.labels)),
              ),
              h('td', {}, badge('pending')),
              h('td', {}, labelChips(p.labels, ['alertname'])),
              h(
                'td',
                {},
                Object.entries(p.annotations).map(([k, v]) => h('div', {}, h('span', { class: 'k' }, `${k}: `), v)),
              ),
              h('td', {}, since(p.activeAt)),
              h('td', { class: 'muted' }, 'waiting for its "for" duration'),
            ),
          )
      : [];
  const rows = [...alertRows, ...pendingRows];
  root.replaceChildren(
    ...nodes(
      h('h1', {}, 'Alerts'),
      alerts.status === 'rejected' ? errorBox(`alerts: ${(alerts.reason as Error).message}`) : null,
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          { id: 'alerts-table' },
          h('caption', {}, `${alertRows.length} firing or silenced, ${pendingRows.length} pending`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Alert', 'State', 'Labels', 'Annotations', 'Active since', ''].map((t) => h('th', { scope: 'col' }, t)),
            ),
          ),
          h(
            'tbody',
            {},
            rows.length > 0 ? rows : h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'Nothing is firing.')),
          ),
        ),
      ),
      h('h2', {}, 'Silences'),
      silences.status === 'rejected' ? errorBox(`silences: ${(silences.reason as Error).message}`) : null,
      silences.status === 'fulfilled'
        ? h(
            'div',
            { class: 'scroll' },
            h(
              'table',
              { id: 'silences-table' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['Matchers', 'State', 'Ends', 'Comment', 'By', ''].map((t) => h('th', { scope: 'col' }, t)),
                ),
              ),
              h(
                'tbody',
                {},
                silences.value.length === 0
                  ? h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No silences.'))
                  : silences.value.map((s) =>
                      h(
                        'tr',
                        { 'data-silence': s.id },
                        h(
                          'td',
                          {},
                          h(
                            'span',
                            { class: 'labels' },
                            s.matchers.map((m) =>
                              h(
                                'span',
                                { class: 'label' },
                                `${m.name}${m.isEqual ? '' : '!'}${m.isRegex ? '~' : '='}"${m.value}"`,
                              ),
                            ),
                          ),
                        ),
                        h('td', {}, badge(s.status.state)),
                        h(
                          'td',
                          {},
                          h('time', { datetime: s.endsAt, title: s.endsAt }, new Date(s.endsAt).toLocaleString()),
                        ),
                        h('td', {}, s.comment),
                        h('td', {}, s.createdBy),
                        h(
                          'td',
                          {},
                          s.status.state === 'expired'
                            ? null
                            : h(
                                'button',
                                {
                                  type: 'button',
                                  onclick: () => {
                                    send('DELETE', `/silences/${encodeURIComponent(s.id)}`).then(
                                      rerender,
                                      (err: Error) => root.prepend(errorBox(`expire: ${err.message}`)),
                                    );
                                  },
                                },
                                'Expire',
                              ),
                        ),
                      ),
                    ),
              ),
            ),
          )
        : null,
    ),
  );
}
