// One vitest setup for every workspace package: each run leaves a JSON report that scripts/run.mjs
// sums into the "N passed, N failed" line.
import { defineConfig, type ViteUserConfig } from 'vitest/config';

const conditions = ['@obs/source', 'node', 'import', 'module', 'default'];

/** Options of {@link obsVitestConfig}. */
export interface ObsVitestOptions {
  /** Resolve sibling packages to their sources (`@obs/source`); apps test the built `dist/` instead. @default true */
  readonly sources?: boolean;
  /** @default 20_000 */
  readonly timeoutMs?: number;
}

export function obsVitestConfig({ sources = true, timeoutMs = 20_000 }: ObsVitestOptions = {}): ViteUserConfig {
  return defineConfig({
    ...(sources
      ? { resolve: { conditions }, ssr: { resolve: { conditions, externalConditions: ['@obs/source'] } } }
      : {}),
    test: {
      include: ['test/**/*.test.ts'],
      reporters: ['default', 'json'],
      outputFile: { json: '.vitest/report.json' },
      testTimeout: timeoutMs,
      hookTimeout: timeoutMs,
      typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    },
  });
}

export default obsVitestConfig();
