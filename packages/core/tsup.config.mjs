import { defineConfig } from 'tsup';
import { preset } from '../../tsup.preset.mjs';

// Workers load only the index entry, and every ES module file they load costs start-up time
// (respawn and reload time): about 1 ms each here, read through the async ESM loader.
// - index splits so that what only the master runs (the monitor) loads on demand; the monitor
//   imports no code from outside src/monitor (monitor/lazy.ts hands it what it needs), or shared
//   modules would become a chunk that every worker loads too (test/packaging.test.ts checks);
// - the CLI builds on its own, so that its share of the code stays out of index's chunks.
// Each config cleans only its own files: tsup runs them in parallel.
export default defineConfig([
  { ...preset({ index: 'src/index.ts' }), splitting: true, clean: ['index.*', 'chunk-*', 'server-*'] },
  // The CLI is only ever run (bin), never imported: ESM alone, no types.
  { ...preset({ cli: 'src/cli/main.ts' }), format: ['esm'], dts: false, clean: ['cli.*'] },
]);
