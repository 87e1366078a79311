// Translates the parts of RE2 syntax (Prometheus' regex dialect) that JavaScript on Node 20 lacks: inline
// flag groups `(?i:…)`, `(?i)`, `(?P<name>…)`, `\A` and `\z`. Case-insensitive parts become character classes.

function swapCase(c: string): string {
  const l = c.toLowerCase();
  return l === c ? c.toUpperCase() : l;
}

// Adds the other case of every letter and letter range in a character class (`[a-c]` → `[a-cA-C]`).
function foldClass(cls: string): string {
  let body = cls.slice(1, -1);
  let neg = '';
  if (body.startsWith('^')) {
    neg = '^';
    body = body.slice(1);
  }
  let extra = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (body[i + 1] === '-' && i + 2 < body.length && body[i + 2] !== ']') {
      const d = body[i + 2]!;
      if (/[a-zA-Z]/.test(c) && /[a-zA-Z]/.test(d) && (c === c.toLowerCase()) === (d === d.toLowerCase()))
        extra += `${swapCase(c)}-${swapCase(d)}`;
      i += 2;
      continue;
    }
    if (/[a-zA-Z]/.test(c)) extra += swapCase(c);
  }
  return `[${neg}${body}${extra}]`;
}

function classEnd(src: string, start: number): number {
  let j = start + 1;
  if (src[j] === '^') j++;
  if (src[j] === ']') j++;
  while (j < src.length && src[j] !== ']') {
    if (src[j] === '\\') j++;
    else if (src[j] === '[' && src[j + 1] === ':') {
      const close = src.indexOf(':]', j);
      if (close !== -1) j = close + 1;
    }
    j++;
  }
  return j;
}

/** The JavaScript source of an RE2 pattern (the result still needs the `s` flag, as `(?s)` is RE2's default here). */
export function re2ToJs(src: string): string {
  if (!/\(\?|\\[Az]/.test(src)) return src;
  let out = '';
  const stack: boolean[] = [];
  let ci = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      const next = src[i + 1] ?? '';
      let j = i + 2;
      if ((next === 'p' || next === 'P' || next === 'x') && src[i + 2] === '{') j = src.indexOf('}', i) + 1;
      else if (next === 'x') j = i + 4;
      else if (next === 'p' || next === 'P') j = i + 3;
      const esc = src.slice(i, j);
      out += esc === '\\z' ? '$' : esc === '\\A' ? '^' : esc;
      i = j - 1;
      continue;
    }
    if (c === '[') {
      const j = classEnd(src, i);
      const cls = src.slice(i, j + 1);
      out += ci ? foldClass(cls) : cls;
      i = j;
      continue;
    }
    if (c === '(') {
      const rest = src.slice(i);
      const flags = /^\(\?([imsU]*)(?:-([imsU]*))?([:)])/.exec(rest);
      if (flags !== null) {
        const on = flags[1]!.includes('i') ? true : flags[2]?.includes('i') === true ? false : undefined;
        if (flags[3] === ')') {
          if (on !== undefined) ci = on;
        } else {
          stack.push(ci);
          if (on !== undefined) ci = on;
          out += '(?:';
        }
        i += flags[0].length - 1;
        continue;
      }
      stack.push(ci);
      if (rest.startsWith('(?P<')) {
        out += '(?<';
        i += 3;
        continue;
      }
      out += c;
      continue;
    }
    if (c === ')') {
      ci = stack.pop() ?? false;
      out += c;
      continue;
    }
    out += ci && /[a-zA-Z]/.test(c) ? `[${c}${swapCase(c)}]` : c;
  }
  return out;
}
