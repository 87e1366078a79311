import { describe, expect, test } from 'vitest';
import { loadConfig, ObsConfigError, REDACTED, redact, redactUrl } from '../src/index.ts';

describe('issue #19: one redaction for URLs, query strings and headers', () => {
  test('URL userinfo is hidden, user and password both', () => {
    expect(redactUrl('ftp://user:TrPass-555@collector:4318')).toBe(`ftp://${REDACTED}:${REDACTED}@collector:4318`);
    expect(redactUrl('see https://only-user@host/x and http://a:b@c/')).toBe(
      `see https://${REDACTED}@host/x and http://${REDACTED}:${REDACTED}@c/`,
    );
    expect(redactUrl('http://host/path@v2')).toBe('http://host/path@v2');
  });

  test('secret-looking query parameters are hidden, the others kept', () => {
    const url = 'http://127.0.0.1:23001/users/1?access_token=QSECRET-TOKEN-42&page=2&api_key=K&sig=S&key=k1&Password=p';
    expect(redactUrl(url)).toBe(
      `http://127.0.0.1:23001/users/1?access_token=${REDACTED}&page=2&api_key=${REDACTED}&sig=${REDACTED}&key=${REDACTED}&Password=${REDACTED}`,
    );
    for (const name of ['token', 'apikey', 'secret', 'passwd', 'auth', 'signature', 'client_secret', 'x_auth_token']) {
      expect(redactUrl(`/x?${name}=V4LUE`), name).toBe(`/x?${name}=${REDACTED}`);
    }
    expect(redactUrl('/search?q=token&limit=10')).toBe('/search?q=token&limit=10');
    expect(redactUrl('/x?token=')).toBe('/x?token=');
  });

  test('credentials in headers, objects and text', () => {
    expect(
      redact({
        headers: { authorization: 'Bearer abcdef' },
        request: { 'x-api-key': 'K1', 'proxy-authorization': 'Basic Zm9vOmJhcg==', cookie: 'sid=1', accept: '*/*' },
        url: new URL('https://u:p@h/?token=t'),
      }),
    ).toEqual({
      headers: { authorization: REDACTED },
      request: { 'x-api-key': REDACTED, 'proxy-authorization': REDACTED, cookie: REDACTED, accept: '*/*' },
      url: `https://${REDACTED}:${REDACTED}@h/?token=${REDACTED}`,
    });
    expect(redactUrl('sent Authorization: Bearer eyJhbGciOi.x.y')).toBe(`sent Authorization: Bearer ${REDACTED}`);
  });

  test('config errors never print the credentials of a URL they quote', () => {
    const attempt = (overrides: Record<string, unknown>) => {
      try {
        loadConfig({ env: {}, overrides });
      } catch (err) {
        expect(err).toBeInstanceOf(ObsConfigError);
        return (err as ObsConfigError).message;
      }
      throw new Error('expected a config error');
    };
    const tracing = attempt({ tracing: { endpoint: 'ftp://user:TrPass-555@collector:4318' } });
    expect(tracing).toContain('monitoring.tracing.endpoint: must be an http:// or https:// URL');
    expect(tracing).not.toContain('TrPass-555');
    expect(tracing).not.toContain('user:');
    const long = `ftp://someone:${'P'.repeat(80)}@collector.example.com:4318`;
    expect(attempt({ prometheus: { pushgateway_url: long } })).not.toContain('PPPP');
    const push = attempt({ prometheus: { pushgateway_url: 'gopher://pg:PgPass-77@gw:9091/?token=QTOK' } });
    expect(push).not.toMatch(/PgPass-77|QTOK/);
  });
});
