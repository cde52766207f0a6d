// One build recipe for every package: ESM + CJS + .d.ts/.d.cts, Node 20 target.
export function preset(entry = { index: 'src/index.ts' }) {
  return {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    splitting: false,
    shims: false,
  };
}
