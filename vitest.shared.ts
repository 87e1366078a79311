// One vitest setup for every workspace package: each run leaves a JSON report that scripts/run.mjs
// sums into the "N passed, N failed" line.
import { defineConfig, type ViteUserConfig } from 'vitest/config';

// Node's resolution plus our source condition: 'import' or 'require' is added per import (so CommonJS
// packages keep require()), and no 'module' field, whose bundler-only builds (OpenTelemetry's esm/)
// Node cannot load.
const conditions = ['@obs/source', 'node', 'development|production'];
const mainFields = ['main'];

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
