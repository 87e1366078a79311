import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ObsError } from '@obs/core';
import { describe, expect, test } from 'vitest';
import { createAlertEngine, loadRulesFile, parseRules, seedRules } from '../src/index.ts';
import { compileRule } from '../src/rules.ts';
import { expandTemplate, humanize } from '../src/template.ts';
import { load } from './load.ts';

function thrown(f: () => unknown): ObsError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ObsError);
    return err as ObsError;
  }
  throw new Error('did not throw');
}

describe('rule files', () => {
  test('the seed format loads, with for, severity, threshold and labels', () => {
    const [rule] = parseRules(
      `alerts:\n  - name: Low\n    condition: "x < 0.5"\n    threshold: 0.5\n    duration: 10m\n    severity: info\n    labels: {team: core}\n`,
    );
    expect(rule).toMatchObject({
      name: 'Low',
      forMs: 600_000,
      severity: 'info',
      threshold: 0.5,
      labels: { team: 'core', severity: 'info' },
    });
  });
  test('the Prometheus format loads, with keep_firing_for, annotations, and severity from labels', () => {
    const [rule] = parseRules(
      `groups:\n  - name: g\n    rules:\n      - alert: High\n        expr: rate(x[5m]) > 2\n        for: 1m\n        keep_firing_for: 30s\n        labels: {severity: critical}\n        annotations: {summary: "{{ $value }}"}\n`,
    );
    expect(rule).toMatchObject({
      name: 'High',
      forMs: 60_000,
      keepFiringForMs: 30_000,
      severity: 'critical',
      threshold: 2,
    });
  });
  test('an expression error names the file, the rule, the line and the position', () => {
    const err = thrown(() =>
      parseRules(`groups:\n  - name: g\n    rules:\n      - alert: Bad\n        expr: info(x) > 1\n`, 'r.yml'),
    );
    expect(err.code).toBe('OBS_ERR_ALERTS_UNSUPPORTED');
    expect(err.message).toContain('r.yml:5');
    expect(err.message).toContain('"Bad"');
    expect(err.message).toContain('line 1, column 1');
    expect(thrown(() => parseRules('alerts:\n  - name: X\n    condition: "x >"\n', 'a.yml')).code).toBe(
      'OBS_ERR_ALERTS_PARSE',
    );
  });
  test('bad rules and files are refused with their code', () => {
    expect(thrown(() => parseRules('nope: 1', 'a.yml')).code).toBe('OBS_ERR_ALERTS_RULES_FILE');
    expect(thrown(() => parseRules('alerts: [', 'a.yml')).code).toBe('OBS_ERR_ALERTS_RULES_FILE');
    expect(thrown(() => loadRulesFile('/nonexistent/rules.yml')).code).toBe('OBS_ERR_ALERTS_RULES_FILE');
    expect(thrown(() => compileRule({ name: 'x', expr: 'up', severity: 'fatal' as 'info' })).code).toBe(
      'OBS_ERR_ALERTS_RULE_INVALID',
    );
    expect(thrown(() => compileRule({ name: 'x', expr: 'up', for: '5 minutes' })).code).toBe(
      'OBS_ERR_ALERTS_RULE_INVALID',
    );
    expect(thrown(() => compileRule({ name: 'x', expr: 'up', annotations: { a: '{{ nope $value }}' } })).code).toBe(
      'OBS_ERR_ALERTS_RULE_INVALID',
    );
    expect(thrown(() => compileRule({ name: 'x', expr: 'up[5m]' })).code).toBe('OBS_ERR_ALERTS_RULE_INVALID');
  });
  test('a rule file on disk loads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'obs-alerts-'));
    const file = join(dir, 'rules.yml');
    writeFileSync(file, 'alerts:\n  - name: A\n    condition: up == 0\n');
    expect(loadRulesFile(file)).toHaveLength(1);
  });
});

describe('templates', () => {
  test('expand $labels, $value, humanize, humanizePercentage and printf as Prometheus does', () => {
    const data = { labels: { endpoint: 'history' }, value: 1234567 };
    expect(expandTemplate('{{ $labels.endpoint }} at {{ $value }}', data)).toBe('history at 1.234567e+06');
    expect(expandTemplate('{{ $value | humanize }}', data)).toBe('1.235M');
    expect(expandTemplate('{{ humanize 0.0012 }}', data)).toBe('1.2m');
    expect(expandTemplate('{{ 0.4567 | humanizePercentage }}', data)).toBe('45.67%');
    expect(expandTemplate('{{ printf "%.2f" $value }}', data)).toBe('1234567.00');
    expect(humanize(0)).toBe('0');
  });
});

describe('the seed rules', () => {
  const rules = seedRules();
  test('ship ready: three rules with the seed names, severities and durations', () => {
    expect(rules.map((r) => [r.name, r.severity, r.forMs])).toEqual([
      ['API Error Rate High', 'warning', 300_000],
      ['Cache Hit Ratio Low', 'info', 600_000],
      ['Export Failures', 'critical', 0],
    ]);
  });
  test('API Error Rate High ignores 2xx successes other than 200, and series without status', () => {
    const store = load(`
      load 1m
        trakt_api_requests_total{endpoint="history",status="201"} 0+600x10
        trakt_api_requests_total{endpoint="history"} 0+600x10
    `);
    const engine = createAlertEngine({ rules, source: store });
    expect(engine.evaluate(10 * 60_000)).toEqual([]);
  });
  test('API Error Rate High counts calls with no HTTP answer (status="0"), not 204s (issue 23)', () => {
    const store = load(`
      load 1m
        trakt_api_requests_total{endpoint="sync",status="0"} 0+30x20
        trakt_api_requests_total{endpoint="sync",status="204"} 0+600x20
    `);
    const engine = createAlertEngine({ rules: [rules[0]!], source: store });
    engine.evaluate(5 * 60_000);
    const [alert] = engine.evaluate(10 * 60_000);
    expect(alert).toMatchObject({ state: 'firing', labels: { endpoint: 'sync' } });
    expect(alert?.value).toBeCloseTo(0.5, 9);
  });
  test('API Error Rate High goes pending then fires after 5m of 4xx/5xx', () => {
    const store = load(`
      load 1m
        trakt_api_requests_total{endpoint="history",status="500"} 0+30x20
        trakt_api_requests_total{endpoint="history",status="429"} 0+6x20
    `);
    const engine = createAlertEngine({ rules: [rules[0]!], source: store });
    expect(engine.evaluate(5 * 60_000)).toMatchObject([
      { state: 'pending', labels: { endpoint: 'history', alertname: 'API Error Rate High', severity: 'warning' } },
    ]);
    const [alert] = engine.evaluate(10 * 60_000);
    expect(alert?.state).toBe('firing');
    expect(alert?.value).toBeCloseTo(0.6, 9);
    expect(alert?.annotations['summary']).toBe('API errors on history: 600m/s');
  });
  test('Export Failures fires for the first error of a kind whose series starts at 1', () => {
    const store = load(`
      load 1m
        trakt_export_operations_total{type="watchlist",status="error"} _ _ _ _ _ 1 1 1
        trakt_export_operations_total{type="movies",status="error"} 0 0 0 0 0 0 0 0
    `);
    const seedOnly = createAlertEngine({
      rules: [{ name: 'seed', expr: 'increase(trakt_export_operations_total{status="error"}[15m]) > 0' }],
      source: store,
    });
    expect(seedOnly.evaluate(7 * 60_000)).toEqual([]);
    const engine = createAlertEngine({ rules: [rules[2]!], source: store });
    expect(engine.evaluate(7 * 60_000)).toMatchObject([
      { state: 'firing', value: 1, labels: { type: 'watchlist', status: 'error' } },
    ]);
  });
});
