import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, killAll, tempDir, until } from '../support/fixture.js';
import { parseLines, startWriter } from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures: Fixture[] = [];
afterEach(() => killAll(fixtures.splice(0)));

async function get(port: number, target: string): Promise<{ status: number; ms: number; body: string }> {
  const started = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}${target}`);
  const body = await res.text();
  return { status: res.status, ms: performance.now() - started, body };
}

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

describe('log capture under pressure', () => {
  it('a reader of the master stdout that stops reading: requests that log are not slowed, lines are dropped and counted, the master stays small', async () => {
    const f = startWriter({ noWorkers: 2, monitor: true, monPort: 0, logs: { buffer: 1024 * 1024 } }, {}, { stdout: 'pipe' });
    fixtures.push(f);
    const { ports, monitor } = await f.readyReport(30_000);
    const port = ports![0]!;
    // Quiet first: how long a request that writes 2000 lines takes while the destination keeps up.
    const flowing: number[] = [];
    for (let i = 0; i < 20; i++) flowing.push((await get(port, '/log?n=2000')).ms);
    // The reader stops: the pipe fills, then the master's 1 MiB allowance, then lines are dropped.
    f.child.stdout!.pause();
    const stuck: number[] = [];
    const rss: number[] = [];
    for (let i = 0; i < 150; i++) {
      const res = await get(port, '/log?n=2000');
      expect(res.status).toBe(200);
      stuck.push(res.ms);
      if (i % 10 === 0) rss.push(rssMiB(f.pid));
    }
    const status = await (await fetch(`http://${monitor!.host}:${monitor!.port}/api/status`)).json();
    // 300,000 lines of ~20 bytes were written; at most ~1 MiB plus a pipe's worth could be kept.
    expect(status.logs.dropped).toBeGreaterThan(200_000);
    expect(status.logs.lines).toBeGreaterThanOrEqual(300_000);
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    // A worker never waits for the stuck reader: its requests take what they took before (the
    // bound is loose for a shared 2-core machine; a blocked worker would take forever).
    expect(median(stuck)).toBeLessThan(median(flowing) * 3 + 50);
    expect(Math.max(...rss)).toBeLessThan(200);
    // The warning comes within its 10 s period, on stderr (still read).
    await until(
      () => /\d+ log lines dropped in the last 10 s/.test(f.stderr),
      15_000,
      'the drop notice',
      () => f.stderr.slice(-2000),
    );
    f.child.stdout!.resume();
  });

  it('an external mv of out.log with no command: the master notices and opens a new one; every line is in exactly one of the two files', async () => {
    const dir = tempDir('logs-moved');
    const f = startWriter({ noWorkers: 2, logs: { dir, stdout: false } }, {});
    fixtures.push(f);
    const port = (await f.readyReport(30_000)).ports![0]!;
    for (let i = 0; i < 20; i++) await get(port, '/log?n=100');
    fs.renameSync(path.join(dir, 'out.log'), path.join(dir, 'out.log.moved'));
    // Keep writing while the master has not noticed yet, and after.
    for (let i = 0; i < 40; i++) {
      await get(port, '/log?n=100');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await until(() => fs.existsSync(path.join(dir, 'out.log')), 5000, 'a new out.log');
    f.send('shutdown');
    await f.waitForExit();
    const lines = [...parseLines(fs.readFileSync(path.join(dir, 'out.log.moved'), 'utf8')), ...parseLines(fs.readFileSync(path.join(dir, 'out.log'), 'utf8'))];
    const requestLines = lines.filter((l) => l.msg.startsWith('req '));
    expect(requestLines).toHaveLength(6000);
    // Each worker's counter runs 0, 1, 2, … with no gap and no repeat across the two files.
    for (const worker of new Set(requestLines.map((l) => l.worker))) {
      const counters = requestLines.filter((l) => l.worker === worker).map((l) => Number(l.msg.split(' ')[2]));
      expect(counters).toEqual(counters.map((_, i) => i));
    }
    expect(parseLines(fs.readFileSync(path.join(dir, 'out.log'), 'utf8')).some((l) => l.msg.startsWith('req '))).toBe(true);
  });

  it("Fastify's own logger (pino JSON) stays JSON with the labels added; a pino logger in the master gets cluster2's records at their levels", async () => {
    const loggerFile = path.join(tempDir('logs-pino'), 'cluster2.ndjson');
    const f = new Fixture(path.join(here, 'fixtures', 'fastify-logger.mjs'), {}, { stdout: 'pipe', env: { FIXTURE_LOGGER_FILE: loggerFile } });
    fixtures.push(f);
    const port = (await f.readyReport(30_000)).ports![0]!;
    const hello = await get(port, '/hello');
    expect(hello.status).toBe(200);
    const worker = JSON.parse(hello.body).pid as number;
    await until(
      () => f.stdout.includes('saying hello'),
      5000,
      'the app log line',
      () => f.stdout,
    );
    const records = f.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line));
    const said = records.find((r) => r.msg === 'saying hello');
    expect(said).toMatchObject({ level: 30, pid: worker, greeted: 'you', worker: expect.stringMatching(/^w[01]$/), stream: 'out', app: 'fastify-logger' });
    expect(typeof said.reqId).toBe('string');
    // Fastify's request lines too, with its own fields untouched.
    expect(records.some((r) => r.msg === 'incoming request' && r.pid === worker && r.req?.url === '/hello' && r.stream === 'out')).toBe(true);
    // No line of the app was wrapped in a string.
    expect(f.stdout).not.toMatch(/\] \{"level"/);

    f.send('shutdown');
    await f.waitForExit();
    const own = fs
      .readFileSync(loggerFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(own.filter((r) => r.event === 'forked' && r.level === 30)).toHaveLength(2);
    expect(own.find((r) => r.event === 'listening')).toMatchObject({
      level: 30,
      worker: expect.stringMatching(/^w[01]$/),
      msg: expect.stringMatching(/^cluster2: worker \d+ \(w[01]\) listening$/),
    });
    expect(own.filter((r) => r.event === 'died' && r.level === 30)).toHaveLength(2);
    expect(own.at(-1)).toMatchObject({ event: 'stopped', level: 30 });
  });
});
