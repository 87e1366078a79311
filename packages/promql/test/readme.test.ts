import { readFileSync } from 'node:fs';
import { format } from 'node:util';
import { expect, test } from 'vitest';
import * as promql from '../src/index.ts';

// The README's usage block, run as written (it is plain JavaScript as well as TypeScript): what it logs
// must be what its `// →` comments say.
test('the README example runs and prints what its comments say', async () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const block = /## Use\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block).toBeDefined();
  const imports = /^import \{([^}]*)\} from '@obs\/promql';$/m;
  expect(block).toMatch(imports);
  const body = block!.replace(imports, 'const {$1} = promql;');
  const expected = [...block!.matchAll(/\/\/ → (.*)$/gm)].map((m) => m[1]);
  const logged: string[] = [];
  const AsyncFunction = (async () => {}).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<void>;
  await new AsyncFunction('promql', 'console', body)(promql, { log: (...a: unknown[]) => logged.push(format(...a)) });
  expect(expected.length).toBeGreaterThan(0);
  expect(logged).toEqual(expected);
});
