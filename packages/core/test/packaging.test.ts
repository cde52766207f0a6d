import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const PACKAGES = ['core', 'express', 'fastify', 'koa'];

describe('built packages', () => {
  it.each(PACKAGES)('@cluster2/%s loads through import and require, with the same exports', async (name) => {
    const dir = path.join(root, name);
    const pkg = require(path.join(dir, 'package.json')) as { exports: Record<string, { import: { default: string }; require: { default: string } }> };
    const esm = (await import(pathToFileURL(path.join(dir, pkg.exports['.']!.import.default)).href)) as Record<string, unknown>;
    const cjs = require(path.join(dir, pkg.exports['.']!.require.default)) as Record<string, unknown>;
    expect(Object.keys(esm).sort()).toEqual(Object.keys(cjs).sort());
    expect(Object.keys(esm).length).toBeGreaterThan(0);
  });

  it('core exposes Cluster and the error registry from both builds', async () => {
    const esm = (await import(pathToFileURL(path.join(root, 'core/dist/index.js')).href)) as typeof import('../src/index.js');
    const cjs = require(path.join(root, 'core/dist/index.cjs')) as typeof import('../src/index.js');
    expect(typeof esm.Cluster).toBe('function');
    expect(typeof cjs.Cluster).toBe('function');
    expect(cjs.ErrorCodes.ERR_CLUSTER2_PORT_IN_USE).toBe('ERR_CLUSTER2_PORT_IN_USE');
    expect(() => new cjs.Cluster({ noWorkers: 0 })).toThrow(expect.objectContaining({ code: 'ERR_CLUSTER2_INVALID_OPTION' }));
  });

  it("core's ES module entry imports no other file of the package: a worker loads one file of cluster2", () => {
    // Each ES module file costs a starting worker ~1 ms in Node 20's loader (respawn and reload
    // time); the monitor and the CLI load on their own, in the master only.
    const entry = fs.readFileSync(path.join(root, 'core/dist/index.js'), 'utf8');
    const staticImports = [...entry.matchAll(/^import\b[^;]*?from\s+"([^"]+)"/gms)].map((m) => m[1]);
    expect(staticImports.length).toBeGreaterThan(0);
    expect(staticImports.filter((specifier) => specifier!.startsWith('.'))).toEqual([]);
  });
});
