// Issue #14: Prometheus' alert template functions; test/promtool/templates.test.yml compares them with promtool.
import { ObsError } from '@obs/core';
import { createSampleStore } from '@obs/promql';
import { describe, expect, test } from 'vitest';
import { createAlertEngine, parseRuleGroups } from '../src/index.ts';
import { checkTemplate, expandTemplate } from '../src/template.ts';

const data = { labels: { instance: 'node-1:9100', job: 'node' }, value: 0.5 };

describe('alert templates', () => {
  test('an unknown function, an undefined variable or a bad action is a load error with its position', () => {
    const error = (text: string): ObsError => {
      try {
        checkTemplate(text);
      } catch (err) {
        expect(err).toBeInstanceOf(ObsError);
        return err as ObsError;
      }
      throw new Error('did not throw');
    };
    expect(error('a\nb {{ nope $value }}').message).toMatch(/line 2, column 6: function "nope" not defined/);
    expect(error('{{ $nope }}').message).toMatch(/line 1, column 4: undefined variable "\$nope"/);
    expect(error('{{ if true }}x').message).toMatch(/unexpected EOF/);
    expect(error('{{ end }}').message).toMatch(/unexpected \{\{end\}\}/);
    let thrown: unknown;
    try {
      parseRuleGroups(
        'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        annotations: {s: "{{ humanise $value }}"}\n',
        'r.yml',
      );
    } catch (err) {
      thrown = err;
    }
    expect((thrown as ObsError).code).toBe('OBS_ERR_ALERTS_RULE_INVALID');
    expect((thrown as ObsError).message).toMatch(
      /r\.yml:6: rule "A": annotation s: template .*line 1, column 4: function "humanise" not defined/,
    );
  });

  test('control structures, variables, the dot, and Go formatting', () => {
    const t = (text: string) => expandTemplate(text, data);
    expect(t('{{ if gt $value 0.9 }}high{{ else if gt $value 0.4 }}mid{{ else }}low{{ end }}')).toBe('mid');
    expect(t('{{ range $k, $v := $labels }}{{ $k }}={{ $v }},{{ end }}')).toBe('instance=node-1:9100,job=node,');
    expect(t('{{ with $labels.missing }}x{{ else }}none{{ end }}|{{ $labels.missing }}|')).toBe('none||');
    expect(t('{{- " a " -}}  {{ .Value }}  {{- /* c */ -}} !')).toBe(' a 0.5!');
    expect(t('{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}')).toBe('2');
    expect(t('{{ printf "%5.1f|%-3s|%d|%q" 2.25 "a" 7 "q" }}')).toBe('  2.2|a  |7|"q"');
    expect(t('{{ 1e6 }} {{ 0.00001 }} {{ 123456.0 }}')).toBe('1e+06 1e-05 123456');
    expect(t('{{ stripPort .Labels.instance }} {{ .Labels.instance | stripDomain }}')).toBe('node-1 node-1:9100');
  });

  test('externalURL and pathPrefix read the external URL (promtool 2.42 cannot run them: a nil URL in test mode)', () => {
    const d = { ...data, externalURL: 'https://example.com/prometheus' };
    expect(expandTemplate('{{ externalURL }} {{ pathPrefix }} {{ $externalURL }}', d)).toBe(
      'https://example.com/prometheus /prometheus https://example.com/prometheus',
    );
  });

  test('query runs against the embedded engine at the evaluation time; a failure at run time says so, as Prometheus', () => {
    const store = createSampleStore({ retentionMs: 3_600_000 });
    store.append({ __name__: 'up', instance: 'a' }, 0, 0);
    store.append({ __name__: 'up', instance: 'b' }, 0, 1);
    const engine = createAlertEngine({
      source: store,
      groups: parseRuleGroups(`groups:
  - name: g
    rules:
      - alert: Down
        expr: up == 0
        annotations:
          others: '{{ range query "up == 1" }}{{ .Labels.instance }} {{ end }}'
          total: '{{ query "count(up)" | first | value }}'
          empty: '{{ query "nothing" | first | value }}'
`),
    });
    const [alert] = engine.evaluate(60_000);
    expect(alert?.annotations).toEqual({
      others: 'b ',
      total: '2',
      empty: expect.stringMatching(/^<error expanding template: .*first\(\) called on vector with no elements>$/),
    });
  });
});
