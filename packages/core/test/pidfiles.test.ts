// Pid files that cannot hurt anyone: a stale master.pid naming a live stranger is reported, never
// signalled; writes and removals never follow a symlink planted in the pids directory.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { PidFiles, inspectMaster } from '../src/primary/pidfiles.js';
import { fromPs, identityMismatch, parseProcStat, processIdentity } from '../src/primary/process-identity.js';
import { collector, fixturesDir, isAlive, tempDir, until } from './helpers.js';

let tmp: string;
let pidsDir: string;
let children: ChildProcess[];
beforeEach(() => {
  tmp = tempDir('pidfiles');
  pidsDir = path.join(tmp, 'pids');
  children = [];
});
afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** An unrelated live process: what a stale pid file names after pid reuse. */
async function spawnStranger(): Promise<ChildProcess> {
  const child = spawn('sleep', ['100'], { stdio: 'ignore' });
  children.push(child);
  await until(() => processIdentity(child.pid ?? 0)?.command === 'sleep 100', 5000, 'sleep 100 to run');
  return child;
}

/** master.pid and master.json as a master that has since died would have left them, naming `pid`. */
function writeStale(pid: number, extra: object = { startTime: processIdentity(process.pid)!.startTime, command: 'node app.js' }): void {
  fs.mkdirSync(pidsDir, { recursive: true });
  fs.writeFileSync(path.join(pidsDir, 'master.pid'), `${pid}\n`);
  fs.writeFileSync(
    path.join(pidsDir, 'master.json'),
    JSON.stringify({ pid, ports: [3000], host: '127.0.0.1', monitor: null, startedAt: Date.now() - 60_000, ...extra }),
  );
}

/** Runs the control script (fixtures/control.mjs) asynchronously; it exits 4 with `code: message` when the call rejects. */
function control(action: string): Promise<{ status: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(fixturesDir, 'control.mjs'), action, pidsDir], { timeout: 20_000 }, (error, stdout) => {
      if (error && typeof error.code !== 'number') reject(new Error(error.message, { cause: error }));
      else resolve({ status: error ? (error.code as number) : 0, stdout });
    });
  });
}

describe('/proc/<pid>/stat parsing', () => {
  it('takes the fields after the last ")": a command with spaces and parentheses does not shift starttime', () => {
    const rest = 'S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20 21';
    expect(parseProcStat(`42 (my (odd) name) ${rest}`)).toEqual({ state: 'S', startTicks: '987654' });
    expect(parseProcStat(`42 (a) b) c) ${rest}`)).toEqual({ state: 'S', startTicks: '987654' });
    expect(parseProcStat('42 (truncated) S 1 2')).toBeUndefined();
  });

  it('reads this process: exact start time with the boot id, and its command line', () => {
    const own = processIdentity(process.pid)!;
    expect(own.exact).toBe(true);
    expect(own.startTime).toMatch(/^proc:[0-9a-f-]{36}:\d+$/);
    expect(own.command).toContain(process.execPath);
    expect(Math.abs(Date.parse(own.started) - (Date.now() - process.uptime() * 1000))).toBeLessThan(5000);
    expect(processIdentity(2 ** 22 + 1)).toBeUndefined();
  });
});

describe('without /proc: ps -o lstart=', () => {
  const hasPs = fs.existsSync('/usr/bin/ps') || fs.existsSync('/bin/ps');
  it.runIf(hasPs)('reads a coarse start time and the command; a different command with the same second is not the master', async () => {
    const stranger = await spawnStranger();
    const live = fromPs(stranger.pid!)!;
    expect(live).toMatchObject({ exact: false, command: 'sleep 100', zombie: false });
    expect(live.startTime).toMatch(/^ps:\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}$/);
    expect(identityMismatch(stranger.pid!, { startTime: live.startTime, command: 'sleep 100' }, live)).toBeUndefined();
    expect(identityMismatch(stranger.pid!, { startTime: live.startTime, command: 'node app.js' }, live)).toBe(
      `pid ${stranger.pid} is \`sleep 100\`, not the master that wrote this file (\`node app.js\`)`,
    );
    expect(identityMismatch(stranger.pid!, { startTime: 'ps:Thu Jan  1 00:00:00 1970', command: 'sleep 100' }, live)).toMatch(/is alive but started at /);
    expect(fromPs(2 ** 22 + 1)).toBeUndefined();
  });
});

describe('a stale master.pid naming a live unrelated process (pid reuse)', () => {
  it.each([
    ['shutdown', 'SIGTERM'],
    ['stop', 'SIGQUIT'],
    ['reload', 'SIGUSR2'],
  ])('cluster2 %s does not signal it, says why, and exits 3', async (command) => {
    const stranger = await spawnStranger();
    writeStale(stranger.pid!);
    const c = collector();
    expect(await runCli([command, '--pids', pidsDir], c.io)).toBe(3);
    const err = c.err();
    expect(err).toContain(`stale pid file ${path.join(pidsDir, 'master.json')}`);
    expect(err).toContain(`pid ${stranger.pid} is alive but started at `);
    expect(err).toContain('`sleep 100`, not the master that wrote this file');
    expect(err).toContain('not signalling it');
    expect(c.out()).toBe('');
    // A signal would have ended sleep (none of these three is ignored by it).
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(isAlive(stranger.pid!)).toBe(true);
    expect(stranger.signalCode).toBeNull();
  });

  it('cluster2 status exits 3 naming the stale file', async () => {
    const stranger = await spawnStranger();
    writeStale(stranger.pid!);
    const c = collector();
    expect(await runCli(['status', '--pids', pidsDir], c.io)).toBe(3);
    expect(c.err()).toContain(`stale pid file ${path.join(pidsDir, 'master.json')}: pid ${stranger.pid} is alive`);
  });

  it('a control script: new Cluster({ pids }).shutdown() rejects with ERR_CLUSTER2_NOT_RUNNING and signals nothing', async () => {
    const stranger = await spawnStranger();
    writeStale(stranger.pid!);
    const result = await control('shutdown');
    expect(result.status).toBe(4);
    expect(result.stdout).toMatch(/^ERR_CLUSTER2_NOT_RUNNING: no cluster2 master is running: stale pid file .*master\.json: pid \d+ is alive but started at /);
    expect(isAlive(stranger.pid!)).toBe(true);
    expect(stranger.signalCode).toBeNull();
  });

  it('a master.pid with no master.json cannot be verified: exit 3, not signalled', async () => {
    const stranger = await spawnStranger();
    fs.mkdirSync(pidsDir, { recursive: true });
    fs.writeFileSync(path.join(pidsDir, 'master.pid'), `${stranger.pid}\n`);
    const c = collector();
    expect(await runCli(['shutdown', '--pids', pidsDir], c.io)).toBe(3);
    expect(c.err()).toContain(`stale pid file ${path.join(pidsDir, 'master.pid')}: pid ${stranger.pid} is alive, but there is no master.json to verify it`);
    expect(isAlive(stranger.pid!)).toBe(true);
  });

  it('a master.json of the old format (no start time) cannot be verified: exit 3, not signalled', async () => {
    const stranger = await spawnStranger();
    writeStale(stranger.pid!, {});
    const c = collector();
    expect(await runCli(['stop', '--pids', pidsDir], c.io)).toBe(3);
    expect(c.err()).toContain('it records no start time (an older cluster2 wrote it)');
    expect(isAlive(stranger.pid!)).toBe(true);
  });

  it('the same pid with the recorded start time is the master: it is signalled', async () => {
    const master = await spawnStranger();
    new PidFiles(pidsDir).writeMaster({ pid: master.pid!, ports: [3000], host: '127.0.0.1', monitor: null, startedAt: Date.now() });
    expect(inspectMaster(pidsDir).running).toBe(true);
    const c = collector();
    expect(await runCli(['shutdown', '--pids', pidsDir], c.io)).toBe(0);
    expect(c.out()).toContain(`master ${master.pid} exited`);
    await until(() => master.signalCode !== null, 5000, 'this process to reap the master');
    expect(master.signalCode).toBe('SIGTERM');
  });
});

describe('pid files are written and removed without following symlinks', () => {
  it('a symlinked master.pid and master.json are replaced, their targets untouched', () => {
    const outside = path.join(tmp, 'precious.txt');
    fs.writeFileSync(outside, 'do not overwrite\n');
    fs.mkdirSync(pidsDir);
    fs.symlinkSync(outside, path.join(pidsDir, 'master.pid'));
    fs.symlinkSync(outside, path.join(pidsDir, 'master.json'));
    fs.symlinkSync(outside, path.join(pidsDir, `worker-${process.pid}.pid`));
    const files = new PidFiles(pidsDir);
    files.writeMaster({ pid: process.pid, ports: [3000], host: '127.0.0.1', monitor: null, startedAt: Date.now() });
    files.writeWorker(process.pid);
    expect(fs.readFileSync(outside, 'utf8')).toBe('do not overwrite\n');
    expect(fs.lstatSync(path.join(pidsDir, 'master.pid')).isFile()).toBe(true);
    expect(fs.readFileSync(path.join(pidsDir, 'master.pid'), 'utf8')).toBe(`${process.pid}\n`);
    expect(fs.readFileSync(path.join(pidsDir, `worker-${process.pid}.pid`), 'utf8')).toBe(`${process.pid}\n`);
    files.removeAll([process.pid]);
    expect(fs.readdirSync(pidsDir)).toEqual([]);
    expect(fs.readFileSync(outside, 'utf8')).toBe('do not overwrite\n');
  });

  it('removal unlinks a symlink, not its target', () => {
    const outside = path.join(tmp, 'precious.txt');
    fs.writeFileSync(outside, 'keep\n');
    fs.mkdirSync(pidsDir);
    fs.symlinkSync(outside, path.join(pidsDir, 'worker-77.pid'));
    new PidFiles(pidsDir).removeWorker(77);
    expect(fs.existsSync(path.join(pidsDir, 'worker-77.pid'))).toBe(false);
    expect(fs.readFileSync(outside, 'utf8')).toBe('keep\n');
  });

  it("removeAll leaves another master's files where they are", () => {
    writeStale(1);
    new PidFiles(pidsDir).removeAll([]);
    expect(fs.readdirSync(pidsDir).sort()).toEqual(['master.json', 'master.pid']);
  });
});
