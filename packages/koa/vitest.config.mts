import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'koa',
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
  },
});
