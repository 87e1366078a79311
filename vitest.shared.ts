// One vitest setup for every package: sibling packages resolve to their sources through the
// `@obs/source` export condition, and each run leaves a JSON report that `scripts/run.mjs` sums.
import { defineConfig } from 'vitest/config';

const conditions = ['@obs/source', 'node', 'import', 'module', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@obs/source'] } },
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest/report.json' },
    testTimeout: 20_000,
    hookTimeout: 20_000,
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
  },
});
