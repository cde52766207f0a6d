import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'fastify',
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
  },
});
