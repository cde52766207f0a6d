import { defineConfig } from 'tsup';
import { preset } from '../../tsup.preset.mjs';

export default defineConfig(preset({ index: 'src/index.ts', cli: 'src/cli/main.ts' }));
