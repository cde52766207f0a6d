// `cluster2 logs` (the built binary) against a live master that captures its workers' output:
// from the files in logs.dir, and through the monitor when the master writes no files. The
// workers print on request (GET /print), so every line checked is one this test caused.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliPath, Fixture, getStatus, request, tempDir, until, type Endpoints } from './helpers.js';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<CliResult> {
  const { CLUSTER2_MON_TOKEN: _inherited, ...env } = process.env;
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { timeout: 30_000, killSignal: 'SIGKILL', env }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

/** `cluster2 logs … --follow` running: what it printed so far. */
function follow(args: string[]): { child: ChildProcess; out: () => string[] } {
  const child = spawn(process.execPath, [cliPath, 'logs', ...args, '--follow'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  return { child, out: () => stdout.split('\n').filter(Boolean) };
}

const children: ChildProcess[] = [];
const fixtures: Fixture[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const fixture of fixtures) fixture.kill();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

async function startCluster(logs: object): Promise<{ pids: string; endpoints: Endpoints; instanceOf: Map<number, number> }> {
  const root = tempDir('logs-cli');
  dirs.push(root);
  const pids = path.join(root, 'pids');
  const fixture = new Fixture({ noWorkers: 2, heartbeatInterval: 200, pids, logs: JSON.parse(JSON.stringify(logs).replaceAll('<root>', root)) as object });
  fixtures.push(fixture);
  const endpoints = await fixture.ready();
  const status = (await getStatus(endpoints.monPort)) as unknown as { workers: Array<{ pid: number; instance: number }> };
  return { pids, endpoints, instanceOf: new Map(status.workers.map((w) => [w.pid, w.instance])) };
}

/** Has a worker print `text` (on stderr with `err`); resolves with that worker's pid. */
async function print(port: number, text: string, err = false): Promise<number> {
  const answer = await request(port, `/print?text=${encodeURIComponent(text)}${err ? '&stream=err' : ''}`);
  expect(answer.status).toBe(200);
  return Number(/printed by (\d+)/.exec(answer.body)![1]);
}

describe('cluster2 logs against a live master writing logs.dir', () => {
  let cluster: Awaited<ReturnType<typeof startCluster>>;
  const printed: Array<{ pid: number; text: string; err: boolean }> = [];

  it('prints the lines the workers wrote, labelled with their instance and pid', async () => {
    cluster = await startCluster({ dir: '<root>/logs', time: true });
    for (let i = 0; i < 6; i++) printed.push({ pid: await print(cluster.endpoints.port, `hello ${i}`), text: `hello ${i}`, err: false });
    printed.push({ pid: await print(cluster.endpoints.port, 'something failed', true), text: 'something failed', err: true });
    let result: CliResult = { code: -1, stdout: '', stderr: '' };
    await until(
      async () => (result = await cli(['logs', '--pids', cluster.pids, '--lines', '200'])).stdout.includes('something failed'),
      10_000,
      'the lines in the files',
    );
    expect(result.code).toBe(0);
    for (const { pid, text } of printed) {
      const label = `[w${cluster.instanceOf.get(pid)} ${pid}] ${text}`;
      expect(
        result.stdout.split('\n').filter((line) => line.endsWith(label) && /^\d{4}-\d\d-\d\dT/.test(line)),
        label,
      ).toHaveLength(1);
    }
  });

  it('--err, --worker <pid> and --json filter and shape them', async () => {
    const err = await cli(['logs', '--pids', cluster.pids, '--err']);
    expect(err.stdout).toContain('something failed');
    expect(err.stdout).not.toContain('hello');
    const pid = printed[0]!.pid;
    const mine = await cli(['logs', '--pids', cluster.pids, '--worker', String(pid), '--json', '--lines', '200']);
    const records = mine.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { worker: string; pid: number; stream: string; msg: string; time: string });
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((r) => r.pid === pid && r.worker === `w${cluster.instanceOf.get(pid)}`)).toBe(true);
    expect(records.filter((r) => r.msg.startsWith('hello ')).map((r) => r.msg)).toEqual(printed.filter((p) => p.pid === pid && !p.err).map((p) => p.text));
  });

  it('--follow prints a line a worker writes afterwards within 1 s, once', async () => {
    const following = follow(['--pids', cluster.pids, '--lines', '1']);
    await until(() => following.out().length === 1, 10_000, 'the last line');
    const at = Date.now();
    await print(cluster.endpoints.port, 'followed line');
    await until(() => following.out().some((line) => line.endsWith('followed line')), 5000, 'the followed line');
    const latency = Date.now() - at;
    expect(latency).toBeLessThan(1000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(following.out().filter((line) => line.endsWith('followed line'))).toHaveLength(1);
    following.child.kill();
  });

  it('--reopen asks the master to reopen its files', async () => {
    const result = await cli(['logs', '--pids', cluster.pids, '--reopen']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^master \d+ reopened its log files\n$/);
  });
});

describe('cluster2 logs against a live master without logs.dir (through the monitor)', () => {
  it('prints the recent lines and follows new ones over the event stream', async () => {
    const cluster = await startCluster({});
    const pid = await print(cluster.endpoints.port, 'kept in memory');
    let result: CliResult = { code: -1, stdout: '', stderr: '' };
    await until(async () => (result = await cli(['logs', '--pids', cluster.pids])).stdout.includes('kept in memory'), 10_000, 'the line in the monitor');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\[w${cluster.instanceOf.get(pid)} ${pid}\\] kept in memory$`, 'm'));

    const following = follow(['--pids', cluster.pids, '--lines', '1']);
    await until(() => following.out().some((line) => line.endsWith('kept in memory')), 10_000, 'the recent line');
    await print(cluster.endpoints.port, 'sent live');
    await until(() => following.out().some((line) => line.endsWith('sent live')), 5000, 'the live line');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(following.out().filter((line) => line.endsWith('sent live') || line.endsWith('kept in memory'))).toHaveLength(2);
    following.child.kill();
  });
});
