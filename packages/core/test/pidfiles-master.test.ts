// Real masters on a pids directory: a SIGKILLed master's files are taken over, a second master on
// a live directory is refused, planted symlinks are never written through, and a directory that
// cannot be written gives ERR_CLUSTER2_PIDS_UNWRITABLE instead of a raw EACCES.
import { execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, fixturesDir, isAlive, killAll, request, tempDir, until } from './helpers.js';

const cliPath = path.join(fixturesDir, '..', '..', 'dist', 'cli.js');
const running: Fixture[] = [];
const dirs: string[] = [];
afterEach(() => {
  killAll(running.splice(0));
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function dir(prefix: string): string {
  const made = tempDir(prefix);
  dirs.push(made);
  return made;
}

function start(options: object, env: Record<string, string> = {}, cwd?: string): Fixture {
  const fixture = new Fixture('http-app.mjs', { port: 0, host: '127.0.0.1', monitor: false, noWorkers: 2, ...options }, env, cwd);
  running.push(fixture);
  return fixture;
}

/** The real `cluster2` binary, asynchronously: this process keeps reaping the masters it spawned. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

const read = (file: string) => fs.readFileSync(file, 'utf8');

describe('a master SIGKILLed with its pid files left behind', () => {
  it('the CLI exits 3 (pid not alive), and a new master takes the directory over', async () => {
    const pids = dir('pids-killed');
    const first = start({ pids });
    await first.ready();
    const oldWorkers = first.workerPids();
    first.child.kill('SIGKILL');
    await first.exited;
    await until(() => oldWorkers.every((pid) => !isAlive(pid)), 10_000, 'the orphaned workers to exit');
    expect(fs.readdirSync(pids)).toContain('master.json');

    const result = await cli(['shutdown', '--pids', pids]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`names pid ${first.pid}, which is not alive`);

    const second = start({ pids });
    const port = await second.ready();
    expect((await request(port, '/')).status).toBe(200);
    expect(JSON.parse(read(path.join(pids, 'master.json'))).pid).toBe(second.pid);
    expect(read(path.join(pids, 'master.pid'))).toBe(`${second.pid}\n`);
    // The dead master's worker files are gone; only the new workers' remain.
    const expected = ['master.json', 'master.pid', ...second.workerPids().map((pid) => `worker-${pid}.pid`)].sort();
    expect(fs.readdirSync(pids).sort()).toEqual(expected);
    const stopped = await cli(['shutdown', '--pids', pids]);
    expect(stopped.code).toBe(0);
    await second.waitForExit();
    expect(fs.readdirSync(pids)).toEqual([]);
  });
});

describe('a second master on a live pids directory', () => {
  it.each([
    ['cluster: true', {}],
    ['cluster: false', { cluster: false }],
    ['with the monitor on', { monitor: true, monHost: '127.0.0.1', monPort: 0 }],
  ])('%s: refused with ERR_CLUSTER2_PIDS_IN_USE and exit 1, no worker forked, the first untouched and reachable', async (_name, extra) => {
    const pids = dir('pids-in-use');
    const first = start({ pids, ...extra });
    const firstPort = await first.ready();
    const before = Object.fromEntries(fs.readdirSync(pids).map((name) => [name, read(path.join(pids, name))]));

    const second = start({ pids, ...extra });
    await second.waitForExit();
    expect(second.exitCode).toBe(1);
    expect(second.stderr).toContain(`pids directory ${pids} belongs to a running cluster2 master (pid ${first.pid}, 127.0.0.1:${firstPort}`);
    if ('monitor' in extra) expect(second.stderr).toMatch(/, monitor 127\.0\.0\.1:\d+\); stop that master first/);
    expect(second.stderr).toContain('(ERR_CLUSTER2_PIDS_IN_USE)');
    expect(second.events('forked')).toHaveLength(0);

    const after = Object.fromEntries(fs.readdirSync(pids).map((name) => [name, read(path.join(pids, name))]));
    expect(after).toEqual(before);
    expect(first.running).toBe(true);
    const status = await cli(['status', '--pids', pids]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^master ${first.pid} {2}running`));
    expect((await request(firstPort, '/')).status).toBe(200);
  });

  it('with an error listener, listen() rejects with ERR_CLUSTER2_PIDS_IN_USE', async () => {
    const pids = dir('pids-in-use');
    const first = start({ pids });
    await first.ready();
    const second = start({ pids }, { FIXTURE_ERROR_LISTENER: '1' });
    const rejected = await second.waitFor('listen-rejected');
    expect(rejected.code).toBe('ERR_CLUSTER2_PIDS_IN_USE');
    expect(second.events('forked')).toHaveLength(0);
    expect(read(path.join(pids, 'master.pid'))).toBe(`${first.pid}\n`);
  });
});

describe('a stale master.pid naming a live unrelated process', () => {
  it('a new master takes the directory over and leaves that process alone', async () => {
    const pids = dir('pids-stale');
    const stranger = spawn('sleep', ['100'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(path.join(pids, 'master.pid'), `${stranger.pid}\n`);
      fs.writeFileSync(
        path.join(pids, 'master.json'),
        JSON.stringify({ pid: stranger.pid, ports: [1], host: '127.0.0.1', monitor: null, startedAt: 1, startTime: 'proc:x:1', command: 'node app.js' }),
      );
      fs.writeFileSync(path.join(pids, 'worker-999999.pid'), '999999\n');
      const f = start({ pids });
      await f.ready();
      expect(read(path.join(pids, 'master.pid'))).toBe(`${f.pid}\n`);
      expect(fs.readdirSync(pids)).not.toContain('worker-999999.pid');
      expect(isAlive(stranger.pid!)).toBe(true);
      expect(stranger.signalCode).toBeNull();
    } finally {
      stranger.kill('SIGKILL');
    }
  });
});

describe('a symlinked master.pid', () => {
  it('after a master starts and stops, the file it pointed at is unchanged', async () => {
    const pids = dir('pids-symlink');
    const outside = path.join(dir('outside'), 'precious.txt');
    fs.writeFileSync(outside, 'do not overwrite\n');
    fs.symlinkSync(outside, path.join(pids, 'master.pid'));
    const f = start({ pids });
    await f.ready();
    expect(fs.lstatSync(path.join(pids, 'master.pid')).isSymbolicLink()).toBe(false);
    expect(read(path.join(pids, 'master.pid'))).toBe(`${f.pid}\n`);
    expect(read(outside)).toBe('do not overwrite\n');
    f.send('shutdown');
    await f.waitForExit();
    expect(f.exitCode).toBe(0);
    expect(read(outside)).toBe('do not overwrite\n');
    expect(fs.readdirSync(pids)).toEqual([]);
  });
});

describe('a pids directory that cannot be written', () => {
  it('default pids under a working directory where ./pids is impossible (a file is in the way: ENOTDIR): ERR_CLUSTER2_PIDS_UNWRITABLE, exit 1', async () => {
    const cwd = dir('cwd-file');
    fs.writeFileSync(path.join(cwd, 'pids'), 'a regular file\n');
    const f = start({ pids: './pids/run' }, {}, cwd);
    await f.waitForExit();
    expect(f.exitCode).toBe(1);
    expect(f.stderr).toContain(`option pids: cannot create or write the pid-file directory ${path.join(cwd, 'pids', 'run')} (ENOTDIR`);
    expect(f.stderr).toContain('set pids to a writable directory, or pids: false');
    expect(f.stderr).toContain('(ERR_CLUSTER2_PIDS_UNWRITABLE)');
    expect(f.stderr).not.toMatch(/^\s+at /m);
    expect(f.events('forked')).toHaveLength(0);
  });

  it('./pids itself a regular file (default options): ERR_CLUSTER2_PIDS_UNWRITABLE, exit 1', async () => {
    const cwd = dir('cwd-file');
    fs.writeFileSync(path.join(cwd, 'pids'), 'a regular file\n');
    const f = new Fixture('http-app.mjs', { port: 0, host: '127.0.0.1', monitor: false, noWorkers: 1 }, {}, cwd);
    running.push(f);
    await f.waitForExit();
    expect(f.exitCode).toBe(1);
    expect(f.stderr).toContain(`${path.join(cwd, 'pids')} (ENOTDIR: ${path.join(cwd, 'pids')} exists and is not a directory)`);
    expect(f.events('forked')).toHaveLength(0);
  });

  it('under /proc, where mkdir answers ENOENT (Node’s recursive mkdir would spin there forever): the error, exit 1', async () => {
    const f = start({ pids: '/proc/cluster2-no-such/pids', cluster: false });
    await f.waitForExit(15_000);
    expect(f.exitCode).toBe(1);
    expect(f.stderr).toContain('option pids: cannot create or write the pid-file directory /proc/cluster2-no-such/pids (ENOENT');
  });

  // Root can drop to nobody only where nobody can also read the checkout (a clone under a 0700
  // temporary directory cannot be): otherwise there is nothing to run as nobody.
  const nobodyCanRun = () =>
    spawnSync('/usr/bin/setpriv', [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      process.execPath,
      '-e',
      `require('fs').accessSync(${JSON.stringify(path.join(fixturesDir, 'http-app.mjs'))}, require('fs').constants.R_OK)`,
    ]).status === 0;
  const unprivileged = fs.existsSync('/usr/bin/setpriv') && process.getuid?.() === 0 && nobodyCanRun();
  it.runIf(unprivileged)(
    'a read-only working directory (0555) with default options, run as nobody: EACCES becomes ERR_CLUSTER2_PIDS_UNWRITABLE, exit 1',
    async () => {
      const cwd = dir('cwd-readonly');
      fs.chmodSync(cwd, 0o555);
      const child = spawn('/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, path.join(fixturesDir, 'http-app.mjs')], {
        cwd,
        env: { ...process.env, FIXTURE_OPTIONS: JSON.stringify({ port: 0, host: '127.0.0.1', monitor: false, noWorkers: 1 }) },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
      expect(stderr).toContain(`option pids: cannot create or write the pid-file directory ${path.join(fs.realpathSync(cwd), 'pids')} (EACCES`);
      expect(stderr).toContain('(ERR_CLUSTER2_PIDS_UNWRITABLE)');
      expect(code).toBe(1);
      expect(fs.readdirSync(cwd)).toEqual([]);
    },
  );
});
