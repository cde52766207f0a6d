import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'e2e',
    // Real HAProxy, Chromium and load against clustered apps: bounded, but not quick.
    testTimeout: 180_000,
    hookTimeout: 60_000,
    // These suites load the 2 cores of the machine; one file at a time keeps timings honest.
    fileParallelism: false,
    // The reliability suite's end-of-run table (a no-op when none of its files ran).
    globalSetup: ['./reliability/summary.global.ts'],
  },
});
