// `cluster2 logs` against a real pids directory: a master.json naming a live stand-in process,
// real log files in a logs directory (read, filtered, followed across rotations by the built
// CLI), and a real monitor over an in-test source for a master that keeps its lines in memory.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runLogs } from '../src/cli/logs.js';
import { runCli, USAGE } from '../src/cli/run.js';
import { PidFiles } from '../src/primary/pidfiles.js';
import type { LogRecord } from '../src/status.js';
import { collector, tempDir } from './helpers.js';
import { startTestMonitor, waitFor, type TestMonitor } from './monitor-helpers.js';

const CLI = path.resolve(import.meta.dirname, '../dist/cli.js');

let tmp: string;
let pidsDir: string;
let logsDir: string;
let children: ChildProcess[];
let monitor: TestMonitor | undefined;
beforeEach(() => {
  tmp = tempDir('cli-logs');
  pidsDir = path.join(tmp, 'pids');
  logsDir = path.join(tmp, 'logs');
  fs.mkdirSync(logsDir);
  children = [];
});
afterEach(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await monitor?.close();
  monitor = undefined;
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A long-lived process that master.json names: the CLI verifies its pid and start time like a master's. */
async function standInMaster(): Promise<number> {
  const child = spawn(process.execPath, ['-e', "setInterval(() => {}, 1000); process.stdout.write('ready\\n')"], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`stand-in master exited early with ${code}`)));
  });
  return child.pid!;
}

/** Writes master.json for `pid` the way the master does, with its `logs` field. */
async function writeMaster(logs: object | null, monitorAddress: { host: string; port: number } | null = null): Promise<number> {
  const pid = await standInMaster();
  new PidFiles(pidsDir).writeMaster({ pid, ports: [3000], host: '0.0.0.0', monitor: monitorAddress, startedAt: Date.now() - 5000 });
  const file = path.join(pidsDir, 'master.json');
  fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), logs }));
  return pid;
}

const T0 = Date.parse('2026-12-07T06:40:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();
/** Worker i % 2 (pids 501, 502), out lines at even ms, err lines at odd ms. */
const outLine = (i: number): string => `${iso(T0 + 2 * i)} [w${i % 2} ${501 + (i % 2)}] out ${i}`;
const errLine = (i: number): string => `${iso(T0 + 2 * i + 1)} [w${i % 2} ${501 + (i % 2)}] err ${i}`;
const writeLines = (name: string, lines: string[]): void => fs.writeFileSync(path.join(logsDir, name), lines.map((l) => `${l}\n`).join(''));
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

async function logs(...args: string[]): Promise<{ code: number; lines: string[]; err: string }> {
  const c = collector();
  const code = await runCli(['logs', '--pids', pidsDir, ...args], c.io);
  return { code, lines: c.lines(), err: c.err() };
}

describe('cluster2 logs from the files in logs.dir', () => {
  beforeEach(async () => {
    await writeMaster({ dir: logsDir, files: 'stream', format: 'text' });
    writeLines('out.log', [...range(100).map(outLine), `${iso(T0 + 500)} [master 500] worker 501 (w0) died (code 1)`]);
    writeLines('err.log', range(100).map(errLine));
    // Rotated files are history, not read.
    writeLines('out.log.1', ['[w0 1] from the rotated file']);
  });

  it('prints the last 50 lines of out.log and err.log merged by time, or --lines N', async () => {
    const all = await logs();
    expect(all.code).toBe(0);
    expect(all.lines).toHaveLength(50);
    expect(all.lines.at(-1)).toBe(`${iso(T0 + 500)} [master 500] worker 501 (w0) died (code 1)`);
    expect(all.lines.at(-2)).toBe(errLine(99));
    expect(all.lines.at(-3)).toBe(outLine(99));
    const three = await logs('--lines', '3');
    expect(three.lines).toEqual([outLine(99), errLine(99), `${iso(T0 + 500)} [master 500] worker 501 (w0) died (code 1)`]);
  });

  it('--err prints stderr lines only', async () => {
    expect((await logs('--err', '--lines', '4')).lines).toEqual([96, 97, 98, 99].map(errLine));
  });

  it('--worker takes a label, an instance index or a pid, and master', async () => {
    const expected = [outLine(97), errLine(97), outLine(99), errLine(99)];
    expect((await logs('--worker', 'w1', '--lines', '4')).lines).toEqual(expected);
    expect((await logs('--worker', '1', '--lines', '4')).lines).toEqual(expected);
    expect((await logs('--worker', '502', '--lines', '4')).lines).toEqual(expected);
    expect((await logs('--worker', 'master')).lines).toEqual([`${iso(T0 + 500)} [master 500] worker 501 (w0) died (code 1)`]);
    expect((await logs('--worker', 'w7')).lines).toEqual([]);
  });

  it('--json prints each line as a record', async () => {
    const { lines } = await logs('--json', '--lines', '2', '--worker', 'w0');
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { time: iso(T0 + 196), worker: 'w0', pid: 501, stream: 'out', msg: 'out 98' },
      { time: iso(T0 + 197), worker: 'w0', pid: 501, stream: 'err', msg: 'err 98' },
    ]);
  });
});

describe('cluster2 logs: other layouts', () => {
  it("reads per-worker files (files: 'worker'), only the wanted worker's with --worker", async () => {
    await writeMaster({ dir: logsDir, files: 'worker', format: 'text' });
    writeLines('w0.out.log', [outLine(0), outLine(2)]);
    writeLines('w1.out.log', [outLine(1), outLine(3)]);
    writeLines('w1.err.log', [errLine(1)]);
    writeLines('out.log', ['[w5 5] not a per-worker file']);
    expect((await logs()).lines).toEqual([outLine(0), outLine(1), errLine(1), outLine(2), outLine(3)]);
    expect((await logs('--worker', 'w1')).lines).toEqual([outLine(1), errLine(1), outLine(3)]);
    expect((await logs('--worker', 'w1', '--err')).lines).toEqual([errLine(1)]);
  });

  it("keeps JSON lines as they are (format: 'json'), filtering on their worker, pid and stream fields", async () => {
    await writeMaster({ dir: logsDir, files: 'stream', format: 'json' });
    const json = (i: number, stream: string, extra: object = {}): string =>
      JSON.stringify({ time: iso(T0 + i), app: 'api', worker: `w${i % 2}`, pid: 501 + (i % 2), stream, msg: `m${i}`, ...extra });
    // A pino line keeps its own numeric time and level, with the labels added.
    const pino = JSON.stringify({ level: 30, time: T0 + 3, msg: 'hi', worker: 'w1', stream: 'out', app: 'api', pid: 502 });
    writeLines('out.log', [json(0, 'out'), json(1, 'out'), pino]);
    writeLines('err.log', [json(2, 'err')]);
    expect((await logs()).lines).toEqual([json(0, 'out'), json(1, 'out'), json(2, 'err'), pino]);
    expect((await logs('--worker', 'w1')).lines).toEqual([json(1, 'out'), pino]);
    expect((await logs('--worker', '501', '--json')).lines).toEqual([json(0, 'out'), json(2, 'err')]);
  });

  it('without times in the lines, counts --lines per file and prints out.log, then err.log', async () => {
    await writeMaster({ dir: logsDir, files: 'stream', format: 'text' });
    writeLines('out.log', ['[w0 501] o1', '[w0 501] o2', '[w0 501] o3']);
    writeLines('err.log', ['[w1 502] e1', '[w1 502] e2']);
    expect((await logs('--lines', '2')).lines).toEqual(['[w0 501] o2', '[w0 501] o3', '[w1 502] e1', '[w1 502] e2']);
    expect((await logs('--lines', '1', '--json')).lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { worker: 'w0', pid: 501, stream: 'out', msg: 'o3' },
      { worker: 'w1', pid: 502, stream: 'err', msg: 'e2' },
    ]);
  });
});

describe('cluster2 logs --follow (the built CLI)', () => {
  beforeAll(() => {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: build @cluster2/core first`);
  });

  it('prints an appended line within 1 s and survives a rename and recreate and a truncation, printing no line twice', async () => {
    await writeMaster({ dir: logsDir, files: 'stream', format: 'text' });
    const out = path.join(logsDir, 'out.log');
    writeLines('out.log', ['[w0 501] before 1', '[w0 501] before 2']);
    const child = spawn(process.execPath, [CLI, 'logs', '--pids', pidsDir, '--follow', '--lines', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const printed = (): string[] => stdout.split('\n').filter(Boolean);
    await waitFor(() => printed().length === 1, 5000, 'the last line');
    expect(printed()).toEqual(['[w0 501] before 2']);

    // err.log appears only now: followed from its start.
    const latencies: number[] = [];
    const append = async (file: string, line: string, expectedCount: number): Promise<void> => {
      const at = Date.now();
      fs.appendFileSync(file, `${line}\n`);
      await waitFor(() => printed().length >= expectedCount, 3000, `'${line}' printed (stderr: ${stderr})`);
      latencies.push(Date.now() - at);
    };
    await append(out, '[w0 501] appended', 2);
    await append(path.join(logsDir, 'err.log'), '[w1 502] first err', 3);

    // logrotate's rename: a line still written to the moved file, then a new file under the name.
    fs.renameSync(out, `${out}.1`);
    fs.appendFileSync(`${out}.1`, '[w0 501] late line in the moved file\n');
    await append(out, '[w0 501] in the new file', 5);

    // copytruncate: the file shrinks under the reader.
    fs.truncateSync(out, 0);
    await append(out, '[w0 501] after truncation', 6);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(printed()).toEqual([
      '[w0 501] before 2',
      '[w0 501] appended',
      '[w1 502] first err',
      '[w0 501] late line in the moved file',
      '[w0 501] in the new file',
      '[w0 501] after truncation',
    ]);
    expect(Math.max(...latencies)).toBeLessThan(1000);
    expect(stderr).toBe('');
  });
});

describe('cluster2 logs --follow with per-worker files (the built CLI)', () => {
  it("picks up a worker's file that appears later, and keeps --worker to that worker's files", async () => {
    await writeMaster({ dir: logsDir, files: 'worker', format: 'text' });
    writeLines('w0.out.log', ['[w0 501] w0 before']);
    const all = spawn(process.execPath, [CLI, 'logs', '--pids', pidsDir, '-f'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const onlyW2 = spawn(process.execPath, [CLI, 'logs', '--pids', pidsDir, '-f', '--worker', 'w2'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(all, onlyW2);
    let allOut = '';
    let w2Out = '';
    all.stdout.setEncoding('utf8').on('data', (s: string) => (allOut += s));
    onlyW2.stdout.setEncoding('utf8').on('data', (s: string) => (w2Out += s));
    await waitFor(() => allOut === '[w0 501] w0 before\n', 5000, 'the existing line');
    // A worker forked later (instance 2) gets its files now.
    writeLines('w2.out.log', ['[w2 503] w2 first']);
    fs.appendFileSync(path.join(logsDir, 'w0.out.log'), '[w0 501] w0 after\n');
    await waitFor(() => allOut.split('\n').filter(Boolean).length === 3 && w2Out !== '', 3000, 'the new lines');
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(allOut.split('\n').filter(Boolean).sort()).toEqual(['[w0 501] w0 after', '[w0 501] w0 before', '[w2 503] w2 first']);
    expect(w2Out).toBe('[w2 503] w2 first\n');
  });
});

describe('cluster2 logs through the monitor (no logs.dir)', () => {
  const rec = (i: number, extra: Partial<LogRecord> = {}): LogRecord => ({
    time: T0 + i,
    worker: `w${i % 2}`,
    pid: 501 + (i % 2),
    stream: i % 3 === 0 ? 'err' : 'out',
    msg: `line ${i}`,
    ...extra,
  });

  beforeEach(async () => {
    monitor = await startTestMonitor();
    monitor.source.logRecords = range(20).map((i) => rec(i));
    await writeMaster({ dir: null, files: 'stream', format: 'text' }, { host: '127.0.0.1', port: monitor.port });
  });

  it('prints the recent lines GET /api/logs answers, filtered, in the text format with their time', async () => {
    expect((await logs('--lines', '2')).lines).toEqual([`${iso(T0 + 18)} [w0 501] line 18`, `${iso(T0 + 19)} [w1 502] line 19`]);
    expect((await logs('--lines', '2', '--err', '--worker', 'w1')).lines).toEqual([`${iso(T0 + 9)} [w1 502] line 9`, `${iso(T0 + 15)} [w1 502] line 15`]);
    expect((await logs('--lines', '1', '--worker', '501', '--json')).lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { time: iso(T0 + 18), worker: 'w0', pid: 501, stream: 'err', msg: 'line 18' },
    ]);
    expect(monitor!.source.logQueries.slice(0, 3)).toEqual([{ lines: 2 }, { lines: 2, worker: 'w1', stream: 'err' }, { lines: 10_000 }]);
  });

  it('--follow prints the lines of later logs events once each', async () => {
    const c = collector();
    const stop = new AbortController();
    const running = runLogs({ pids: pidsDir, json: false, lines: 1, errOnly: false, follow: true, reopen: false }, c.io, {
      signal: stop.signal,
      token: undefined,
    });
    await waitFor(() => c.lines().length === 1 && monitor!.monitor !== undefined && monitor!.source.listenerCount('logs') === 1, 5000, 'the stream');
    monitor!.source.emit('logs', [rec(19), rec(20), rec(21)]);
    await waitFor(() => c.lines().length === 3, 3000, 'the new lines');
    stop.abort();
    expect(await running).toBe(0);
    expect(c.lines()).toEqual([19, 20, 21].map((i) => `${iso(T0 + i)} [w${i % 2} ${501 + (i % 2)}] line ${i}`));
  });

  it('--reopen asks the master through POST /api/logs/reopen', async () => {
    const result = await logs('--reopen');
    expect(result.code).toBe(0);
    expect(result.lines[0]).toMatch(/^master \d+ reopened its log files$/);
    expect(monitor!.source.calls).toEqual(['reopen-logs']);
  });

  it('exits 1 with the reason when the monitor does not answer', async () => {
    const port = monitor!.port;
    await monitor!.close();
    monitor = undefined;
    const result = await logs();
    expect(result.code).toBe(1);
    expect(result.err).toContain(`monitor at 127.0.0.1:${port}: connect ECONNREFUSED`);
  });
});

describe('cluster2 logs errors', () => {
  it('exits 3 when no master runs in the pids directory', async () => {
    const result = await logs();
    expect(result.code).toBe(3);
    expect(result.err).toMatch(/no cluster2 master is running/);
  });

  it.each([
    [['--lines', '0'], /--lines must be a whole number from 1 to 100000/],
    [['--lines', 'ten'], /--lines must be a whole number/],
    [['--worker', 'api'], /--worker must be a worker label/],
    [['--reopen', '--follow'], /--reopen takes no other logs option/],
    [['--bogus'], /Unknown option '--bogus'/],
  ])('exits 2 with the usage for logs %j', async (args, message) => {
    const c = collector();
    expect(await runCli(['logs', ...args], c.io)).toBe(2);
    expect(c.err()).toMatch(message);
    expect(c.err()).toContain(USAGE);
  });

  it('exits 2 when a logs option is given to another command', async () => {
    const c = collector();
    expect(await runCli(['status', '--follow'], c.io)).toBe(2);
    expect(c.err()).toContain("--follow is an option of 'cluster2 logs', not of 'status'");
  });

  it("exits 1 naming logs: 'inherit' when the master captures nothing", async () => {
    await writeMaster(null);
    const result = await logs();
    expect(result.code).toBe(1);
    expect(result.err).toContain("does not capture its workers' output");
  });

  it('exits 1 when there are neither files nor a monitor; --reopen without a monitor exits 0 saying none is needed', async () => {
    await writeMaster({ dir: null, files: 'stream', format: 'text' });
    const result = await logs();
    expect(result.code).toBe(1);
    expect(result.err).toContain('writes no log files (logs.dir) and has no monitor');
    const reopen = await logs('--reopen');
    // Exit 0: logrotate's postrotate runs it, and the master reopens by itself.
    expect(reopen.code).toBe(0);
    expect(reopen.lines.join('\n')).toContain('notices a moved or removed log file by itself within a second');
  });
});
