/** What a redacted secret is replaced with. */
export const REDACTED = '[redacted]';

// Keys whose values are secrets wherever they appear: passwords, tokens, webhook URLs (a Slack
// incoming-webhook URL is itself the credential), API keys, private keys, signatures, auth headers.
const SECRET_KEY =
  /pass(word|wd)?$|secret|token|webhook|api[_-]?key|private[_-]?key|credential|authorization|cookie|signature|^sig$|^auth$|^x-auth|(^|_)headers$/i;

// Query parameters that carry a credential even when isSecretKey would not say so (`key`, `sig`, `auth`).
const SECRET_PARAM = /^(access_token|token|api_key|apikey|key|secret|password|passwd|auth|signature|sig)$/i;

/** Whether a config or log field (or a header, or a query parameter) with this key holds a secret. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

function isSecretParam(name: string): boolean {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    // A malformed name is judged as written.
  }
  return SECRET_PARAM.test(decoded) || SECRET_KEY.test(decoded);
}

// `scheme://userinfo@`: the whole userinfo (user and password) is a credential.
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^/\s?#@"'<>]*)@/gi;
// `?name=value` / `&name=value` / `;name=value`, in a URL or a bare path with a query.
const PARAM = /([?&;])([^=&#\s"'<>?;]+)=([^&#\s"'<>;]*)/g;
// Credentials written out in text: `Authorization: Bearer xyz`, `Basic dXNlcjpwYXNz`.
const SCHEME_CREDENTIAL = /\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=-]{4,}/g;

/**
 * Hides the credentials in text that may hold URLs: the userinfo of a URL (`https://user:pass@host` becomes
 * `https://[redacted]:[redacted]@host`), the values of secret-looking query parameters (`access_token`, `token`,
 * `api_key`, `key`, `sig`... and any name {@link isSecretKey} matches) and `Bearer`/`Basic` credentials.
 */
export function redactUrl(text: string): string {
  if (typeof text !== 'string') return text;
  return text
    .replace(USERINFO, (_all, scheme: string, info: string) =>
      info === '' ? `${scheme}@` : `${scheme}${info.includes(':') ? `${REDACTED}:${REDACTED}` : REDACTED}@`,
    )
    .replace(PARAM, (all, sep: string, name: string, value: string) =>
      value !== '' && isSecretParam(name) ? `${sep}${name}=${REDACTED}` : all,
    )
    .replace(SCHEME_CREDENTIAL, (_all, scheme: string, space: string) => `${scheme}${space}${REDACTED}`);
}

/**
 * Returns a deep copy of `value` with every secret replaced by `[redacted]`: values under secret keys
 * (header names included: `authorization`, `cookie`, `x-api-key`), and credentials inside URLs and text
 * (see {@link redactUrl}). Empty secrets stay empty, so "not set" remains visible.
 */
export function redact<T>(value: T): T {
  return redactValue(value, undefined, new WeakSet()) as T;
}

// Everything under a secret key (a `headers` table, a credentials object) is hidden, keys kept.
function redactAll(value: object): unknown {
  if (Array.isArray(value))
    return value.map((item) => (typeof item === 'object' && item !== null ? redactAll(item) : REDACTED));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    out[k] = typeof v === 'object' && v !== null ? redactAll(v) : v === '' ? '' : REDACTED;
  return out;
}

function redactValue(value: unknown, key: string | undefined, seen: WeakSet<object>): unknown {
  if (key !== undefined && isSecretKey(key) && value !== '' && value !== undefined && value !== null) {
    return typeof value === 'object' ? redactAll(value) : REDACTED;
  }
  if (typeof value === 'string') return redactUrl(value);
  if (value instanceof URL) return redactUrl(value.href);
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, key, seen));
  if (value instanceof Error) return { name: value.name, message: redactUrl(value.message) };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactValue(v, k, seen);
  return out;
}
