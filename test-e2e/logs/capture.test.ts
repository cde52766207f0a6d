import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, tempDir, until, type Fixture } from '../support/fixture.js';
import { checkSequence, parseLines, readRotated, startWriter } from './harness.js';

const fixtures: Fixture[] = [];
afterEach(() => killAll(fixtures.splice(0)));

const FLOOD = { workers: 4, lines: 10_000, longEvery: 2500 };

describe('log capture', () => {
  it('4 workers × 10,000 lines on stdout and on stderr: every line once, whole, labelled, in order, on the master stdio and in out.log/err.log', async () => {
    const dir = tempDir('logs-flood');
    const f = startWriter({ noWorkers: FLOOD.workers, logs: { dir } }, { lines: FLOOD.lines, longEvery: FLOOD.longEvery }, { stdout: 'pipe' });
    fixtures.push(f);
    await f.readyReport(60_000);
    f.send('shutdown');
    await f.waitForExit(30_000);
    expect(f.exitCode).toBe(0);

    const stdout = parseLines(f.stdout);
    const stderr = parseLines(f.stderr);
    expect(checkSequence(stdout, 'out', FLOOD)).toEqual([]);
    expect(checkSequence(stderr, 'err', FLOOD)).toEqual([]);
    // The workers' stderr never lands on stdout, nor the reverse.
    expect(stdout.filter((l) => l.msg.startsWith('err '))).toEqual([]);
    expect(stderr.filter((l) => l.msg.startsWith('out '))).toEqual([]);
    // Each label names the pid that wrote it: one pid per worker index.
    const pidsOf = new Map<string, Set<number>>();
    for (const line of stdout.filter((l) => l.worker !== 'master')) pidsOf.set(line.worker, (pidsOf.get(line.worker) ?? new Set()).add(line.pid));
    expect([...pidsOf.values()].map((pids) => pids.size)).toEqual([1, 1, 1, 1]);

    const outFile = parseLines(fs.readFileSync(path.join(dir, 'out.log'), 'utf8'));
    const errFile = parseLines(fs.readFileSync(path.join(dir, 'err.log'), 'utf8'));
    expect(checkSequence(outFile, 'out', FLOOD)).toEqual([]);
    expect(checkSequence(errFile, 'err', FLOOD)).toEqual([]);
    // cluster2's own life is in the same streams: every fork and exit, and the last word.
    const own = outFile.filter((l) => l.worker === 'master').map((l) => l.msg);
    expect(own.filter((m) => / forked$/.test(m))).toHaveLength(4);
    expect(own.filter((m) => / listening$/.test(m))).toHaveLength(4);
    expect(own.filter((m) => / exited \(code 0\)$/.test(m))).toHaveLength(4);
    expect(own.at(-1)).toBe('stopped');
  });

  it('rotation at a small maxSize: read oldest to newest, the rotated files hold every line once and in order, none past maxSize unless one line is longer', async () => {
    const dir = tempDir('logs-rotate');
    const maxSize = 256 * 1024;
    const f = startWriter({ noWorkers: FLOOD.workers, logs: { dir, stdout: false, maxSize, keep: 1000 } }, { lines: FLOOD.lines, longEvery: FLOOD.longEvery });
    fixtures.push(f);
    await f.readyReport(60_000);
    f.send('shutdown');
    await f.waitForExit(30_000);

    for (const [name, prefix] of [
      ['out.log', 'out'],
      ['err.log', 'err'],
    ] as const) {
      const { files, text } = readRotated(path.join(dir, name));
      expect(files.length).toBeGreaterThan(5);
      expect(checkSequence(parseLines(text), prefix, FLOOD)).toEqual([]);
      for (const file of files) {
        const content = fs.readFileSync(file, 'utf8');
        if (content.split('\n').length > 2) expect(Buffer.byteLength(content), file).toBeLessThanOrEqual(maxSize);
      }
    }
  });

  it('a worker that crashes: its stack is logged, then the died line with its last stderr lines, then the respawn', async () => {
    const marker = path.join(tempDir('logs-crash'), 'crashed');
    const f = startWriter({ noWorkers: 2 }, { lines: 3, crashOnce: marker }, { stdout: 'pipe' });
    fixtures.push(f);
    await f.readyReport(30_000);
    const died = await f.waitFor('died', { timeout: 15_000 });
    const crashed = died.args![0] as number;
    await until(
      () => f.stdout.includes(`worker ${crashed} (w0) is replaced in`),
      10_000,
      'the respawn line',
      () => f.stdout + f.stderr,
    );
    const errLines = parseLines(f.stderr);
    const diedAt = errLines.findIndex((l) => l.worker === 'master' && l.msg.startsWith(`worker ${crashed} (w0) died (code 1); last stderr:`));
    expect(diedAt, f.stderr).toBeGreaterThan(-1);
    expect(errLines[diedAt]!.msg).toContain('Error: worker 0 crashed on purpose');
    // The worker's own stack trace came first, labelled with its pid.
    const stackAt = errLines.findIndex((l) => l.worker === 'w0' && l.pid === crashed && l.msg.includes('Error: worker 0 crashed on purpose'));
    expect(stackAt).toBeGreaterThan(-1);
    expect(stackAt).toBeLessThan(diedAt);
    // The respawn (stdout, info) and the replacement's fork follow.
    const outLines = parseLines(f.stdout)
      .filter((l) => l.worker === 'master')
      .map((l) => l.msg);
    const respawnAt = outLines.indexOf(`worker ${crashed} (w0) is replaced in 0 ms`);
    expect(respawnAt).toBeGreaterThan(-1);
    expect(outLines.slice(respawnAt + 1).some((m) => / \(w0\) forked$/.test(m))).toBe(true);
  });

  it("a pino-style JSON line stays JSON with the worker's labels added, in text and in json format", async () => {
    for (const format of ['text', 'json'] as const) {
      const f = startWriter({ noWorkers: 1, logs: { format, app: 'api' } }, { lines: 1, json: true }, { stdout: 'pipe' });
      fixtures.push(f);
      const ready = await f.readyReport(30_000);
      const [worker] = f.pids('listening');
      const lines = f.stdout.split('\n').filter((line) => line.includes('"json 0"'));
      expect(lines, f.stdout).toHaveLength(1);
      const record = JSON.parse(lines[0]!);
      expect(record).toMatchObject({ level: 30, pid: worker, msg: 'json 0', worker: 'w0', stream: 'out', app: 'api' });
      expect(typeof record.time).toBe('number');
      if (format === 'json') {
        const plain = f.stdout.split('\n').find((line) => line.includes('out 0 0'));
        expect(JSON.parse(plain!)).toEqual({
          time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          app: 'api',
          worker: 'w0',
          pid: worker,
          stream: 'out',
          msg: 'out 0 0',
        });
      }
      expect(ready.ports).toHaveLength(1);
      f.send('stop');
      await f.waitForExit();
    }
  });
});
