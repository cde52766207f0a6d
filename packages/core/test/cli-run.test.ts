import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, USAGE } from '../src/cli/run.js';
import { PidFiles } from '../src/primary/pidfiles.js';
// Zombie-aware: the CLI returns once the master has exited, before this process (its parent) reaps it.
import { collector, isAlive, tempDir } from './helpers.js';
import { startTestMonitor, waitFor, type TestMonitor } from './monitor-helpers.js';

// Stands in for a master: records the signals it gets; exits on SIGTERM/SIGQUIT, stays on SIGUSR2.
const FAKE_MASTER = `
const fs = require('node:fs');
const marker = process.argv[1];
for (const sig of ['SIGTERM', 'SIGQUIT', 'SIGUSR2']) {
  process.on(sig, () => {
    fs.appendFileSync(marker, sig + '\\n');
    if (sig !== 'SIGUSR2') process.exit(0);
  });
}
setInterval(() => {}, 1000);
process.stdout.write('ready\\n');
`;

let tmp: string;
let pidsDir: string;
let children: ChildProcess[];
beforeEach(() => {
  tmp = tempDir('cli');
  pidsDir = path.join(tmp, 'pids');
  children = [];
});
afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function spawnFakeMaster(): Promise<{ child: ChildProcess; marker: string }> {
  const marker = path.join(tmp, 'signals.txt');
  const child = spawn(process.execPath, ['-e', FAKE_MASTER, marker], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`fake master exited early with ${code}`)));
  });
  return { child, marker };
}

function writeMaster(pid: number, monitor: { host: string; port: number } | null, workers: number[] = []): void {
  const files = new PidFiles(pidsDir);
  files.writeMaster({ pid, ports: [3000], host: '0.0.0.0', monitor, startedAt: Date.now() - 5000 });
  for (const worker of workers) files.writeWorker(worker);
}

const signalsIn = (marker: string): string[] => (fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8').split('\n').filter(Boolean) : []);

describe('cluster2 arguments', () => {
  it('--help prints usage and exits 0', async () => {
    const c = collector();
    expect(await runCli(['--help'], c.io)).toBe(0);
    expect(c.out()).toBe(USAGE);
    expect(await runCli(['status', '-h'], collector().io)).toBe(0);
  });

  it.each([
    [[]],
    [['--bogus', 'status']],
    [['frobnicate']],
    [['status', 'stop']],
    [['status', '--pids']],
    [['status', '--json=yes']],
    [['stop', '--pids', '']],
  ])('exits 2 with usage on stderr for %j', async (argv) => {
    const c = collector();
    expect(await runCli(argv, c.io)).toBe(2);
    expect(c.err()).toContain('Usage: cluster2');
    expect(c.out()).toBe('');
  });
});

describe('cluster2 with no master running', () => {
  it.each(['status', 'stop', 'shutdown', 'reload'])('%s exits 3 naming the pids directory', async (command) => {
    const c = collector();
    expect(await runCli([command, '--pids', pidsDir], c.io)).toBe(3);
    expect(c.err()).toContain('no cluster2 master is running');
    expect(c.err()).toContain(pidsDir);
  });

  it('exits 3 when master.pid names a process that is gone', async () => {
    const { child } = await spawnFakeMaster();
    writeMaster(child.pid ?? 0, null);
    child.kill('SIGKILL');
    await waitFor(() => child.exitCode !== null || child.signalCode !== null, 3000, 'fake master to die');
    const c = collector();
    expect(await runCli(['status', '--pids', pidsDir], c.io)).toBe(3);
    expect(c.err()).toContain('not alive');
  });
});

describe('cluster2 status', () => {
  let t: TestMonitor;
  beforeEach(async () => {
    t = await startTestMonitor();
  });
  afterEach(async () => {
    await t.close();
  });

  it('prints the master line, ECV state and a row per worker from the monitor', async () => {
    const { child } = await spawnFakeMaster();
    writeMaster(child.pid ?? 0, { host: '127.0.0.1', port: t.port });
    const c = collector();
    expect(await runCli(['status', '--pids', pidsDir], c.io)).toBe(0);
    const lines = c.out().split('\n');
    expect(lines[0]).toMatch(/^master 4100 {2}running {2}up 2m 0s/);
    expect(c.out()).toContain('ECV enabled');
    expect(c.out()).toMatch(/requests 600 .*restarts crash=1 maxMemory=2/);
    const header = lines.findIndex((l) => l.startsWith('PID'));
    expect(lines[header]).toMatch(
      /^PID\s+ID\s+INSTANCE\s+STATE\s+UPTIME\s+RSS MiB\s+HEAP MiB\s+CPU %\s+LOOP ms\s+CONNS\s+UPGRADED\s+REQUESTS\s+IN-FLIGHT\s+RESTARTS$/,
    );
    expect(lines.slice(header + 1, header + 3).map((l) => l.split(/\s+/).slice(0, 6))).toEqual([
      ['4101', '1', '0', 'listening', '1m', '0s'],
      ['4102', '2', '1', 'listening', '1m', '0s'],
    ]);
    expect(c.err()).toBe('');
  });

  it('--json prints the /api/status document', async () => {
    const { child } = await spawnFakeMaster();
    writeMaster(child.pid ?? 0, { host: '0.0.0.0', port: t.port }); // a wildcard bind is reached via loopback
    const c = collector();
    expect(await runCli(['status', '--json', '--pids', pidsDir], c.io)).toBe(0);
    expect(JSON.parse(c.out())).toEqual(JSON.parse(JSON.stringify(t.source.status())));
  });

  it('without a monitor prints the master pid and the worker pids from the pid files', async () => {
    const { child } = await spawnFakeMaster();
    writeMaster(child.pid ?? 0, null, [5002, 5001]);
    const c = collector();
    expect(await runCli(['status', '--pids', pidsDir], c.io)).toBe(0);
    expect(c.out()).toMatch(new RegExp(`^master ${child.pid} {2}running`));
    expect(c.out()).toContain('workers 5001 5002');
    const json = collector();
    expect(await runCli(['status', '--json', '--pids', pidsDir], json.io)).toBe(0);
    expect(JSON.parse(json.out())).toMatchObject({ master: { pid: child.pid }, workers: [{ pid: 5001 }, { pid: 5002 }], monitor: null });
  });

  it('falls back to the pid files, with a note on stderr, when the monitor does not answer', async () => {
    const { child } = await spawnFakeMaster();
    const port = t.port;
    await t.monitor.close();
    writeMaster(child.pid ?? 0, { host: '127.0.0.1', port }, [5001]);
    const c = collector();
    expect(await runCli(['status', '--pids', pidsDir], c.io)).toBe(0);
    expect(c.err()).toContain(`monitor at 127.0.0.1:${port} did not answer`);
    expect(c.out()).toContain('workers 5001');
  });
});

describe('cluster2 stop / shutdown / reload', () => {
  it('shutdown sends SIGTERM and resolves 0 once the master has exited', async () => {
    const { child, marker } = await spawnFakeMaster();
    writeMaster(child.pid ?? 0, null);
    const c = collector();
    expect(await runCli(['shutdown', '--pids', pidsDir], c.io)).toBe(0);
    expect(isAlive(child.pid ?? 0)).toBe(false);
    expect(signalsIn(marker)).toEqual(['SIGTERM']);
    expect(c.out()).toContain(`master ${child.pid} exited`);
  });

  it('stop sends SIGQUIT and waits for the exit', async () => {
    const { child, marker } = await spawnFakeMaster();
    writeMaster(child.pid ?? 0, null);
    expect(await runCli(['stop', '--pids', pidsDir], collector().io)).toBe(0);
    expect(isAlive(child.pid ?? 0)).toBe(false);
    expect(signalsIn(marker)).toEqual(['SIGQUIT']);
  });

  it('shutdown --no-wait returns once the signal is sent', async () => {
    const { child, marker } = await spawnFakeMaster();
    writeMaster(child.pid ?? 0, null);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const c = collector();
    expect(await runCli(['shutdown', '--no-wait', '--json', '--pids', pidsDir], c.io)).toBe(0);
    expect(JSON.parse(c.out())).toEqual({ command: 'shutdown', pid: child.pid, signal: 'SIGTERM', exited: false });
    await exited;
    expect(signalsIn(marker)).toEqual(['SIGTERM']);
  });

  it('reload --no-wait sends SIGUSR2 and returns at once while the master keeps running', async () => {
    const { child, marker } = await spawnFakeMaster();
    writeMaster(child.pid ?? 0, null);
    const c = collector();
    expect(await runCli(['reload', '--no-wait', '--pids', pidsDir], c.io)).toBe(0);
    expect(c.out()).toBe(`sent SIGUSR2 to master ${child.pid}\n`);
    await waitFor(() => signalsIn(marker).length === 1, 3000, 'SIGUSR2 to arrive');
    expect(signalsIn(marker)).toEqual(['SIGUSR2']);
    expect(isAlive(child.pid ?? 0)).toBe(true);
  });

  // The fake master cannot reload: the test writes the outcome a real master writes once the
  // signal has arrived (the real one is driven end to end in the reliability suite).
  it.each([
    ['succeeded', 0, undefined],
    ['failed', 4, { code: 'ERR_CLUSTER2_RELOAD_FAILED', message: 'worker 123 failed to start: SyntaxError: Unexpected token' }],
  ] as const)('reload waits for the outcome of the reload its signal started: %s → exit %d', async (state, exitCode, error) => {
    const { child, marker } = await spawnFakeMaster();
    writeMaster(child.pid ?? 0, null);
    // An outcome from before the signal must not count.
    new PidFiles(pidsDir).writeReload({ state: 'succeeded', startedAt: Date.now() - 60_000, endedAt: Date.now() - 59_000 });
    const c = collector();
    const exit = runCli(['reload', '--pids', pidsDir], c.io);
    await waitFor(() => signalsIn(marker).length === 1, 3000, 'SIGUSR2 to arrive');
    await new Promise((resolve) => setTimeout(resolve, 300));
    new PidFiles(pidsDir).writeReload({ state: 'running', startedAt: Date.now() });
    await new Promise((resolve) => setTimeout(resolve, 300));
    new PidFiles(pidsDir).writeReload({ state, startedAt: Date.now() - 300, endedAt: Date.now(), error });
    expect(await exit).toBe(exitCode);
    if (error) expect(c.err()).toContain('SyntaxError: Unexpected token');
    else expect(c.out()).toMatch(/reload finished in \d+ ms/);
  });

  it('reload gives up waiting after --timeout with exit 5', async () => {
    const { child } = await spawnFakeMaster();
    writeMaster(child.pid ?? 0, null);
    const c = collector();
    expect(await runCli(['reload', '--timeout', '300', '--pids', pidsDir], c.io)).toBe(5);
    expect(c.err()).toContain('no reload outcome within 300 ms');
  });
});
