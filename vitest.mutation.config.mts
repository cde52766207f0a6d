// The unit tests Stryker runs against each mutant (stryker.config.mjs): in-process only, no
// forking, listening or exiting, so that a mutant is judged in milliseconds.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: 'packages/core',
    include: [
      'test/options.test.ts',
      'test/access.test.ts',
      'test/backoff.test.ts',
      'test/recycler.test.ts',
      'test/sticky-hash.test.ts',
      'test/delegation-protocol.test.ts',
      'test/ecv-responder.test.ts',
      'test/sticky-slots.test.ts',
      'test/delegation-typed.test.ts',
      'test/delegation-bounds.test.ts',
      'test/delegation-raw.test.ts',
      'test/delegation-worker.test.ts',
      'test/delegation-payloads.test.ts',
      'test/ecv-unit.test.ts',
    ],
    testTimeout: 20_000,
  },
});
