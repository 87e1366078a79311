/** What a redacted secret is replaced with. */
export const REDACTED = '[redacted]';

// Keys whose values are secrets wherever they appear: passwords, tokens, webhook URLs (a Slack
// incoming-webhook URL is itself the credential), API keys, private keys.
const SECRET_KEY =
  /pass(word|wd)?$|secret|token|webhook|api_?key|private_?key|credential|authorization|cookie|^headers$/i;

/** Whether a config or log field with this key holds a secret. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** Hides the password of a URL with credentials (`https://user:pass@host` becomes `https://user:[redacted]@host`). */
export function redactUrl(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:)[^@\s/]*@/gi, `$1${REDACTED}@`);
}

/**
 * Returns a deep copy of `value` with every secret replaced by `[redacted]`: values under secret keys,
 * and passwords inside URLs. Empty secrets stay empty, so "not set" remains visible.
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
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, key, seen));
  if (value instanceof Error) return { name: value.name, message: redactUrl(value.message) };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactValue(v, k, seen);
  return out;
}
