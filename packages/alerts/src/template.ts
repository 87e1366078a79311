import { ObsError } from '@obs/core';

/** What a template sees: `$labels`, `$value`, `$externalLabels`, `$externalURL`, and `query`. */
export interface TemplateData {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** @default {} */
  readonly externalLabels?: Readonly<Record<string, string>>;
  /** @default "" */
  readonly externalURL?: string;
  /** The `query` function: an instant query at the evaluation time. @default none (an error if used) */
  readonly query?: (
    expr: string,
  ) => readonly { readonly labels: Readonly<Record<string, string>>; readonly value: number }[];
}

// Go's %g with a precision: exponent form when exp < -4 or exp >= precision, trailing zeros dropped.
function goG(v: number, precision: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(precision)))));
  if (exp < -4 || exp >= precision) {
    const [mant, e] = v.toExponential(precision - 1).split('e') as [string, string];
    const m = mant.includes('.') ? mant.replace(/\.?0+$/, '') : mant;
    const n = Number(e);
    return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  const fixed = v.toFixed(Math.max(0, precision - 1 - exp));
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

/** Go's default formatting of a float64 (`%v`): shortest digits, exponent form below 1e-4 or from 1e6. */
export function goFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(v)));
  if (exp < -4 || exp >= 6) {
    const [m, e] = v.toExponential().split('e') as [string, string];
    const n = Number(e);
    return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  return String(v);
}

/** Prometheus' `humanize`: SI prefixes, 4 significant digits. */
export function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return goG(v, 4);
  if (Math.abs(v) >= 1) {
    const prefixes = ['', 'k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];
    let i = 0;
    while (Math.abs(v) >= 1000 && i < prefixes.length - 1) {
      v /= 1000;
      i++;
    }
    return `${goG(v, 4)}${prefixes[i]}`;
  }
  const prefixes = ['', 'm', 'u', 'n', 'p', 'f', 'a', 'z', 'y'];
  let i = 0;
  while (Math.abs(v) < 1 && i < prefixes.length - 1) {
    v *= 1000;
    i++;
  }
  return `${goG(v, 4)}${prefixes[i]}`;
}

function printf(format: string, args: unknown[]): string {
  let i = 0;
  return format.replace(
    /%([-+ 0#]*)(\d*)(?:\.(\d+))?([sdfgevq%])/g,
    (_all, _flags, width: string, prec?: string, verb?: string) => {
      if (verb === '%') return '%';
      const arg = args[i++];
      let out: string;
      switch (verb) {
        case 'd':
          out = String(Math.trunc(Number(arg)));
          break;
        case 'f':
          out = Number(arg).toFixed(prec === undefined ? 6 : Number(prec));
          break;
        case 'e':
          out = Number(arg)
            .toExponential(prec === undefined ? 6 : Number(prec))
            .replace(/e([+-])(\d)$/, 'e$10$2');
          break;
        case 'g':
          out = prec === undefined ? goFloat(Number(arg)) : goG(Number(arg), Number(prec));
          break;
        case 'q':
          out = JSON.stringify(String(arg));
          break;
        default:
          out = typeof arg === 'number' ? goFloat(arg) : String(arg);
      }
      return width === '' ? out : out.padStart(Number(width));
    },
  );
}

type Fn = (...args: unknown[]) => unknown;
const FUNCS: Readonly<Record<string, Fn>> = {
  humanize: (v) => humanize(Number(v)),
  humanizePercentage: (v) => `${goG(Number(v) * 100, 4)}%`,
  printf: (f, ...rest) => printf(String(f), rest),
  toUpper: (s) => String(s).toUpperCase(),
  toLower: (s) => String(s).toLowerCase(),
};

function tokenize(action: string): string[] {
  const tokens: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\||[^\s|]+)/g;
  for (let m = re.exec(action); m !== null; m = re.exec(action)) tokens.push(m[1]!);
  return tokens;
}

function operand(token: string, data: TemplateData): unknown {
  if (token === '$value' || token === '.Value') return data.value;
  if (token === '$labels' || token === '.Labels') return data.labels;
  const label = /^(?:\$labels|\.Labels)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(token);
  if (label !== null) return data.labels[label[1]!] ?? '<no value>';
  if (token === '$externalURL') return data.externalURL ?? '';
  if (token === '$externalLabels') return data.externalLabels ?? {};
  const ext = /^\$externalLabels\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(token);
  if (ext !== null) return data.externalLabels?.[ext[1]!] ?? '<no value>';
  if (token.startsWith('"')) return JSON.parse(token) as string;
  if (token.startsWith('`')) return token.slice(1, -1);
  if (/^-?\d/.test(token)) return Number(token);
  throw new Error(`unknown operand ${token}`);
}

function runAction(action: string, data: TemplateData): string {
  const tokens = tokenize(action);
  let piped: unknown;
  let first = true;
  for (const cmd of tokens.join(' ').split(/\s\|\s/)) {
    const parts = tokenize(cmd);
    const head = parts[0];
    if (head === undefined) throw new Error('empty command');
    const fn = FUNCS[head];
    if (fn !== undefined) {
      const args = parts.slice(1).map((p) => operand(p, data));
      if (!first) args.push(piped);
      piped = fn(...args);
    } else {
      if (parts.length !== 1 || !first) throw new Error(`unknown function ${head}`);
      piped = operand(head, data);
    }
    first = false;
  }
  if (typeof piped === 'number') return goFloat(piped);
  if (typeof piped === 'object' && piped !== null)
    return `map[${Object.entries(piped)
      .map(([k, v]) => `${k}:${v}`)
      .sort()
      .join(' ')}]`;
  return String(piped);
}

/**
 * Expands a Prometheus annotation template (a subset of Go templates: `$labels`, `$value`, pipes,
 * humanize, humanizePercentage, printf).
 * @throws ObsError `OBS_ERR_ALERTS_RULE_INVALID` on a template it cannot expand.
 */
export function expandTemplate(template: string, data: TemplateData): string {
  return template.replace(/\{\{-?\s*([\s\S]*?)\s*-?\}\}/g, (_all, action: string) => {
    try {
      return runAction(action, data);
    } catch (err) {
      throw new ObsError(
        'OBS_ERR_ALERTS_RULE_INVALID',
        `[@obs/alerts] template ${JSON.stringify(template)}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  });
}
