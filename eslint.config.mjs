// Lint for the whole repository: type-aware typescript-eslint rules on the TypeScript of the
// packages and the end-to-end suites, ESLint's recommended rules on the plain JavaScript
// (examples, bench, fixtures). `npm run lint` runs it together with `prettier --check`.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**', 'test-e2e/artifacts/**', 'bench/.pm2/**', '**/reports/**'],
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [js.configs.recommended],
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { ...globals.node } },
    rules: {
      // Express tells an error handler by its four parameters: `_next` must stay even unused.
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      // An empty catch is the idiom of best-effort cleanup (kill a process that may be gone already).
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    // Its callbacks run in the browser page, through Playwright.
    files: ['test-e2e/monitor/screenshot.mjs'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
  {
    files: ['**/*.{ts,mts,cts}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'no-empty': ['error', { allowEmptyCatch: true }],
      // One import per module (a type-only import beside a value import is fine): two imports
      // of one module are what a move leaves behind.
      'no-duplicate-imports': ['error', { allowSeparateTypeImports: true }],
      // A `let` that a callback reads before its one assignment (a router wired up before the
      // child process it sends to exists) stays `let`: as a `const`, that read would throw.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // An `async` function without `await` is deliberate here: it turns a synchronous throw into
      // a rejection, and implements a Promise-returning interface (a handler, an ECV validator).
      '@typescript-eslint/require-await': 'off',
      // `void promise` is how this codebase marks a deliberate fire-and-forget (its errors are
      // handled inside): allowed, every other floating promise is an error.
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true }],
      // Unused bindings are mistakes, except those named `_…` on purpose (a callback's unused
      // parameter, a value destructured out of a rest).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Tests read what fixtures print and send (JSON.parse, IPC messages: `any`) and check it with
    // expect(), whose matchers are `any` too: the assertions are the type check there.
    files: ['packages/*/test/**/*.ts', 'test-e2e/**/*.{ts,mts}'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Type tests hand methods to expectTypeOf() to check their signatures: they are never called.
    files: ['**/*.test-d.ts'],
    rules: { '@typescript-eslint/unbound-method': 'off' },
  },
  {
    // Cluster's typed EventEmitter overloads (on/once/off/emit) take `any[]` for events outside
    // ClusterEvents (raw delegation events), as EventEmitter's own do; handle()'s payload defaults to `any`.
    files: ['packages/core/src/cluster.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The vitest configurations sit outside every tsconfig project: syntax rules only.
    files: ['vitest.projects.mts', 'packages/*/vitest.config.mts'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
