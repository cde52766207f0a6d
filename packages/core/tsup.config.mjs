import { defineConfig } from 'tsup';
import { preset } from '../../tsup.preset.mjs';

// Split chunks so that what only the master runs (the monitor) loads on demand, never in workers,
// whose start-up time is respawn and reload time.
export default defineConfig({ ...preset({ index: 'src/index.ts', cli: 'src/cli/main.ts' }), splitting: true });
