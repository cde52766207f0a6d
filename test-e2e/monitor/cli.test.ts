// The real `cluster2` binary against a live cluster, found only through its pid directory.
// execFile is async on purpose: the test process must keep reaping the fixture master it spawned,
// or `shutdown` (which waits for that pid to disappear) would wait on a zombie.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliPath, Fixture, isAlive, listeningPids, portClosed, tempDir, until, type Endpoints } from './helpers.js';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], timeout = 30_000, env: Record<string, string> = {}): Promise<CliResult> {
  const { CLUSTER2_MON_TOKEN: _inherited, ...base } = process.env;
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { timeout, killSignal: 'SIGKILL', env: { ...base, ...env } }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const fixtures: Fixture[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const fixture of fixtures.splice(0)) fixture.kill();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

async function startCluster(extra: object = {}): Promise<{ fixture: Fixture; pids: string; endpoints: Endpoints }> {
  const pids = tempDir('cli-pids');
  const logs = tempDir('cli-logs');
  dirs.push(pids, logs);
  const fixture = new Fixture({ noWorkers: 2, heartbeatInterval: 200, pids, logs, ...extra });
  fixtures.push(fixture);
  const endpoints = await fixture.ready();
  return { fixture, pids, endpoints };
}

describe('cluster2 CLI against a live cluster', () => {
  it('status prints a table naming both workers, and --json gives the status document', async () => {
    const { fixture, pids } = await startCluster();
    const workers = fixture.workerPids();
    expect(workers).toHaveLength(2);

    const table = await cli(['status', '--pids', pids]);
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`master ${fixture.pid}`);
    expect(table.stdout).toMatch(/^PID\s+ID\s+INSTANCE\s+STATE/m);
    for (const pid of workers) expect(table.stdout).toMatch(new RegExp(`^${pid}\\s+\\d+\\s+[01]\\s+listening\\b`, 'm'));

    const json = await cli(['status', '--pids', pids, '--json']);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as { master: { pid: number }; workers: Array<{ pid: number; state: string }>; ecv: { state: string } };
    expect(doc.master.pid).toBe(fixture.pid);
    expect(doc.workers).toHaveLength(2);
    expect(doc.workers.map((w) => w.pid).sort((a, b) => a - b)).toEqual([...workers].sort((a, b) => a - b));
    expect(doc.ecv.state).toBe('enabled');
  });

  it('status sends CLUSTER2_MON_TOKEN to a monitor with monToken; without it, says so and shows the pid files', async () => {
    const { fixture, pids } = await startCluster({ monToken: 'cli-token' });
    const without = await cli(['status', '--pids', pids]);
    expect(without.code).toBe(0);
    expect(without.stderr).toMatch(/HTTP 401: set CLUSTER2_MON_TOKEN to its monToken\); showing pid files only/);
    expect(without.stdout).not.toMatch(/^PID\s+ID\s+INSTANCE\s+STATE/m);

    const wrong = await cli(['status', '--pids', pids], 30_000, { CLUSTER2_MON_TOKEN: 'nope' });
    expect(wrong.stderr).toMatch(/HTTP 403/);

    const table = await cli(['status', '--pids', pids], 30_000, { CLUSTER2_MON_TOKEN: 'cli-token' });
    expect(table.stderr).toBe('');
    expect(table.stdout).toMatch(/^PID\s+ID\s+INSTANCE\s+STATE/m);
    for (const pid of fixture.workerPids()) expect(table.stdout).toMatch(new RegExp(`^${pid}\\s+\\d+\\s+[01]\\s+listening\\b`, 'm'));
  });

  it('reload replaces every worker pid', async () => {
    const { fixture, pids, endpoints } = await startCluster();
    const old = fixture.workerPids();

    const result = await cli(['reload', '--pids', pids]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`sent SIGUSR2 to master ${fixture.pid}`);

    await until(
      async () => {
        const now = await listeningPids(endpoints.monPort);
        return now.length === 2 && now.every((pid) => !old.includes(pid));
      },
      30_000,
      'two new listening workers',
    );
    await until(() => old.every((pid) => !isAlive(pid)), 15_000, 'the old workers to exit');
    expect(fixture.events('recycled').filter((m) => m.args![1] === 'reload')).toHaveLength(2);
  });

  it('shutdown stops the cluster: exit 0, master gone, pid dir empty, ports closed', async () => {
    const { fixture, pids, endpoints } = await startCluster();
    const workers = fixture.workerPids();

    const result = await cli(['shutdown', '--pids', pids]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`master ${fixture.pid} exited`);

    await fixture.waitForExit();
    expect(fixture.exitCode).toBe(0);
    expect(isAlive(fixture.pid)).toBe(false);
    await until(() => workers.every((pid) => !isAlive(pid)), 10_000, 'every worker to exit');
    expect(fs.readdirSync(pids)).toEqual([]);
    expect(await portClosed(endpoints.port)).toBe(true);
    expect(await portClosed(endpoints.monPort)).toBe(true);

    // And now nothing runs there any more.
    const again = await cli(['status', '--pids', pids]);
    expect(again.code).toBe(3);
  });

  it('exits 3 naming the directory when no master runs there', async () => {
    const empty = tempDir('cli-empty');
    dirs.push(empty);
    for (const command of ['status', 'stop', 'shutdown', 'reload']) {
      const result = await cli([command, '--pids', empty]);
      expect(result.code, command).toBe(3);
      expect(result.stderr, command).toContain(path.resolve(empty));
      expect(result.stdout, command).toBe('');
    }
  });

  it('exits 2 with usage on bad arguments', async () => {
    const cases = [[], ['frobnicate'], ['status', '--bogus'], ['status', 'extra'], ['status', '--pids'], ['status', '--pids', '']];
    for (const args of cases) {
      const result = await cli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toContain('Usage: cluster2');
      expect(result.stdout, args.join(' ')).toBe('');
    }
  });
});
