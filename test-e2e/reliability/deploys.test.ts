// Deploys that fail: broken code handed to a rolling reload, and a fork the OS refuses. A deploy
// script must learn the outcome, and no number of failed deploys may touch the serving workers.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, killAll, recordSummary, tempDir, until } from './harness.js';
import { LoadDriver, describeFailures, tally } from './load.js';

const running: Fixture[] = [];
afterEach(() => killAll(running.splice(0)));

const cliPath = path.resolve(import.meta.dirname, '../../packages/core/dist/cli.js');
const NO_WORKERS = 2;
/** More broken reloads in a row than the default restart.maxRestarts (10). */
const BROKEN_RELOADS = 15;

// Answers the load driver's '/' with `ok <pid>`, and '/version' with the deployed version.
const GOOD = (version: number) => `export function handler(req, res) {
  res.setHeader('x-worker-pid', String(process.pid));
  // A worker that logs a lot to stderr (it passes through the master's own stderr).
  if (req.url === '/stderr') console.error('x'.repeat(16384));
  res.end(req.url === '/version' ? 'version ${version}' : 'ok ' + process.pid);
}\n`;
const BROKEN = 'export function handler(req, res) {\n  res.end("never" \n}\n';

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { timeout: 60_000, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

async function getJson(port: number, route: string): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${port}${route}`);
  return res.json();
}

/** The deploy fixture with its app module (version 1), its pids directory and its monitor on port 0. */
function startDeployable(options: object = {}): { f: Fixture; appModule: string; pids: string } {
  const appModule = path.join(tempDir('deploys'), 'app.mjs');
  fs.writeFileSync(appModule, GOOD(1));
  const pids = tempDir('deploys-pids');
  const f = new Fixture({ noWorkers: NO_WORKERS, pids, monitor: true, monPort: 0, ...options }, { FIXTURE_APP_MODULE: appModule }, 'deploy-app.mjs');
  running.push(f);
  return { f, appModule, pids };
}

async function started(f: Fixture): Promise<{ port: number; monPort: number }> {
  const ready = (await f.ready()) as Awaited<ReturnType<Fixture['ready']>> & { monitor: { port: number } };
  return { port: ready.ports[0]!, monPort: ready.monitor.port };
}

describe('failed deploys', () => {
  it(`${BROKEN_RELOADS} broken deploys in a row under keep-alive load: cluster2 reload exits 4 with the SyntaxError each time, 0 failed requests, no give-up; the fixed deploy then succeeds`, async () => {
    const { f, appModule, pids } = startDeployable();
    const { port, monPort } = await started(f);
    const serving = f.workerPids();
    const load = new LoadDriver({ port, lanes: { undici: 2, 'node-keepalive': 2, fresh: 1, slow: 0 }, maxDuration: 120_000 }).start();
    await load.settled(200);

    fs.writeFileSync(appModule, BROKEN);
    const from = f.messages.length;
    const took: number[] = [];
    for (let attempt = 1; attempt <= BROKEN_RELOADS; attempt++) {
      const sentAt = Date.now();
      const result = await cli(['reload', '--pids', pids]);
      took.push(Date.now() - sentAt);
      expect(result.code, `attempt ${attempt}: ${result.stderr}`).toBe(4);
      expect(result.stderr).toContain('ERR_CLUSTER2_RELOAD_FAILED');
      expect(result.stderr).toContain('SyntaxError');
    }
    // The monitor's reload can wait for the outcome too.
    const viaMonitor = await fetch(`http://127.0.0.1:${monPort}/api/reload?wait=1`, { method: 'POST' });
    expect(viaMonitor.status).toBe(500);
    const { error } = (await viaMonitor.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('ERR_CLUSTER2_RELOAD_FAILED');
    expect(error.message).toContain('SyntaxError');
    const status = await getJson(monPort, '/api/status');
    expect(status.reload.state).toBe('failed');
    expect(status.reload.error.code).toBe('ERR_CLUSTER2_RELOAD_FAILED');
    expect(status.reload.error.message).toContain('SyntaxError');
    expect(status.events.filter((e: { type: string }) => e.type === 'reload-failed').length).toBeGreaterThanOrEqual(BROKEN_RELOADS + 1);
    expect(f.events('reloadFailed', from)).toHaveLength(BROKEN_RELOADS + 1);
    expect(f.events('giveup')).toEqual([]);
    expect(f.exitCode).toBeUndefined();
    expect(f.workerPids().sort()).toEqual([...serving].sort());
    expect(status.master.state).toBe('running');

    // A recycle (here a manual restart from the monitor) into broken code says why, and the worker keeps serving.
    const warned = f.messages.length;
    expect((await fetch(`http://127.0.0.1:${monPort}/api/workers/${serving[0]}/restart`, { method: 'POST' })).status).toBe(202);
    const warning = await f.waitFor('warning', { from: warned, where: (m) => /recycling worker/.test((m.args?.[0] as { message: string }).message) });
    expect((warning.args![0] as { message: string }).message).toMatch(
      new RegExp(`recycling worker ${serving[0]} \\(manual\\) failed; it keeps serving: .*SyntaxError`, 's'),
    );
    expect(f.workerPids().sort()).toEqual([...serving].sort());

    fs.writeFileSync(appModule, GOOD(2));
    const fixed = await cli(['reload', '--pids', pids]);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain('reload finished');
    await until(
      () => serving.every((pid) => f.pids('died', from).includes(pid)),
      15_000,
      'the old workers to exit',
      () => f.stderr,
    );
    const mark = load.outcomes.length;
    await load.settled(mark + 200);
    await load.quiesce();
    const outcomes = await load.stop();
    const counts = tally(outcomes);
    expect(describeFailures(outcomes)).toEqual([]);
    expect(counts.failed).toBe(0);
    const versions = await Promise.all(Array.from({ length: 10 }, () => fetch(`http://127.0.0.1:${port}/version`).then((r) => r.text())));
    expect(versions).toEqual(Array(10).fill('version 2'));
    recordSummary({
      scenario: `${BROKEN_RELOADS} broken deploys, then a fixed one, under load`,
      sent: counts.sent,
      succeeded: counts.succeeded,
      failed: counts.failed,
      notes: `cluster2 reload exit 4 each time (median ${took.sort((a, b) => a - b)[took.length >> 1]} ms), no give-up`,
    });
  });
});

/** Lowers the soft descriptor limit of a running process (root may raise it again). */
function setFdLimit(pid: number, soft: number, hard: number): void {
  execFileSync('prlimit', ['--pid', String(pid), `--nofile=${soft}:${hard}`]);
}

function fdLimits(pid: number): { soft: number; hard: number } {
  const line = fs
    .readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'))!;
  const [soft, hard] = line.split(/\s+/).slice(3, 5).map(Number);
  return { soft: soft!, hard: hard! };
}

describe('a fork the OS refuses', () => {
  it('leaves no phantom worker: the failure is an event, a reload meanwhile fails and ends, and the slot is refilled once descriptors free up', async () => {
    const { f } = startDeployable({ restart: { minDelay: 100, maxDelay: 500, maxRestarts: 10, window: 60_000 } });
    const { port, monPort } = await started(f);
    const [victim, survivor] = f.workerPids();
    const limits = fdLimits(f.pid);
    const open = fs.readdirSync(`/proc/${f.pid}/fd`).length;
    // No descriptor to spare: a fork needs several (IPC socket pair, stderr pipe), so it fails with EMFILE.
    setFdLimit(f.pid, open - 4, limits.hard);
    const from = f.messages.length;
    process.kill(victim!, 'SIGKILL');
    await f.waitFor('forkFailed', { from, count: 2, timeout: 15_000 });
    const failure = f.events('forkFailed', from)[0]!.args![0] as { code: string; message: string };
    expect(failure.code).toBe('ERR_CLUSTER2_FORK_FAILED');
    expect(failure.message).toContain('EMFILE');
    // A reload started meanwhile ends (it cannot fork a successor), and says why.
    const reload = await f.call('reload', 20_000);
    expect(reload.event).toBe('call-failed');
    expect(reload.code).toBe('ERR_CLUSTER2_RELOAD_FAILED');
    expect(reload.message).toContain('EMFILE');
    expect(f.pids('forked', from)).toEqual([]);
    // The survivor kept serving throughout.
    expect(f.workerPids()).toEqual([survivor]);

    setFdLimit(f.pid, limits.soft, limits.hard);
    await f.waitFor('listening', { from, timeout: 15_000 });
    const status = await getJson(monPort, '/api/status');
    expect(status.workers.map((w: { pid: unknown; state: string }) => [typeof w.pid, w.state])).toEqual([
      ['number', 'listening'],
      ['number', 'listening'],
    ]);
    expect(status.totals.workers).toBe(NO_WORKERS);
    expect(status.master.state).toBe('running');
    expect(status.events.some((e: { type: string }) => e.type === 'fork-failed')).toBe(true);
    const metrics = await (await fetch(`http://127.0.0.1:${monPort}/metrics`)).text();
    expect(metrics).toMatch(/^cluster2_workers \d+$/m);
    expect(Number(/^cluster2_workers (\d+)$/m.exec(metrics)![1])).toBe(NO_WORKERS);
    // The next deploy runs.
    const next = await f.call('reload', 30_000);
    expect(next.event).toBe('called');
    const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(`http://127.0.0.1:${port}/`).then((r) => r.status)));
    expect(answers).toEqual(Array(20).fill(200));
    expect(f.events('giveup')).toEqual([]);
  });
});

describe("workers' stderr through the master", () => {
  it('a master whose own stderr reader went away (EPIPE) keeps serving while workers write to stderr', async () => {
    const { f } = startDeployable();
    const { port } = await started(f);
    // The test is the reader of the master's stderr: gone, as a closed log pipe would be.
    f.child.stderr!.destroy();
    const answers: number[] = [];
    for (let i = 0; i < 20; i++) answers.push((await fetch(`http://127.0.0.1:${port}/stderr`)).status);
    expect(answers).toEqual(Array(20).fill(200));
    const after = await Promise.all(Array.from({ length: 10 }, () => fetch(`http://127.0.0.1:${port}/`).then((r) => r.status)));
    expect(after).toEqual(Array(10).fill(200));
    expect(f.running).toBe(true);
    expect(f.events('died')).toEqual([]);
  });
});
