// Issue #17: the console page in Debian's chromium (playwright-core, no browser download) against the running demo.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import { type Demo, file, startDemo } from './demo-process.ts';
import { listenerUrl } from './listeners.ts';

const CHROMIUM = '/usr/bin/chromium';
const shots = join(import.meta.dirname, '../.console-screenshots');
const alertsDir = dirname(createRequire(import.meta.url).resolve('@obs/alerts/package.json'));

interface Listed {
  fingerprint: string;
  labels: Record<string, string>;
  status: { state: string };
}

describe.skipIf(!existsSync(CHROMIUM))(
  `the console in a real browser (needs ${CHROMIUM}: apt-get install chromium; .ci/run installs it)`,
  () => {
    let demo: Demo;
    let browser: BrowserContext;
    let page: Page;
    let health: URL;
    let profile = '';
    const problems: string[] = [];

    beforeAll(async () => {
      // The seed's rule as shipped, its windows scaled down (5m -> 10s, for 5m -> 2s) so it fires in seconds.
      const seed = parse(readFileSync(join(alertsDir, 'rules/seed.yml'), 'utf8')) as {
        alerts: { name: string; condition: string }[];
      };
      const rule = seed.alerts.find((r) => r.name === 'API Error Rate High')!;
      const rules = file(
        'console-rules.yml',
        stringify({ alerts: [{ ...rule, condition: rule.condition.replace('[5m]', '[10s]'), duration: '2s' }] }),
      );
      const config = file('console.toml', '[monitoring]\nmetrics_port = 0\nhealth_port = 0\nhost = "127.0.0.1"\n');
      demo = startDemo('console', ['--config', config, '--api-outage', '25s', '--interval', '500ms'], {
        MONITORING_PROMETHEUS_COLLECT_INTERVAL: '500ms',
        MONITORING_ALERTS_EVALUATION_INTERVAL: '500ms',
        MONITORING_ALERTS_RULES_FILE: rules,
        MONITORING_HEALTH_CHECKS_INTERVAL: '2s',
        MONITORING_TRACING_SAMPLE_RATE: '1',
        MONITORING_PROMETHEUS_NATIVE_HISTOGRAMS: 'true',
      });
      await demo.waitFor('health listening on');
      health = listenerUrl(demo.stderr(), 'health');
      rmSync(shots, { recursive: true, force: true });
      mkdirSync(shots, { recursive: true });
      // A fresh profile each run (the --user-data-dir of a persistent context).
      profile = mkdtempSync(join(tmpdir(), 'console-chromium-'));
      browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        viewport: { width: 1280, height: 800 },
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
          '--disable-quic',
        ],
      });
      page = browser.pages()[0] ?? (await browser.newPage());
      page.on('console', (m) => {
        if (m.type() !== 'error' && m.type() !== 'warning') return;
        // Chromium logs every non-2xx fetch. Two are answers the page expects and shows: /health's 503 while
        // the outage makes a check unhealthy, and the 400 of the deliberately malformed query below.
        const where = new URL(m.location().url || 'about:blank');
        if (/status of 503/.test(m.text()) && where.pathname === '/health') return;
        if (/status of 400/.test(m.text()) && where.pathname.endsWith('/api/v1/query')) return;
        problems.push(`${m.type()}: ${m.text()} (${m.location().url})`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await demo?.[Symbol.asyncDispose]();
      if (profile !== '') rmSync(profile, { recursive: true, force: true });
    });

    async function view(name: string): Promise<void> {
      await page.goto(new URL(`/#${name}`, health).href);
      await page.waitForSelector(`main[data-ready="${name.split('?')[0]}"]`);
    }

    test('the overview shows the six checks, uptime and versions', async () => {
      const res = await page.goto(health.href);
      expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
      await page.waitForSelector('main[data-ready="overview"]');
      expect(await page.locator('.check').count()).toBe(6);
      for (const name of ['api_connectivity', 'auth_status', 'database', 'cache', 'disk_space', 'memory'])
        await expect.poll(() => page.locator(`[data-check="${name}"]`).count()).toBe(1);
      expect(await page.locator('.versions').textContent()).toContain('@obs/console');
      // The sparklines fill as the checks run again (every 2s here); reload keeps the history.
      await vi.waitFor(
        async () => {
          await page.reload();
          await page.waitForSelector('main[data-ready="overview"]');
          expect(await page.locator('.spark canvas').count()).toBeGreaterThan(0);
        },
        { timeout: 20_000, interval: 2_500 },
      );
      await page.screenshot({ path: join(shots, 'overview.png') });
    }, 40_000);

    test('"API Error Rate High" appears, is silenced from the page, and /alerts shows it muted', async () => {
      await view('alerts');
      await vi.waitFor(
        async () => {
          await page.goto(new URL('/#alerts', health).href);
          await page.reload();
          await page.waitForSelector('main[data-ready="alerts"]');
          expect(await page.locator('tr[data-alert="API Error Rate High"] .badge').first().textContent()).toBe(
            'firing',
          );
        },
        { timeout: 30_000, interval: 1_000 },
      );
      await page.screenshot({ path: join(shots, 'alerts-firing.png') });
      const row = page.locator('tr[data-alert="API Error Rate High"]', { hasText: 'Silence' }).first();
      const fingerprint = await row.getAttribute('data-fingerprint');
      await row.locator('button', { hasText: 'Silence' }).click();
      await page.locator('#silence-comment').fill('known outage, from the console test');
      await page.keyboard.press('Tab');
      await page.locator('dialog button[type="submit"]').click();
      await page.waitForSelector('dialog', { state: 'detached' });
      await vi.waitFor(
        async () => {
          const listed = (await (await fetch(new URL('/alerts', health))).json()) as Listed[];
          const alert = listed.find((a) => a.fingerprint === fingerprint);
          expect(alert?.labels['alertname']).toBe('API Error Rate High');
          expect(alert?.status.state).toBe('suppressed');
        },
        { timeout: 10_000 },
      );
      await page.waitForSelector('#silences-table tr[data-silence]');
      await page.screenshot({ path: join(shots, 'alerts-silenced.png') });
      // In /api/v1/alerts the rule still fires, as Prometheus's does: a silence mutes its notifications
      // (Alertmanager's business, /alerts above), not the rule's evaluation.
      const ruleSide = (await (
        await fetch(new URL('/api/v1/alerts', listenerUrl(demo.stderr(), 'metrics')))
      ).json()) as {
        data: { alerts: { labels: Record<string, string>; state: string }[] };
      };
      expect(
        ruleSide.data.alerts.filter((a) => a.labels['alertname'] === 'API Error Rate High').map((a) => a.state),
      ).toContain('firing');
      // The row links to its rule: the rule's expression, opened in the expression view.
      const ruleLink = page.locator('tr[data-alert="API Error Rate High"] a.rule-link').first();
      const rules = (await (
        await fetch(new URL('/api/v1/rules?type=alert', listenerUrl(demo.stderr(), 'metrics')))
      ).json()) as {
        data: { groups: { rules: { name: string; query: string }[] }[] };
      };
      const rule = rules.data.groups.flatMap((g) => g.rules).find((r) => r.name === 'API Error Rate High');
      expect(rule).toBeDefined();
      expect(await ruleLink.getAttribute('href')).toBe(`#query?expr=${encodeURIComponent(rule!.query)}`);
      await ruleLink.click();
      await page.waitForSelector('main[data-ready="query"]');
      expect(await page.locator('#expr').inputValue()).toBe(rule!.query);
    }, 60_000);

    test('a trace opens as a waterfall with its attributes', async () => {
      await view('traces');
      await page.locator('.trace-link').first().click();
      await page.waitForSelector('#waterfall .wf-row');
      expect(await page.locator('#waterfall .wf-row').count()).toBeGreaterThan(1);
      await page.locator('#waterfall .wf-row').nth(1).press('Enter');
      await page.waitForSelector('#span-details .span-details > dl.attrs');
      expect(await page.locator('.wf-row[aria-pressed="true"]').count()).toBe(1);
      await page.screenshot({ path: join(shots, 'trace-waterfall.png') });
    });

    test('the seed panels draw', async () => {
      await view('graphs');
      expect(await page.locator('.panel').count()).toBe(5);
      await vi.waitFor(async () => expect(await page.locator('.panel .uplot').count()).toBeGreaterThan(2));
      await page.screenshot({ path: join(shots, 'graphs.png'), fullPage: true });
    });

    test('an expression graphs one line per series, and a bad one shows its error position', async () => {
      await view('query');
      await page.locator('#expr').fill('rate(trakt_api_requests_total[1m])');
      await page.locator('#expr').press('Enter');
      const chart = page.locator('#query-result .chart');
      await chart.waitFor();
      const expected = (await (
        await fetch(
          new URL(
            `/api/v1/query?query=${encodeURIComponent('rate(trakt_api_requests_total[1m])')}`,
            listenerUrl(demo.stderr(), 'metrics'),
          ),
        )
      ).json()) as { data: { result: unknown[] } };
      const lines = Number(await chart.getAttribute('data-series'));
      expect(lines).toBeGreaterThan(1);
      expect(lines).toBeGreaterThanOrEqual(expected.data.result.length - 2);
      // One legend entry per series, plus the time column.
      expect(await chart.locator('.u-legend .u-series').count()).toBe(lines + 1);
      await page.screenshot({ path: join(shots, 'query-graph.png') });
      await page.locator('#tab-table').click();
      await page.waitForSelector('#result-table');
      await page.locator('#expr').fill('rate(trakt_api_requests_total[1m]');
      await page.locator('#execute').click();
      await page.waitForSelector('#query-error');
      expect(await page.locator('.error-pos pre').textContent()).toContain('^');
      await page.screenshot({ path: join(shots, 'query-error.png') });
    });

    test('a native histogram result: the table lists count, sum and buckets; the graph says what to graph', async () => {
      await view('query');
      await page.locator('#tab-table').click();
      await page.locator('#expr').fill('trakt_api_duration_seconds{endpoint="history"}');
      await page.locator('#execute').click();
      const cell = page.locator('#result-table tbody td.num').first();
      await vi.waitFor(async () => expect(await cell.textContent()).toMatch(/^count \d+, sum [\d.e-]+/));
      // Each bucket with its bounds as the API gives them: (lower, upper]: count.
      expect(await cell.textContent()).toMatch(/\(0\.\d+, 0\.\d+\]: \d+/);
      await page.screenshot({ path: join(shots, 'query-histogram.png') });
      await page.locator('#tab-graph').click();
      await vi.waitFor(async () =>
        expect(await page.locator('#query-result .chart').textContent()).toContain('native histograms'),
      );
    });

    test('readable at a phone width, and nothing went wrong in the page', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      await view('overview');
      const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
      expect(overflow).toBeLessThanOrEqual(0);
      await page.screenshot({ path: join(shots, 'overview-phone.png'), fullPage: true });
      expect(problems).toEqual([]);
    });
  },
);
