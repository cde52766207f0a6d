import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// What `npm publish` would upload: each package packed by pnpm (which rewrites `workspace:*` to
// the real version) into a temporary directory, then checked as a user's tools see it.
const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = (name: string) => path.join(repoRoot, 'node_modules', '.bin', name);
const PACKAGES = ['core', 'express', 'fastify', 'koa'] as const;
const rootEngines = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
const coreVersion = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'packages/core/package.json'), 'utf8')) as { version: string }).version;

let out: string;
const tarballs = new Map<string, string>();

beforeAll(async () => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster2-pack-'));
  for (const name of PACKAGES) {
    const { stdout } = await run('pnpm', ['pack', '--pack-destination', out], { cwd: path.join(repoRoot, 'packages', name) });
    const tarball = stdout.trim().split('\n').at(-1)!.trim();
    expect(fs.existsSync(tarball), `pnpm pack printed ${stdout}`).toBe(true);
    tarballs.set(name, tarball);
  }
}, 120_000);
afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

async function list(tarball: string): Promise<string[]> {
  return (await run('tar', ['tzf', tarball])).stdout
    .trim()
    .split('\n')
    .map((entry) => entry.replace(/^package\//, ''));
}

async function packedManifest(tarball: string): Promise<Record<string, any>> {
  return JSON.parse((await run('tar', ['xzf', tarball, '-O', 'package/package.json'])).stdout) as Record<string, any>;
}

describe.each(PACKAGES)('@cluster2/%s as published', (name) => {
  it('holds only dist, README.md, LICENSE and package.json (and core the config JSON Schema)', async () => {
    const files = await list(tarballs.get(name)!);
    const published =
      name === 'core' ? /^(dist\/.+|README\.md|LICENSE|package\.json|cluster2\.schema\.json)$/ : /^(dist\/.+|README\.md|LICENSE|package\.json)$/;
    expect(files.filter((file) => !published.test(file))).toEqual([]);
    if (name === 'core') expect(files).toContain('cluster2.schema.json');
    for (const needed of ['README.md', 'LICENSE', 'package.json', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts']) {
      expect(files).toContain(needed);
    }
    if (name === 'core') expect(files).toContain('dist/cli.js');
  });

  it('states license, repository, homepage, keywords and the tested engines, with workspace:* rewritten', async () => {
    const manifest = await packedManifest(tarballs.get(name)!);
    expect(JSON.stringify(manifest)).not.toContain('workspace:');
    expect(manifest.license).toBe('MIT');
    expect(manifest.repository).toMatchObject({ type: 'git', directory: `packages/${name}` });
    expect(manifest.repository.url).toMatch(/^git\+https:\/\/.+\.git$/);
    expect(manifest.homepage).toMatch(/^https:\/\/.+#readme$/);
    expect(manifest.keywords.length).toBeGreaterThan(2);
    expect(manifest.engines).toEqual({ node: rootEngines });
    if (name !== 'core') expect(manifest.dependencies['@cluster2/core']).toBe(coreVersion);
  });

  it('passes publint with no error and no warning', async () => {
    const tarball = fs.readFileSync(tarballs.get(name)!);
    const { messages, pkg } = await publint({
      pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) },
      level: 'suggestion',
    });
    const serious = messages
      .filter((message) => message.type !== 'suggestion')
      .map((message) => `${message.type}: ${formatMessage(message, pkg) ?? message.code}`);
    expect(serious).toEqual([]);
  });

  it('resolves ESM, CJS and types for node10, node16 and bundlers (@arethetypeswrong/cli)', async () => {
    // attw exits 1 when it finds a problem; the JSON report says which, so read it either way.
    const { stdout } = await run(bin('attw'), ['--format', 'json', tarballs.get(name)!], { maxBuffer: 64 * 1024 * 1024 }).catch(
      (error: { stdout: string }) => error,
    );
    const report = JSON.parse(stdout) as {
      problems: Record<string, unknown[]> | unknown[];
      analysis: {
        entrypoints: Record<string, { resolutions: Record<string, { resolution?: { fileName: string }; implementationResolution?: { fileName: string } }> }>;
      };
    };
    expect(Object.values(report.problems).flat()).toEqual([]);
    const root = report.analysis.entrypoints['.']!.resolutions;
    const seen = Object.fromEntries(
      Object.entries(root).map(([kind, r]) => [
        kind,
        [path.basename(r.resolution?.fileName ?? '-'), path.basename(r.implementationResolution?.fileName ?? '-')],
      ]),
    );
    expect(seen).toEqual({
      node10: ['index.d.ts', 'index.cjs'],
      'node16-cjs': ['index.d.cts', 'index.cjs'],
      'node16-esm': ['index.d.ts', 'index.js'],
      bundler: ['index.d.ts', 'index.js'],
    });
  });
});
