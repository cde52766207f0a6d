import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'core',
    // Clustered fixtures fork real processes: seconds, not milliseconds.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
  },
});
