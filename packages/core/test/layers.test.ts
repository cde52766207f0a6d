// Core reads top-down: a module imports only from its own layer or the layers below it
// (docs/design.md "How the code is laid out"). An import that runs back up is how a codebase
// starts to knot: the vocabulary begins to know the supervisor, and a change anywhere moves
// everything. This test reads every import of packages/core/src and fails on one that goes up.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src');

/** From the top down; a file or folder not listed fails the test, so a new one is placed on purpose. */
const LAYERS: ReadonlyArray<readonly string[]> = [
  ['index.ts', 'cli/'],
  ['adapter-kit/'],
  ['cluster.ts'],
  ['roles/'],
  ['primary/'],
  ['worker/'],
  ['start/'],
  ['context.ts', 'ecv/', 'delegation/', 'monitor/', 'options.ts', 'app-entry.ts', 'ipc/'],
  ['status.ts', 'worker-state.ts', 'errors.ts', 'access.ts', 'cpu-quota.ts'],
];

function layerOf(file: string): number {
  const relative = path.relative(src, file).split(path.sep).join('/');
  const index = LAYERS.findIndex((layer) => layer.some((entry) => (entry.endsWith('/') ? relative.startsWith(entry) : relative === entry)));
  if (index === -1) throw new Error(`${relative} is in no layer of layers.test.ts: place it`);
  return index;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Relative imports, static and dynamic, type-only ones included: a type that reaches up ties the layers as much. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specifiers.map((specifier) => path.resolve(path.dirname(file), specifier.replace(/\.js$/, '.ts')));
}

describe('the layers of @cluster2/core', () => {
  const files = sourceFiles(src);

  it('places every source file in a layer', () => {
    expect(files.length).toBeGreaterThan(50);
    for (const file of files) expect(() => layerOf(file)).not.toThrow();
  });

  it('has no import that runs back up a layer', () => {
    const upward: string[] = [];
    for (const file of files) {
      for (const target of importsOf(file)) {
        if (layerOf(target) < layerOf(file)) upward.push(`${path.relative(src, file)} → ${path.relative(src, target)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('reads the imports it checks (a moved file would otherwise pass unseen)', () => {
    const cluster = importsOf(path.join(src, 'cluster.ts')).map((target) => path.relative(src, target));
    expect(cluster).toContain(path.join('roles', 'role.ts'));
    for (const target of files.flatMap(importsOf)) expect(fs.existsSync(target), target).toBe(true);
  });
});
