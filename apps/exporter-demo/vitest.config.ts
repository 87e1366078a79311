// The demo runs against the built packages (dist/), as a user's app would: no @obs/source condition.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest/report.json' },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
