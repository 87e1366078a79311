// yaml loads when a rule file, an export or an Alertmanager config is first read or written, not at import: an
// app with rules in code never loads it (#22). Its Node build is CommonJS, so this is the same module.
import { createRequire } from 'node:module';

let loaded: typeof import('yaml') | undefined;

/** The yaml module, loaded on first use. */
export function yaml(): typeof import('yaml') {
  loaded ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return loaded;
}
