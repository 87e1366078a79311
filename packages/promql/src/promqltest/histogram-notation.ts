// The `{{…}}` native histogram notation of Prometheus's test scripts (promql/parser's series description):
// `{{schema:0 sum:5 count:4 z_bucket:1 z_bucket_w:0.001 buckets:[1 2] offset:1 n_buckets:[1] n_offset:0
// custom_values:[1 2] counter_reset_hint:gauge}}`, alone, repeated (`{{…}}x3`) or growing (`{{…}}+{{…}}x3`).
import {
  addHistograms,
  type CounterResetHint,
  createHistogram,
  type FloatHistogram,
  type MutableHistogram,
} from '../native-histogram.ts';

/** A histogram of a script, and whether its counter reset hint was written out (only then is it compared). */
export interface ScriptHistogram {
  readonly h: FloatHistogram;
  readonly hintSet: boolean;
}

const HINTS: Readonly<Record<string, CounterResetHint>> = {
  unknown: 'unknown',
  reset: 'reset',
  not_reset: 'not_reset',
  gauge: 'gauge',
};

function num(text: string): number {
  const lower = text.toLowerCase().replace(/^\+/, '');
  if (lower === 'inf') return Number.POSITIVE_INFINITY;
  if (lower === '-inf') return Number.NEGATIVE_INFINITY;
  if (lower === 'nan' || lower === '-nan') return Number.NaN;
  const n = Number(text);
  if (text.trim() === '' || Number.isNaN(n)) throw new Error(`bad number ${JSON.stringify(text)} in a histogram`);
  return n;
}

function list(text: string): number[] {
  const inner = text.trim();
  if (!inner.startsWith('[') || !inner.endsWith(']')) throw new Error(`expected [values], got ${inner}`);
  return inner
    .slice(1, -1)
    .split(/\s+/)
    .filter((x) => x !== '')
    .map(num);
}

/** Parses one `{{…}}` (the braces included). @throws Error on a malformed description. */
export function parseHistogramDesc(text: string): ScriptHistogram {
  const body = text.trim();
  if (!body.startsWith('{{') || !body.endsWith('}}')) throw new Error(`bad histogram ${JSON.stringify(text)}`);
  const h: MutableHistogram = createHistogram();
  let hintSet = false;
  let buckets: number[] = [];
  let offset = 0;
  let nBuckets: number[] = [];
  let nOffset = 0;
  const seen = new Set<string>();
  const re = /([a-z_]+):\s*(\[[^\]]*\]|[^\s\]]+)/g;
  const inner = body.slice(2, -2);
  if (inner.replace(re, '').trim() !== '') throw new Error(`bad histogram ${JSON.stringify(text)}`);
  for (const m of inner.matchAll(re)) {
    const key = m[1]!;
    const value = m[2]!;
    if (seen.has(key)) throw new Error(`duplicate key "${key}" in histogram`);
    seen.add(key);
    switch (key) {
      case 'schema':
        h.schema = num(value);
        break;
      case 'sum':
        h.sum = num(value);
        break;
      case 'count':
        h.count = num(value);
        break;
      case 'z_bucket':
        h.zeroCount = num(value);
        break;
      case 'z_bucket_w':
        h.zeroThreshold = num(value);
        break;
      case 'custom_values':
        h.customValues = list(value);
        break;
      case 'buckets':
        buckets = list(value);
        break;
      case 'offset':
        offset = num(value);
        break;
      case 'n_buckets':
        nBuckets = list(value);
        break;
      case 'n_offset':
        nOffset = num(value);
        break;
      case 'counter_reset_hint': {
        const hint = HINTS[value];
        if (hint === undefined) throw new Error(`error parsing counter_reset_hint: unknown value ${value}`);
        h.counterResetHint = hint;
        hintSet = true;
        break;
      }
      default:
        throw new Error(`unknown histogram key ${key}`);
    }
  }
  if (buckets.length > 0) {
    h.positiveSpans = [{ offset, length: buckets.length }];
    h.positiveBuckets = buckets;
  }
  if (nBuckets.length > 0) {
    h.negativeSpans = [{ offset: nOffset, length: nBuckets.length }];
    h.negativeBuckets = nBuckets;
  }
  return { h, hintSet };
}

/**
 * Expands one histogram token of a series line: `{{…}}`, `{{…}}xN` (N+1 copies), `{{a}}+{{b}}xN` or
 * `{{a}}-{{b}}xN` (a, then N more each adding or subtracting b). @throws Error when malformed.
 */
export function expandHistogramToken(token: string): ScriptHistogram[] {
  const m = /^(\{\{.*?\}\})(?:([+-])(\{\{.*?\}\}))?(?:x(\d+))?$/s.exec(token);
  if (m === null) throw new Error(`bad histogram value ${JSON.stringify(token)}`);
  const base = parseHistogramDesc(m[1]!);
  const times = m[4] === undefined ? undefined : Number(m[4]);
  if (m[3] === undefined) {
    if (times === undefined) return [base];
    return Array.from({ length: times + 1 }, () => base);
  }
  if (times === undefined) throw new Error(`bad histogram value ${JSON.stringify(token)}: expected xN`);
  const inc = parseHistogramDesc(m[3]);
  const out: ScriptHistogram[] = [{ h: base.h, hintSet: inc.hintSet }];
  let cur: FloatHistogram = base.h;
  for (let i = 1; i <= times; i++) {
    if (cur.schema > inc.h.schema)
      throw new Error(`error combining histograms: cannot merge from schema ${inc.h.schema} to ${cur.schema}`);
    const next = addHistograms(cur, inc.h, m[2] === '-').h;
    if (next === undefined) throw new Error('histograms with exponential and custom buckets cannot be combined');
    cur = next;
    out.push({ h: cur, hintSet: inc.hintSet });
  }
  return out;
}
