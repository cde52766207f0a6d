import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isSafeLogName } from '../src/monitor/logs.js';
import { rawRequest, startTestMonitor, type TestMonitor } from './monitor-helpers.js';

let t: TestMonitor;
let secret: string;
beforeEach(async () => {
  t = await startTestMonitor();
  // A file next to the logs directory that must never be reachable through the viewer.
  secret = path.join(t.tmp, 'secret.txt');
  fs.writeFileSync(secret, 'TOP SECRET\n');
});
afterEach(async () => {
  await t.close();
});

describe('GET /api/logs', () => {
  it('lists regular files with name, size and mtime, sorted by name (symlinks and dirs left out)', async () => {
    fs.writeFileSync(path.join(t.logsDir, 'b.log'), 'hello\n');
    fs.writeFileSync(path.join(t.logsDir, 'a.log'), 'x');
    fs.mkdirSync(path.join(t.logsDir, 'archive'));
    fs.symlinkSync(secret, path.join(t.logsDir, 'link.log'));
    const res = await fetch(`${t.base}/api/logs`);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const { files } = (await res.json()) as { files: Array<{ name: string; size: number; mtime: string }> };
    expect(files.map((f) => [f.name, f.size])).toEqual([
      ['a.log', 1],
      ['b.log', 6],
    ]);
    expect(Number.isNaN(Date.parse(files[0]?.mtime ?? ''))).toBe(false);
  });

  it('answers an empty list when the logs directory does not exist', async () => {
    fs.rmSync(t.logsDir, { recursive: true });
    expect(await (await fetch(`${t.base}/api/logs`)).json()).toEqual({ files: [], lines: [], dropped: 0 });
  });
});

describe('GET /api/logs/<name>', () => {
  it('serves the tail of a real file as text/plain', async () => {
    fs.writeFileSync(path.join(t.logsDir, 'app.log'), 'line 1\nline 2\nline 3\n');
    const res = await fetch(`${t.base}/api/logs/app.log`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await res.text()).toBe('line 1\nline 2\nline 3\n');
  });

  it('serves only the last N lines with ?lines=N', async () => {
    const lines = Array.from({ length: 50_000 }, (_, i) => `entry ${i}`);
    fs.writeFileSync(path.join(t.logsDir, 'big.log'), `${lines.join('\n')}\n`);
    expect(await (await fetch(`${t.base}/api/logs/big.log?lines=3`)).text()).toBe('entry 49997\nentry 49998\nentry 49999\n');
    const many = await (await fetch(`${t.base}/api/logs/big.log?lines=10000`)).text();
    expect(many.split('\n').slice(0, -1)).toEqual(lines.slice(-10_000));
  });

  it('serves at most the last 64 KiB, starting at a line boundary', async () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `entry ${i}`);
    fs.writeFileSync(path.join(t.logsDir, 'big.log'), `${lines.join('\n')}\n`);
    const text = await (await fetch(`${t.base}/api/logs/big.log`)).text();
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(64 * 1024);
    expect(Buffer.byteLength(text)).toBeGreaterThan(60 * 1024);
    expect(text.startsWith('entry ')).toBe(true);
    expect(text.endsWith('entry 19999\n')).toBe(true);
  });

  it('answers 400 to a lines value that is not an integer from 1 to 10000', async () => {
    fs.writeFileSync(path.join(t.logsDir, 'app.log'), 'x\n');
    for (const lines of ['0', '-1', 'abc', '1.5', '10001']) {
      expect((await fetch(`${t.base}/api/logs/app.log?lines=${lines}`)).status).toBe(400);
    }
  });

  it.each([
    ['a parent segment', '/api/logs/../secret.txt'],
    ['a parent segment deeper', '/api/logs/../../etc/passwd'],
    ['encoded dots and slash', '/api/logs/%2e%2e%2fsecret.txt'],
    ['dots with an encoded slash', '/api/logs/..%2fsecret.txt'],
    ['an encoded backslash', '/api/logs/..%5csecret.txt'],
    ['an absolute path', `/api/logs/${encodeURIComponent('/etc/passwd')}`],
    ['an absolute path as extra segments', '/api/logs//etc/passwd'],
    ['a NUL byte', '/api/logs/app.log%00.txt'],
    ['bare dots', '/api/logs/..'],
    ['a missing file', '/api/logs/missing.log'],
    ['a directory', '/api/logs/archive'],
  ])('answers 404 to %s', async (_label, target) => {
    fs.writeFileSync(path.join(t.logsDir, 'app.log'), 'x\n');
    fs.mkdirSync(path.join(t.logsDir, 'archive'));
    const res = await rawRequest(t.port, target);
    expect(res.status).toBe(404);
    expect(res.body).not.toContain('TOP SECRET');
    expect(res.body).not.toContain('root:');
  });

  it('answers 404 to a symlink inside the logs directory that points outside it', async () => {
    fs.symlinkSync(secret, path.join(t.logsDir, 'escape.log'));
    fs.symlinkSync(t.tmp, path.join(t.logsDir, 'up'));
    for (const target of ['/api/logs/escape.log', '/api/logs/up%2fsecret.txt']) {
      const res = await rawRequest(t.port, target);
      expect(res.status).toBe(404);
      expect(res.body).not.toContain('TOP SECRET');
    }
  });

  it('serves a symlink that stays inside the logs directory', async () => {
    fs.writeFileSync(path.join(t.logsDir, 'app.log.1'), 'rotated\n');
    fs.symlinkSync('app.log.1', path.join(t.logsDir, 'current.log'));
    expect(await (await fetch(`${t.base}/api/logs/current.log`)).text()).toBe('rotated\n');
  });

  it('accepts only plain names', () => {
    expect(isSafeLogName('app.log')).toBe(true);
    for (const name of ['', '.', '..', '../x', 'a/b', 'a\\b', '/etc/passwd', 'C:\\x', 'a\0b', 'x..y']) {
      expect(isSafeLogName(name)).toBe(false);
    }
  });
});
