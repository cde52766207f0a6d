// Mutation testing of the modules the fast unit tests cover: `npm run mutation` (not in CI).
// The report lands in reports/mutation/. A run takes minutes because only the unit test files
// listed in vitest.mutation.config.mts run against each mutant: nothing there forks or listens.

/**
 * The modules mutated: the one list to update when a file moves. Each needs a unit test in
 * vitest.mutation.config.mts that exercises it, or its mutants all survive as "no coverage".
 */
export const MUTATE = [
  'packages/core/src/options.ts',
  'packages/core/src/access.ts',
  'packages/core/src/primary/backoff.ts',
  'packages/core/src/primary/recycler.ts',
  'packages/core/src/primary/sticky.ts',
  'packages/core/src/delegation/handlers.ts',
  'packages/core/src/delegation/protocol.ts',
  'packages/core/src/adapter-kit/ecv-responder.ts',
];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.mutation.config.mts' },
  mutate: MUTATE,
  coverageAnalysis: 'perTest',
  // Re-tests only the mutants whose code or covering tests changed since the last run's
  // reports/stryker-incremental.json (a full run: `npm run mutation -- --force`).
  incremental: true,
  // Two cores: one vitest per core.
  concurrency: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  // Copy only what the unit tests need into the sandbox (node_modules are linked, not copied).
  ignorePatterns: [
    '/*',
    '!/packages',
    '/packages/*',
    '!/packages/core',
    '/packages/core/dist',
    '!/package.json',
    '!/tsconfig.json',
    '!/vitest.mutation.config.mts',
    '!/test-e2e',
    '/test-e2e/*',
    '!/test-e2e/support',
  ],
  thresholds: { high: 90, low: 80, break: null },
};
