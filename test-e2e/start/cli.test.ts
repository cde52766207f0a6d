import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LoadDriver, describeFailures, tally } from '../reliability/load.js';
import { isAlive, request, tempDir, until } from '../support/fixture.js';
import { appsDir, cliPath, runCli, StartedMaster } from './cli-harness.js';

const masters: StartedMaster[] = [];
const stray: number[] = [];
afterEach(() => {
  for (const master of masters.splice(0)) master.kill();
  for (const pid of stray.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
  }
});

function start(args: string[], options: ConstructorParameters<typeof StartedMaster>[1] = {}): StartedMaster {
  const master = new StartedMaster(args, options);
  masters.push(master);
  return master;
}

const strips = typeof (process.features as { typescript?: unknown }).typescript === 'string';
const RELOADS = 5;
const APPS = [
  ['node:http', 'plain-http.mjs'],
  ['Express 5 (CommonJS, require.main guard)', 'express-app.cjs'],
  ['Fastify 5', 'fastify-app.mjs'],
  ['Koa', 'koa-app.mjs'],
  ...(strips ? [['TypeScript (type stripping)', 'ts-app.ts'] as const] : []),
] as const;

describe.each(APPS)('cluster2 start -w 2 with an unmodified %s app', (_name, entry) => {
  it(`serves, answers --ecv, survives ${RELOADS} cluster2 reloads under keep-alive load with 0 failed requests, and cluster2 shutdown drains`, async () => {
    const master = start([path.join(appsDir, entry), '-w', '2', '--ecv']);
    const port = await master.port();
    const ecv = await request(port, '/ecv');
    expect(ecv.status).toBe(200);
    const workers = await master.workers();
    expect(workers.map((w) => w.instance).sort()).toEqual([0, 1]);

    const load = new LoadDriver({ port, lanes: { undici: 3, 'node-keepalive': 3, fresh: 1, slow: 1 }, maxDuration: 120_000 }).start();
    await load.settled(200);
    for (let round = 0; round < RELOADS; round++) {
      const before = (await master.workers()).map((w) => w.pid);
      const reload = await runCli(['reload', '--pids', master.pids]);
      expect(reload.code, reload.stderr).toBe(0);
      await until(
        () => before.every((pid) => !isAlive(pid)),
        15_000,
        'the old workers to exit',
        () => master.output(),
      );
      await load.settled(load.outcomes.length + 100);
    }
    await load.quiesce();
    const outcomes = await load.stop();
    expect(describeFailures(outcomes)).toEqual([]);
    expect(tally(outcomes).failed).toBe(0);
    expect(new Set(outcomes.map((o) => o.pid)).size).toBeGreaterThanOrEqual(2 * (RELOADS + 1));

    // A request in flight when the shutdown begins is answered; then the master exits 0.
    const inFlight = request(port, '/slow?ms=1500');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const shutdown = await runCli(['shutdown', '--pids', master.pids]);
    expect(shutdown.code, shutdown.stderr).toBe(0);
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatch(/^ok \d+$/);
    await master.waitForExit();
    expect(master.exitCode).toBe(0);
  });
});

/** A port nothing listens on now (http-server treats -p 0 as "pick 8080 or above"). */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('cluster2 start with a package started through its own bin file (http-server)', () => {
  it(`serves a directory from 2 workers, answers --ecv, and ${RELOADS} reloads under keep-alive load fail 0 requests`, async () => {
    const site = tempDir('cluster2-http-server-site');
    fs.writeFileSync(path.join(site, 'hello.txt'), 'hello from a static site\n');
    const bin = path.resolve(appsDir, '../../node_modules/http-server/bin/http-server');
    const port = await freePort();
    const master = start([bin, '-w', '2', '--ecv', '--', site, '-p', String(port), '-a', '127.0.0.1', '-s', '-c-1']);
    expect(await master.port()).toBe(port);
    expect((await request(port, '/ecv')).status).toBe(200);
    expect((await request(port, '/hello.txt')).body).toBe('hello from a static site\n');

    // Keep-alive clients fetching the file back to back through every reload, bounded in time.
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 4 });
    const failures: string[] = [];
    let ok = 0;
    let issuing = true;
    const lane = async () => {
      while (issuing) {
        try {
          const { statusCode, body } = await pool.request({ path: '/hello.txt', method: 'GET' });
          const text = await body.text();
          if (statusCode === 200 && text === 'hello from a static site\n') ok++;
          else failures.push(`status ${statusCode}`);
        } catch (error) {
          failures.push((error as { code?: string }).code ?? String(error));
        }
      }
    };
    const lanes = [lane(), lane(), lane(), lane()];
    const deadline = setTimeout(() => (issuing = false), 120_000);
    try {
      for (let round = 0; round < RELOADS; round++) {
        const reload = await runCli(['reload', '--pids', master.pids]);
        expect(reload.code, reload.stderr).toBe(0);
      }
    } finally {
      issuing = false;
      clearTimeout(deadline);
      await Promise.all(lanes);
      await pool.close();
    }
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(200);
  });
});

/** Opens `count` WebSockets and resolves once each got its hello; each records how it closed. */
async function openSockets(port: number, count: number): Promise<{ closes: number[]; sockets: WebSocket[] }> {
  const closes: number[] = [];
  const sockets = await Promise.all(
    Array.from({ length: count }, () => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
      socket.on('close', (code) => closes.push(code));
      socket.on('error', () => {});
      return new Promise<WebSocket>((resolve) => socket.once('message', () => resolve(socket)));
    }),
  );
  return { closes, sockets };
}

describe('cluster2 start with a WebSocket app (ws)', () => {
  it('an app that closes its sockets in onDraining() from @cluster2/core: a reload closes every client with 1001 and does not wait for shutdownTimeout', async () => {
    const master = start([path.join(appsDir, 'ws-app.mjs'), '-w', '2', '--shutdown-timeout', '20000'], { env: { DRAIN_HOOK: '1' } });
    const port = await master.port();
    const { closes } = await openSockets(port, 6);
    const startedAt = Date.now();
    const reload = await runCli(['reload', '--pids', master.pids]);
    expect(reload.code, reload.stderr).toBe(0);
    await until(() => closes.length === 6, 10_000, 'every client to be closed');
    expect(closes).toEqual([1001, 1001, 1001, 1001, 1001, 1001]);
    // The hook ran in the CLI's workers although the app imported the package's own entry point.
    // Measured about 1 s for 2 workers; without the hook the drain waits shutdownTimeout (20 s).
    expect(Date.now() - startedAt).toBeLessThan(15_000);
  });

  it('an unmodified app: the reload completes, and the old worker keeps its sockets until shutdownTimeout, then cuts them', async () => {
    const master = start([path.join(appsDir, 'ws-app.mjs'), '-w', '1', '--shutdown-timeout', '2000']);
    const port = await master.port();
    const { closes } = await openSockets(port, 3);
    const startedAt = Date.now();
    // The reload moves on once the old worker stopped accepting; the old worker lives on with its
    // sockets until shutdownTimeout, then cuts them.
    const reload = await runCli(['reload', '--pids', master.pids]);
    expect(reload.code, reload.stderr).toBe(0);
    expect(closes).toEqual([]);
    await until(() => closes.length === 3, 10_000, 'every client to be cut');
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1900);
    expect(closes).toEqual([1006, 1006, 1006]);
    expect((await request(port, '/')).body).toMatch(/^ok \d+$/);
  });
});

describe('cluster2 start: what the app is given', () => {
  it('--node-args, --env, --env-file, --cwd and the words after -- reach the app in every worker', async () => {
    const dir = tempDir('cluster2-start-cwd');
    fs.writeFileSync(path.join(dir, '.env'), 'GREETING=from the file\nOTHER=1\n');
    const master = start([
      path.join(appsDir, 'plain-http.mjs'),
      '-w',
      '2',
      '--node-args',
      '--enable-source-maps',
      '--env-file',
      path.join(dir, '.env'),
      '--env',
      'GREETING=hi',
      '--cwd',
      dir,
      '--',
      'a',
      'b',
    ]);
    const port = await master.port();
    for (let i = 0; i < 4; i++) {
      const body = JSON.parse((await request(port, '/whoami')).body) as { argv: string[]; execArgv: string[]; greeting: string; cwd: string };
      expect(body.argv).toEqual(['a', 'b']);
      expect(fs.realpathSync(body.cwd)).toBe(fs.realpathSync(dir));
      expect(body.execArgv).toContain('--enable-source-maps');
      expect(body.greeting).toBe('hi');
    }
  });
});

describe('cluster2 start: the same bad value by flag and by config file', () => {
  it('--shutdown-timeout 0 and {"shutdownTimeout":0} both exit 2 with the library’s message', async () => {
    const byFlag = await runCli(['start', path.join(appsDir, 'plain-http.mjs'), '--shutdown-timeout', '0']);
    const dir = tempDir('cluster2-start-config');
    fs.writeFileSync(path.join(dir, 'cluster2.config.json'), JSON.stringify({ script: path.join(appsDir, 'plain-http.mjs'), shutdownTimeout: 0 }));
    const byConfig = await runCli(['start'], { cwd: dir });
    const message = 'option "shutdownTimeout" must be an integer from 1 to 2147483647; received 0 (ERR_CLUSTER2_INVALID_OPTION)';
    expect(byFlag.code).toBe(2);
    expect(byFlag.stderr).toContain(message);
    expect(byConfig.code).toBe(2);
    expect(byConfig.stderr).toContain(message);
  });
});

describe('cluster2 start --detach', () => {
  it('returns once the app serves; the master lives on after the shell that started it is gone, and cluster2 stop ends it', async () => {
    const pids = tempDir('cluster2-detach-pids');
    const logs = tempDir('cluster2-detach-logs');
    const command = [
      process.execPath,
      cliPath,
      'start',
      path.join(appsDir, 'plain-http.mjs'),
      '-w',
      '2',
      '--detach',
      '--pids',
      pids,
      '--mon-port',
      '0',
      '--logs',
      logs,
    ]
      .map((word) => `'${word}'`)
      .join(' ');
    // A shell in a process group of its own, as a terminal session would be.
    const shell = spawn('bash', ['-c', command], { detached: true, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    stray.push(shell.pid!);
    let stdout = '';
    let stderr = '';
    shell.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    shell.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => shell.on('exit', resolve));
    expect(code, stderr).toBe(0);
    const match = /serves on port (\d+) in the background \(master (\d+)\)/.exec(stdout);
    expect(match, stdout + stderr).not.toBeNull();
    const [port, masterPid] = [Number(match![1]), Number(match![2])];
    stray.push(masterPid);
    // The terminal hangs up on the shell's group: the master is in a session of its own.
    try {
      process.kill(-shell.pid!, 'SIGHUP');
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(isAlive(masterPid)).toBe(true);
    expect((await request(port, '/')).body).toMatch(/^ok \d+$/);
    const status = await runCli(['status', '--json', '--pids', pids]);
    expect((JSON.parse(status.stdout) as { workers: unknown[] }).workers).toHaveLength(2);
    expect(fs.readFileSync(path.join(logs, 'cluster2.log'), 'utf8')).toMatch(/serving .* on port/);
    const stop = await runCli(['stop', '--pids', pids]);
    expect(stop.code, stop.stderr).toBe(0);
    expect(isAlive(masterPid)).toBe(false);
  });

  it('an entry that crashes at start returns non-zero with the app’s own error, and leaves no master behind', async () => {
    const pids = tempDir('cluster2-detach-pids');
    const logs = tempDir('cluster2-detach-logs');
    const result = await runCli(['start', path.join(appsDir, 'crash-at-start.mjs'), '-w', '2', '--detach', '--pids', pids, '--mon-port', '0', '--logs', logs], {
      env: { PORT: '0' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/the app failed to start: .*database url missing: set DATABASE_URL/s);
    const masterPid = Number(/stopping the background master (\d+)/.exec(result.stderr)?.[1]);
    stray.push(masterPid);
    await until(() => !isAlive(masterPid), 10_000, 'the background master to stop');
  });
});

describe('cluster2 start --watch', () => {
  it('an edit reloads with 0 failed requests under load; a syntax error keeps the serving generation, and says why', async () => {
    const dir = tempDir('cluster2-watch-app');
    const app = path.join(dir, 'app.mjs');
    fs.copyFileSync(path.join(appsDir, 'plain-http.mjs'), app);
    const master = start([app, '-w', '2', '--watch'], { cwd: dir });
    const port = await master.port();
    await until(
      () => /watching .* for changes/.test(master.stderr),
      5000,
      'the watch line',
      () => master.output(),
    );
    const load = new LoadDriver({ port, lanes: { undici: 2, 'node-keepalive': 2, fresh: 1, slow: 1 }, maxDuration: 90_000 }).start();
    await load.settled(100);

    const first = (await master.workers()).map((w) => w.pid);
    fs.appendFileSync(app, '\n// an edit\n');
    await until(
      () => /reloaded/.test(master.stderr),
      30_000,
      'the reload after the edit',
      () => master.output(),
    );
    await until(
      () => first.every((pid) => !isAlive(pid)),
      15_000,
      'the first generation to exit',
      () => master.output(),
    );
    await load.settled(load.outcomes.length + 100);

    const second = (await master.workers()).map((w) => w.pid);
    fs.appendFileSync(app, '\nthis is not javascript (\n');
    await until(
      () => /failed; the previous workers still serve/.test(master.stderr),
      30_000,
      'the failed reload',
      () => master.output(),
    );
    expect(master.stderr).toMatch(/SyntaxError/);
    await load.settled(load.outcomes.length + 100);
    await load.quiesce();
    const outcomes = await load.stop();
    expect(describeFailures(outcomes)).toEqual([]);
    expect(tally(outcomes).failed).toBe(0);
    expect((await master.workers()).map((w) => w.pid).sort()).toEqual([...second].sort());
    expect(master.exitCode).toBeUndefined();
  });
});

describe('cluster2 start: bad input and broken apps', () => {
  it('an entry that does not exist exits 2 at once, naming the path', async () => {
    const result = await runCli(['start', 'no-such-server.js']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/the app entry .*no-such-server\.js does not exist .*\(ERR_CLUSTER2_ENTRY_NOT_FOUND\)/);
  });

  it('an app that throws at start: its error reaches stderr and the master gives up by the restart policy, exit 1', async () => {
    const master = start([path.join(appsDir, 'crash-at-start.mjs'), '-w', '1', '--restart-max-restarts', '0']);
    await master.waitForExit();
    expect(master.exitCode).toBe(1);
    expect(master.stderr).toMatch(/database url missing: set DATABASE_URL/);
    expect(master.stderr).toMatch(/gave up: 1 workers died/);
  });

  it('an app that never listens fails after --start-timeout, saying so', async () => {
    const master = start([path.join(appsDir, 'never-listens.mjs'), '-w', '1', '--start-timeout', '1000', '--restart-max-restarts', '0']);
    await master.waitForExit();
    expect(master.exitCode).toBe(1);
    expect(master.stderr).toMatch(/did not listen within 1000 ms \(option startTimeout\)/);
  });

  it('--wait-ready: an app that listens but never says ready fails after --start-timeout plus 5 s', async () => {
    const master = start([path.join(appsDir, 'wait-ready.mjs'), '-w', '1', '--wait-ready', '--start-timeout', '1000', '--restart-max-restarts', '0'], {
      env: { NEVER_READY: '1' },
    });
    await master.waitForExit(30_000);
    expect(master.exitCode).toBe(1);
    expect(master.stderr).toMatch(/did not call ready\(\) within 6000 ms/);
  });

  it('an app whose port another process holds: the cause is named', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const held = (holder.address() as net.AddressInfo).port;
    try {
      const master = start([path.join(appsDir, 'plain-http.mjs'), '-w', '1', '--restart-max-restarts', '0'], { env: { PORT: String(held) } });
      await master.waitForExit();
      expect(master.exitCode).toBe(1);
      expect(master.stderr).toMatch(new RegExp(`EADDRINUSE.*port ${held} is held by another process`));
    } finally {
      holder.close();
    }
  });
});
