import { describe, expect, it } from 'vitest';
import { assertMountedEcvPath, DEFAULT_MOUNT, resolveMountOptions, withMountOptions } from '../src/adapter-kit/mount.js';

describe('resolveMountOptions', () => {
  it('returns only the options given, validated', () => {
    expect(resolveMountOptions({}, 'cluster2()')).toEqual({});
    expect(resolveMountOptions({ timeout: 5000, ecv: { path: '/health' } }, 'cluster2()')).toEqual({ timeout: 5000, ecv: { path: '/health' } });
    expect(Object.keys(resolveMountOptions({ timeout: undefined, idleGrace: 100 }, 'cluster2()'))).toEqual(['idleGrace']);
  });

  it('rejects an unknown key naming it, the mounting call and the keys it takes', () => {
    expect(() => resolveMountOptions({ port: 3000 }, 'cluster2Koa()')).toThrow(
      expect.objectContaining({
        code: 'ERR_CLUSTER2_UNKNOWN_OPTION',
        message: 'unknown option "port" for cluster2Koa(); it takes ecv, timeout, idleGrace (give every other option to listen())',
      }),
    );
  });

  it('accepts and drops the keys the framework tolerates', () => {
    expect(resolveMountOptions({ prefix: '/api', timeout: 1000 }, 'cluster2Plugin', ['prefix'])).toEqual({ timeout: 1000 });
    expect(() => resolveMountOptions({ prefix: '/api' }, 'cluster2Plugin')).toThrow(expect.objectContaining({ code: 'ERR_CLUSTER2_UNKNOWN_OPTION' }));
  });

  it('rejects a bad value with the Cluster option message', () => {
    expect(() => resolveMountOptions({ ecv: { path: 'ecv' } }, 'cluster2()')).toThrow(
      expect.objectContaining({ code: 'ERR_CLUSTER2_INVALID_OPTION', message: expect.stringContaining('ecv.path') }),
    );
    expect(() => resolveMountOptions({ idleGrace: -1 }, 'cluster2()')).toThrow(
      expect.objectContaining({ code: 'ERR_CLUSTER2_INVALID_OPTION', message: expect.stringContaining('idleGrace') }),
    );
  });
});

describe('assertMountedEcvPath', () => {
  it('rejects an ecv.path given only to listen() that differs from the mounted one', () => {
    expect(() => assertMountedEcvPath(DEFAULT_MOUNT, { ecv: { path: '/health' } }, 'cluster2Plugin', 'the plugin')).toThrow(
      expect.objectContaining({
        code: 'ERR_CLUSTER2_INVALID_OPTION',
        message: 'option "ecv.path" of listen() is "/health" but cluster2Plugin serves ECV at "/ecv"; give ecv.path to the plugin',
      }),
    );
  });

  it('accepts the same path, no path, or a path the mounting call set itself', () => {
    expect(() => assertMountedEcvPath(DEFAULT_MOUNT, { ecv: { path: '/ecv' } }, 'x', 'x')).not.toThrow();
    expect(() => assertMountedEcvPath(DEFAULT_MOUNT, {}, 'x', 'x')).not.toThrow();
    expect(() => assertMountedEcvPath({ options: { ecv: { path: '/a' } }, path: '/a' }, { ecv: { path: '/b' } }, 'x', 'x')).not.toThrow();
  });
});

describe('withMountOptions', () => {
  it("lets the mounting call's options win, field by field for ecv", () => {
    expect(withMountOptions({ timeout: 1, ecv: { path: '/a', control: true } }, { timeout: 2, ecv: { path: '/b' } })).toEqual({
      timeout: 2,
      ecv: { path: '/b', control: true },
    });
  });
});
