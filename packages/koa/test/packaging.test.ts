import { createRequire } from 'node:module';
import Koa from 'koa';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

describe('packaging', () => {
  it('the ESM and the CJS builds load and export the same names', async () => {
    const esm = await import('../dist/index.js');
    const cjs = require('../dist/index.cjs');
    expect(Object.keys(esm).sort()).toEqual(['cluster2Koa', 'listen', 'onDrained']);
    expect(Object.keys(cjs).sort()).toEqual(['cluster2Koa', 'listen', 'onDrained']);
    const app = new Koa();
    expect(cjs.cluster2Koa(app)).toBe(app);
  });
});
