// Issue #24: the same outage notified by our channels and by a real Alertmanager 0.25 (the demo's hand-off), with
// the same route tree (root and one child route), both to loopback webhook and SMTP receivers. The webhook payloads
// must be equal key by key except the URLs and the times of the two runs (those must have Go's format);
// the e-mails must have the same subject and carry the same labels and annotations.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { alertmanagerConfig, alertsPlugin } from '@obs/alerts';
import { loadConfig } from '@obs/core';
import { debianTool, freePort, listenLoopback, readBody, startTool, waitUntil } from '@obs/testing';
import { describe, expect, test } from 'vitest';
import { parse, stringify } from 'yaml';
import { dir, file, smtpReceiver, startDemo } from './demo-process.ts';

const alertmanager = debianTool('prometheus-alertmanager');
const alertsDir = dirname(createRequire(import.meta.url).resolve('@obs/alerts/package.json'));

interface Payload {
  receiver: string;
  status: string;
  groupKey: string;
  externalURL: string;
  alerts: { status: string; labels: Record<string, string>; startsAt: string; endsAt: string; generatorURL: string }[];
  [key: string]: unknown;
}

/** A webhook and an SMTP server on loopback, recording what they receive. */
async function receivers(): Promise<{
  hook: URL;
  smtpPort: number;
  payloads: Payload[];
  headers: Record<string, string | string[] | undefined>[];
  mails: string[];
  close(): Promise<void>;
}> {
  const payloads: Payload[] = [];
  const headers: Record<string, string | string[] | undefined>[] = [];
  const hook = await listenLoopback(async (req, res) => {
    headers.push(req.headers);
    payloads.push(JSON.parse(await readBody(req)) as Payload);
    res.writeHead(200).end();
  });
  const smtp = await smtpReceiver();
  const mails = smtp.mails;
  const smtpPort = smtp.port;
  return {
    hook: new URL('/hook', hook.url),
    smtpPort,
    payloads,
    headers,
    mails,
    async close() {
      await hook[Symbol.asyncDispose]();
      await smtp.close();
    },
  };
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  await waitUntil(check, { what, timeoutMs, intervalMs: 200 });
}

const GO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$/;

/**
 * The payload with what must differ between the two runs taken out: URLs, and the times (checked apart). The
 * receiver stays: both name it `default` here, as alertmanagerConfig() names a route's receiver.
 */
function comparable(p: Payload): unknown {
  const { externalURL: _e, ...rest } = p;
  return {
    ...rest,
    alerts: p.alerts.map(({ generatorURL: _g, startsAt, endsAt, ...a }) => {
      expect(startsAt).toMatch(GO_TIME);
      expect(endsAt).toMatch(GO_TIME);
      return { ...a, endsAt: a.status === 'firing' ? endsAt : 'a time' };
    }),
  };
}

/** A mail's unfolded, decoded Subject and its body with quoted-printable and HTML entities decoded. */
function readMail(raw: string): { subject: string; body: string } {
  const [head = '', ...rest] = raw.split(/\r?\n\r?\n/);
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const subjectRaw = /^Subject: (.*)$/im.exec(unfolded)?.[1] ?? '';
  const subject = subjectRaw.replace(/=\?utf-8\?([QB])\?([^?]*)\?=/gi, (_m, enc: string, text: string) =>
    enc.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64').toString('utf8')
      : Buffer.from(
          text
            .replace(/_/g, ' ')
            .replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
          'latin1',
        ).toString('utf8'),
  );
  const qp = rest
    .join('\n\n')
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
  const body = Buffer.from(qp, 'latin1')
    .toString('utf8')
    .replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)))
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"');
  return { subject, body };
}

describe.skipIf(alertmanager === undefined)(
  'Alertmanager parity (issue #24, Debian prometheus-alertmanager 0.25)',
  () => {
    test('one outage, our channels vs a real Alertmanager: the same webhook payloads and e-mails', async () => {
      // The seed's rule, windows scaled down, with fixed annotations (the seed's summary quotes the value, which
      // differs between two runs), a description among them.
      const seed = parse(readFileSync(join(alertsDir, 'rules/seed.yml'), 'utf8')) as {
        alerts: { name: string; condition: string; annotations?: Record<string, string> }[];
      };
      const rule = seed.alerts.find((r) => r.name === 'API Error Rate High')!;
      const rules = file(
        'parity-rules.yml',
        stringify({
          alerts: [
            {
              ...rule,
              condition: rule.condition.replace('[5m]', '[10s]'),
              duration: '2s',
              annotations: {
                summary: 'API errors on {{ $labels.endpoint }}',
                description: 'Calls to {{ $labels.endpoint }} fail with 4xx, 5xx or no answer.',
                runbook_url: 'https://runbooks.example/api-errors',
              },
            },
          ],
        }),
      );
      // Root route, and one child route for the warnings, grouped by endpoint too.
      const routes =
        '[[monitoring.alerts.routes]]\nmatchers = [\'severity="warning"\']\ngroup_by = ["alertname", "endpoint"]\n';
      const timing = {
        MONITORING_PROMETHEUS_COLLECT_INTERVAL: '500ms',
        MONITORING_ALERTS_EVALUATION_INTERVAL: '500ms',
        MONITORING_ALERTS_RULES_FILE: rules,
        MONITORING_ALERTS_GROUP_WAIT: '1s',
        MONITORING_ALERTS_GROUP_INTERVAL: '2s',
      };
      const ours = await receivers();
      const theirs = await receivers();
      const amDir = join(dir, 'alertmanager');
      mkdirSync(amDir, { recursive: true });
      // Alertmanager's config from the same [monitoring.alerts], pointed at the second pair of receivers.
      const config = loadConfig({
        env: {},
        overrides: {
          alerts: {
            smtp_host: '127.0.0.1',
            smtp_port: theirs.smtpPort,
            smtp_tls: 'none',
            email_from: 'demo@example.com',
            email_to: ['ops@example.com'],
            webhook_url: theirs.hook.href,
            group_wait: '1s',
            group_interval: '2s',
            routes: [{ matchers: ['severity="warning"'], group_by: ['alertname', 'endpoint'] }],
          },
        },
        plugins: [alertsPlugin()],
      });
      const { yaml } = alertmanagerConfig({ config: config.alerts, webhookUrl: 'inline' });
      writeFileSync(join(amDir, 'alertmanager.yml'), yaml);
      const amPort = await freePort();
      const amUrl = `http://127.0.0.1:${amPort}`;
      await using am = await startTool(
        alertmanager!,
        [
          `--config.file=${join(amDir, 'alertmanager.yml')}`,
          `--storage.path=${join(amDir, 'data')}`,
          `--web.listen-address=127.0.0.1:${amPort}`,
          '--cluster.listen-address=',
        ],
        async () => (await fetch(`${amUrl}/-/ready`).catch(() => undefined))?.ok === true,
        30_000,
      );
      const ports = '[monitoring]\nmetrics_port = 0\nhealth_port = 0\nhost = "127.0.0.1"\n';
      const outage = ['--api-outage', '6s', '--interval', '500ms'];
      try {
        // Both runs at once (each its own outage): the comparison is of formats and grouping, not of times.
        await using embedded = startDemo(
          'parity-ours',
          [
            '--config',
            file(
              'parity-ours.toml',
              `${ports}[monitoring.alerts]\nsmtp_host = "127.0.0.1"\nsmtp_port = ${ours.smtpPort}\nsmtp_tls = "none"\nemail_from = "demo@example.com"\nemail_to = ["ops@example.com"]\n${routes}`,
            ),
            ...outage,
          ],
          { ...timing, MONITORING_ALERTS_WEBHOOK_URL: ours.hook.href },
        );
        await using handedOff = startDemo(
          'parity-am',
          ['--config', file('parity-am.toml', `${ports}[monitoring.alerts]\n${routes}`), ...outage],
          { ...timing, MONITORING_ALERTS_ALERTMANAGER_URL: amUrl },
        );
        const resolvedIn = (r: { payloads: Payload[] }): Set<string> =>
          new Set(r.payloads.filter((p) => p.status === 'resolved').map((p) => p.groupKey));
        const firingIn = (r: { payloads: Payload[] }): Set<string> =>
          new Set(r.payloads.filter((p) => p.status === 'firing').map((p) => p.groupKey));
        // Every group that fired in a run is resolved in it.
        const settled = (r: { payloads: Payload[] }): boolean =>
          firingIn(r).size > 0 && [...firingIn(r)].every((k) => resolvedIn(r).has(k));
        await until(() => settled(ours) && settled(theirs), 60_000, 'firing and resolved notifications in both runs');
        await until(
          () => ours.mails.length >= ours.payloads.length && theirs.mails.length >= theirs.payloads.length,
          10_000,
          'the e-mails',
        );
        expect(embedded.stderr()).toContain('alert "API Error Rate High" is firing');
        expect(handedOff.stderr()).toContain('alert "API Error Rate High" is firing');

        // The groups both runs notified (which endpoints cross the threshold may differ between two outages).
        const common = [...firingIn(ours)].filter((k) => firingIn(theirs).has(k));
        expect(common.length).toBeGreaterThan(0);
        expect(
          common.every((k) => k.startsWith('{}/{severity="warning"}:{alertname="API Error Rate High", endpoint=')),
        ).toBe(true);
        for (const key of common)
          for (const status of ['firing', 'resolved']) {
            const a = ours.payloads.find((p) => p.groupKey === key && p.status === status)!;
            const b = theirs.payloads.find((p) => p.groupKey === key && p.status === status)!;
            expect(JSON.stringify(comparable(a))).toBe(JSON.stringify(comparable(b)));
          }
        // Headers: Alertmanager's own User-Agent, ours naming the package; no browser headers.
        expect(theirs.headers[0]?.['user-agent']).toMatch(/^Alertmanager\//);
        for (const h of ours.headers) {
          expect(h['user-agent']).toMatch(/^@obs\/alerts\/\d/);
          expect(Object.keys(h).filter((k) => k.startsWith('sec-fetch') || k === 'accept-language')).toEqual([]);
        }

        // E-mails: the same subjects, carrying the same labels and annotations.
        const oursMails = ours.mails.map(readMail);
        const theirMails = theirs.mails.map(readMail);
        for (const key of common)
          for (const status of ['firing', 'resolved']) {
            const p = theirs.payloads.find((x) => x.groupKey === key && x.status === status)!;
            const endpoint = p.alerts[0]!.labels.endpoint!;
            const theirMail = theirMails.find(
              (m) => m.subject.startsWith(`[${status.toUpperCase()}`) && m.subject.includes(` ${endpoint} `),
            );
            const ourMail = oursMails.find((m) => m.subject === theirMail?.subject);
            expect(theirMail?.subject).toBeDefined();
            expect(ourMail?.subject).toBe(theirMail!.subject);
            for (const alert of p.alerts)
              for (const [k, v] of Object.entries({
                ...alert.labels,
                ...(alert as unknown as { annotations: Record<string, string> }).annotations,
              })) {
                expect(theirMail!.body).toContain(`${k} = ${v}`);
                expect(ourMail!.body).toContain(`${k} = ${v}`);
              }
          }
      } finally {
        await ours.close();
        await theirs.close();
        void am;
      }
    }, 90_000);
  },
);
