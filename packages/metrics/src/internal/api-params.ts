// Parameters of Prometheus's HTTP API v1 as its web/api/v1 reads them: form values from the body then the URL,
// times as Unix seconds or RFC 3339, durations as seconds or Prometheus durations, series selectors.
import { type Matcher, PromqlError, parse, parsePromDuration } from '@obs/promql';
import type { Request } from 'express';

/** A request parameter that does not parse: 400 `bad_data`. */
export class BadData extends Error {
  override name = 'BadData';
}

/** `invalid parameter "name": why`, as Prometheus's invalidParamError writes it. */
export function invalidParam(name: string, why: string): BadData {
  return new BadData(`invalid parameter ${JSON.stringify(name)}: ${why}`);
}

const asList = (v: unknown): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : [];

/** Every value of a form field: a POST body's first, then the URL's (Go's `r.Form`). */
export function formValues(req: Request, name: string): string[] {
  const body = (req.body ?? {}) as Record<string, unknown>;
  return [...asList(body[name]), ...asList((req.query as Record<string, unknown>)[name])];
}

/** The first value of a form field, or "" (Go's `r.FormValue`). */
export function formValue(req: Request, name: string): string {
  return formValues(req, name)[0] ?? '';
}

const FLOAT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Prometheus's MinTime and MaxTime (ms), and the texts its clients send for them. */
export const MIN_TIME: number = -9_223_309_901_257_974_000;
export const MAX_TIME: number = 9_223_309_901_257_974_000;
const MIN_TIME_TEXT = '-292273086-05-16T16:47:06Z';
const MAX_TIME_TEXT = '292277026596-12-04T15:30:07.999999999Z';

/** A time in ms: Unix seconds (ms precision, rounded) or RFC 3339. @throws BadData */
export function parseTime(text: string): number {
  if (FLOAT.test(text)) {
    const seconds = Number(text);
    const whole = Math.trunc(seconds);
    return whole * 1000 + Math.round((seconds - whole) * 1000);
  }
  const m = RFC3339.exec(text);
  if (m !== null) {
    const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[8]}`);
    // Go keeps nanoseconds; Prometheus's timestamp.FromTime truncates them to ms.
    const fraction = m[7] === undefined ? 0 : Math.trunc(Number(`0${m[7]}`) * 1000);
    if (Number.isFinite(ms)) return ms + fraction;
  }
  if (text === MIN_TIME_TEXT) return MIN_TIME;
  if (text === MAX_TIME_TEXT) return MAX_TIME;
  throw new BadData(`cannot parse ${JSON.stringify(text)} to a valid timestamp`);
}

/** A time parameter, or `fallback` when absent (Prometheus's parseTimeParam). @throws BadData */
export function timeParam(req: Request, name: string, fallback: number): number {
  const text = formValue(req, name);
  if (text === '') return fallback;
  try {
    return parseTime(text);
  } catch (err) {
    throw invalidParam(name, `invalid time value for '${name}': ${(err as Error).message}`);
  }
}

/** A duration in ms: float seconds or a Prometheus duration (`1m30s`). @throws BadData */
export function parseDuration(text: string): number {
  if (FLOAT.test(text)) {
    const ms = Number(text) * 1000;
    // Go holds a duration in int64 nanoseconds.
    if (!Number.isFinite(ms) || Math.abs(ms) * 1e6 > 2 ** 63)
      throw new BadData(`cannot parse ${JSON.stringify(text)} to a valid duration. It overflows int64`);
    return ms;
  }
  const ms = parsePromDuration(text);
  if (ms === undefined) throw new BadData(`cannot parse ${JSON.stringify(text)} to a valid duration`);
  return ms;
}

/** The `limit` parameter: 0 (none) when absent. @throws BadData */
export function limitParam(req: Request): number {
  const text = formValue(req, 'limit');
  if (text === '') return 0;
  if (!/^[+-]?\d+$/.test(text))
    throw invalidParam('limit', `strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax`);
  const limit = Number(text);
  if (limit < 0) throw invalidParam('limit', 'limit must be non-negative');
  return limit;
}

/** A PromqlError as Prometheus words a parse error: `1:5: parse error: ...`. */
export function parseErrorText(err: PromqlError): string {
  const what = err.message.replace(/^\[@obs\/promql\] /, '').replace(/ at line \d+, column \d+ of [\s\S]*$/, '');
  const at = err.position === undefined ? '' : `${err.position.line}:${err.position.column}: `;
  return `${at}parse error: ${what}`;
}

/** The matcher sets of `match[]` (series selectors). @throws BadData */
export function matcherSets(selectors: readonly string[]): Matcher[][] {
  return selectors.map((text) => {
    let expr: ReturnType<typeof parse>['expr'];
    try {
      expr = parse(text).expr;
    } catch (err) {
      if (err instanceof PromqlError) throw invalidParam('match[]', parseErrorText(err));
      throw err;
    }
    if (expr.kind !== 'vector' || expr.offsetMs !== 0 || expr.at !== undefined)
      throw invalidParam('match[]', `1:1: parse error: expected a series selector, got ${JSON.stringify(text)}`);
    return [...expr.matchers];
  });
}

/** A label name Prometheus accepts (UTF-8 names are Prometheus 3's; the legacy charset here). */
export function isLabelName(name: string): boolean {
  return /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name);
}
