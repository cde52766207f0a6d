import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'express',
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
  },
});
