import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execFile } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, fixturesDir, selfSignedCertDir, holdUntilReleased, inFlightAtLeast, isAlive, killAll, request, tempDir, until } from './helpers.js';

const running: Fixture[] = [];
afterEach(() => killAll(running.splice(0)));

function start(options: object, env?: Record<string, string>, script = 'http-app.mjs'): Fixture {
  const fixture = new Fixture(script, { port: 0, host: '127.0.0.1', monitor: false, pids: false, ...options }, env);
  running.push(fixture);
  return fixture;
}

function portIsClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** Runs the control script asynchronously: this process must keep reaping the fixture it started. */
function control(action: string, pids: string): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(fixturesDir, 'control.mjs'), action, pids], { timeout: 20_000 }, (error, stdout) => {
      if (error && typeof error.code !== 'number') reject(new Error(error.message, { cause: error }));
      else resolve({ status: error ? (error.code as number) : 0, stdout });
    });
  });
}

describe('start and stop', () => {
  it.each(['shutdown', 'stop'])('%s from a control script closes the port and empties the pid directory', async (action) => {
    const pids = tempDir('lifecycle');
    const f = start({ noWorkers: 2, pids });
    const port = await f.ready();
    const files = fs.readdirSync(pids).sort();
    expect(files).toHaveLength(4);
    expect(files).toContain('master.pid');
    expect(files).toContain('master.json');
    expect(fs.readFileSync(path.join(pids, 'master.pid'), 'utf8')).toBe(`${f.pid}\n`);
    for (const pid of f.workerPids()) expect(files).toContain(`worker-${pid}.pid`);
    const workers = f.workerPids();

    const result = await control(action, pids);
    expect(result.stdout).toBe(`${action} done\n`);
    expect(result.status).toBe(0);
    expect(isAlive(f.pid)).toBe(false);
    await f.exited;
    expect(f.exitCode).toBe(0);
    expect(await portIsClosed(port)).toBe(true);
    expect(fs.readdirSync(pids)).toEqual([]);
    for (const pid of workers) expect(isAlive(pid)).toBe(false);
  });

  it('a control script with no master running rejects with ERR_CLUSTER2_NOT_RUNNING', async () => {
    const result = await control('shutdown', tempDir('lifecycle'));
    expect(result.status).toBe(4);
    expect(result.stdout).toMatch(/^ERR_CLUSTER2_NOT_RUNNING: no cluster2 master is running/);
  });

  it('reports forked, listening, shutdown, died and stopped in order, with the right pids', async () => {
    const f = start({ noWorkers: 2 });
    await f.ready();
    const forked = f.events('forked').map((m) => m.args![0]);
    const listening = f.events('listening').map((m) => m.args![0]);
    expect(new Set(listening)).toEqual(new Set(forked));
    f.send('shutdown');
    await f.waitForExit();
    const sequence = f.messages.filter((m) => m.event !== 'warning').map((m) => m.event);
    expect(sequence.slice(0, 4).sort()).toEqual(['forked', 'forked', 'listening', 'listening']);
    expect(sequence.slice(4, 6)).toEqual(['ready', 'shutdown']);
    expect(sequence.slice(6, 8)).toEqual(['died', 'died']);
    expect(sequence.at(-1)).toBe('stopped');
    const died = f.events('died').map((m) => m.args![0]);
    expect(new Set(died)).toEqual(new Set(forked));
    for (const m of f.events('died')) expect(m.args![1]).toBe(0);
  });

  it('accepts the seed callback-style factory', async () => {
    const f = start({ noWorkers: 1 }, { FIXTURE_MODE: 'callback' });
    const port = await f.ready();
    expect((await request(port, '/')).body).toMatch(/^hello from \d+$/);
  });

  it('port busy: exits 98 naming host:port, and forks no worker', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const busy = (blocker.address() as net.AddressInfo).port;
    try {
      const f = start({ noWorkers: 2, port: busy });
      await f.waitForExit();
      expect(f.exitCode).toBe(98);
      expect(f.stderr).toContain(`127.0.0.1:${busy}`);
      expect(f.events('forked')).toHaveLength(0);
    } finally {
      blocker.close();
    }
  });

  it('port busy with an error listener: listen() rejects with ERR_CLUSTER2_PORT_IN_USE and the error event fires', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const busy = (blocker.address() as net.AddressInfo).port;
    try {
      const f = start({ noWorkers: 1, port: busy }, { FIXTURE_ERROR_LISTENER: '1' });
      const rejected = await f.waitFor('listen-rejected');
      expect(rejected.code).toBe('ERR_CLUSTER2_PORT_IN_USE');
      const error = await f.waitFor('error');
      expect((error.args![0] as { code: string }).code).toBe('ERR_CLUSTER2_PORT_IN_USE');
      expect(f.events('forked')).toHaveLength(0);
    } finally {
      blocker.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('answers 2000 requests in flight when shutdown() is called, every one with a 200', async () => {
    const hold = holdUntilReleased();
    const f = start({ noWorkers: 2, heartbeatInterval: 50 }, { FIXTURE_REPORT_HEARTBEATS: '1', ...hold.env });
    const port = await f.ready();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2000 });
    const answers = Array.from({ length: 2000 }, () =>
      request(port, '/hold', { agent }).then(
        (a) => a.status,
        (e: Error) => e.message,
      ),
    );
    await f.waitFor('heartbeat', { where: inFlightAtLeast(2000), timeout: 30_000 });
    f.send('shutdown');
    await f.waitFor('shutdown');
    hold.release();
    const results = await Promise.all(answers);
    agent.destroy();
    const counts = results.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r]: (acc[r] ?? 0) + 1 }), {});
    expect(counts).toEqual({ 200: 2000 });
    await f.waitForExit();
    expect(f.exitCode).toBe(0);
  });

  it('answers a request in flight with Connection: close, and exits soon after', async () => {
    const hold = holdUntilReleased();
    const f = start({ noWorkers: 1, heartbeatInterval: 50 }, { FIXTURE_REPORT_HEARTBEATS: '1', ...hold.env });
    const port = await f.ready();
    const agent = new http.Agent({ keepAlive: true });
    const held = request(port, '/hold', { agent });
    await f.waitFor('heartbeat', { where: inFlightAtLeast(1) });
    f.send('shutdown');
    await f.waitFor('shutdown');
    const calledAt = Date.now();
    hold.release();
    const answer = await held;
    agent.destroy();
    expect(answer.status).toBe(200);
    expect(answer.body).toMatch(/^held \d+$/);
    expect(answer.headers.connection).toBe('close');
    await f.waitForExit();
    expect(Date.now() - calledAt).toBeLessThan(4000);
  });

  it('ends an idle keep-alive socket and exits long before any keep-alive timeout', async () => {
    const f = start({ noWorkers: 1, timeout: 60_000 });
    const port = await f.ready();
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    await until(() => received.includes('hello from'), 5000, 'first response');
    const ended = new Promise<number>((resolve) => socket.once('end', () => resolve(Date.now())));
    const closedWithoutError = new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false));
      socket.once('close', (hadError) => resolve(!hadError));
    });
    const calledAt = Date.now();
    f.send('shutdown');
    const endedAt = await ended;
    socket.end();
    expect(await closedWithoutError).toBe(true);
    expect(endedAt - calledAt).toBeLessThan(2000);
    await f.waitForExit();
    expect(Date.now() - calledAt).toBeLessThan(3000);
  });

  it('a keep-alive request sent during the idle grace is answered with Connection: close, not reset', async () => {
    const f = start({ noWorkers: 1, idleGrace: 1500, heartbeatInterval: 50 }, { FIXTURE_REPORT_HEARTBEATS: '1' });
    const port = await f.ready();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await request(port, '/', { agent });
    expect(first.headers.connection).toBe('keep-alive');
    f.send('shutdown');
    await f.waitFor('shutdown');
    const second = await request(port, '/', { agent });
    agent.destroy();
    expect(second.status).toBe(200);
    expect(second.headers.connection).toBe('close');
    await f.waitForExit();
  });
});

/** A keep-alive socket of its own, for requests whose timing the test controls byte by byte. */
function rawClient(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  let ended = false;
  socket.on('data', (chunk) => (received += chunk.toString('latin1')));
  socket.on('end', () => (ended = true));
  socket.on('error', () => {});
  return {
    send(path: string): void {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    },
    /** The `n`th complete answer on this socket (its head and body), or what the socket ended with. */
    async answer(n: number): Promise<string> {
      const answers = () =>
        received.split(/(?=HTTP\/1\.1 )/).filter((a) => {
          const head = a.indexOf('\r\n\r\n');
          return head !== -1 && a.length - head - 4 >= Number(/content-length: (\d+)/i.exec(a)?.[1] ?? 0);
        });
      await until(() => answers().length >= n || ended, 10_000, `answer ${n}`);
      return answers()[n - 1] ?? `(ended after ${answers().length} answers)`;
    },
    destroy: () => socket.destroy(),
  };
}

describe('a starved worker during the drain', () => {
  it('a request that arrived while the event loop was blocked is answered, not cut by an idle grace that ran out meanwhile', async () => {
    // The grace timer of an idle keep-alive socket runs out while a handler blocks the loop; the
    // client's next request arrived during the block. Timers run before the loop reads sockets:
    // ending the socket as soon as the timer fires would drop that request.
    const f = start({ noWorkers: 1, idleGrace: 100 });
    const port = await f.ready();
    const blocker = rawClient(port);
    const idle = rawClient(port);
    blocker.send('/');
    idle.send('/');
    expect(await blocker.answer(1)).toMatch(/^HTTP\/1\.1 200/);
    expect(await idle.answer(1)).toMatch(/^HTTP\/1\.1 200/);
    f.send('shutdown');
    await f.waitFor('shutdown');
    await new Promise((resolve) => setTimeout(resolve, 30));
    blocker.send('/block?ms=600');
    await new Promise((resolve) => setTimeout(resolve, 100));
    idle.send('/');
    const blocked = await blocker.answer(2);
    // Proof that the block began after the drain did (else this test would prove nothing).
    expect(blocked).toMatch(/^HTTP\/1\.1 200[^]*connection: close/i);
    expect(await idle.answer(2)).toMatch(/^HTTP\/1\.1 200[^]*connection: close[^]*hello from \d+$/i);
    blocker.destroy();
    idle.destroy();
    await f.waitForExit();
    expect(f.exitCode).toBe(0);
  });
});

describe('signals', () => {
  it('SIGTERM to the whole process group answers the requests in flight and respawns nothing', async () => {
    const hold = holdUntilReleased();
    const f = new Fixture(
      'http-app.mjs',
      { port: 0, host: '127.0.0.1', monitor: false, pids: false, noWorkers: 2, heartbeatInterval: 50 },
      { FIXTURE_REPORT_HEARTBEATS: '1', ...hold.env },
      undefined,
      true,
    );
    running.push(f);
    const port = await f.ready();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
    const answers = Array.from({ length: 20 }, () =>
      request(port, '/hold', { agent }).then(
        (a) => a.status,
        (e: Error) => e.message,
      ),
    );
    await f.waitFor('heartbeat', { where: inFlightAtLeast(20) });
    process.kill(-f.pid, 'SIGTERM');
    await f.waitFor('shutdown');
    hold.release();
    expect(await Promise.all(answers)).toEqual(Array(20).fill(200));
    agent.destroy();
    await f.waitForExit();
    expect(f.exitCode).toBe(0);
    expect(f.events('forked')).toHaveLength(2);
  });
});

describe('supervision', () => {
  it('replaces a SIGKILLed worker', async () => {
    const f = start({ noWorkers: 2 });
    const port = await f.ready();
    const [victim] = f.workerPids();
    process.kill(victim!, 'SIGKILL');
    await f.waitFor('died', { where: (m) => m.args![0] === victim && m.args![2] === 'SIGKILL' });
    await f.waitFor('listening', { count: 3 });
    expect(f.workerPids()).toHaveLength(2);
    expect(f.workerPids()).not.toContain(victim);
    expect((await request(port, '/')).status).toBe(200);
  });

  it('gives up with exit 1 after at most maxRestarts + 1 forks when the factory throws', async () => {
    const f = start({ noWorkers: 1, restart: { minDelay: 100, maxDelay: 400, maxRestarts: 3, window: 60_000 } }, { FIXTURE_MODE: 'throw' });
    await f.waitForExit();
    expect(f.exitCode).toBe(1);
    expect(f.events('forked').length).toBeLessThanOrEqual(4);
    expect(f.events('forked')).toHaveLength(4);
    expect(f.events('giveup')).toHaveLength(1);
    expect(f.stderr).toContain('factory exploded');
    // Backoff: the first death is replaced at once, the next after minDelay, then doubling.
    const died = f.events('died').map((m) => m.time);
    const forked = f.events('forked').map((m) => m.time);
    expect(forked[1]! - died[0]!).toBeLessThan(90);
    expect(forked[2]! - died[1]!).toBeGreaterThanOrEqual(95);
    expect(forked[3]! - died[2]!).toBeGreaterThanOrEqual(195);
  });

  it('recycles by connThreshold under 100 Connection: close requests with 0 errors, and the pids change', async () => {
    const f = start({ noWorkers: 2, connThreshold: 10 });
    const port = await f.ready();
    const before = f.workerPids();
    const results: string[] = [];
    for (let i = 0; i < 100; i++) {
      results.push(
        await request(port, '/').then(
          (a) => String(a.status),
          (e: Error) => e.message,
        ),
      );
    }
    expect(results.filter((r) => r !== '200')).toEqual([]);
    await f.waitFor('recycled', { where: (m) => m.args![1] === 'connThreshold' });
    expect(f.workerPids().some((pid) => !before.includes(pid))).toBe(true);
  });

  it.each([
    ['maxAge', { maxAge: 300 }],
    ['maxMemory', { maxMemory: 1, heartbeatInterval: 100 }],
    ['maxRequests', { maxRequests: 5 }],
  ])('recycles by %s, successor first', async (reason, options) => {
    const f = start({ noWorkers: 1, ...options });
    const port = await f.ready();
    const [first] = f.workerPids();
    if (reason === 'maxRequests') for (let i = 0; i < 7; i++) await request(port, '/');
    const recycled = await f.waitFor('recycled', { where: (m) => m.args![0] === first });
    expect(recycled.args![1]).toBe(reason);
    // The successor listened before the old worker was told to drain.
    const successorListening = f.events('listening')[1]!;
    expect(successorListening.time).toBeLessThanOrEqual(recycled.time);
    await f.waitFor('died', { where: (m) => m.args![0] === first });
    expect((await request(port, '/')).status).toBe(200);
  });

  it('the nanny replaces a worker whose event loop is wedged', async () => {
    const f = start({ noWorkers: 1, heartbeatInterval: 100, maxHeartbeatDelay: 400 });
    const port = await f.ready();
    const [wedged] = f.workerPids();
    void request(port, '/block?ms=60000').catch(() => {});
    const recycled = await f.waitFor('recycled', { timeout: 10_000 });
    expect(recycled.args).toEqual([wedged, 'heartbeat']);
    await f.waitFor('died', { where: (m) => m.args![0] === wedged });
    expect((await request(port, '/')).status).toBe(200);
  });

  it('leaves no worker alive 5 s after the master is SIGKILLed', async () => {
    const f = start({ noWorkers: 2 });
    await f.ready();
    const workers = f.workerPids();
    process.kill(f.pid, 'SIGKILL');
    await until(() => workers.every((pid) => !isAlive(pid)), 5000, 'workers to exit after their master died');
  });

  it('kills a worker that never drains after shutdownTimeout, and the master still exits 0', async () => {
    const f = start({ noWorkers: 1, shutdownTimeout: 500 }, { FIXTURE_MODE: 'ignore-sigterm' });
    const port = await f.ready();
    void request(port, '/hang').catch(() => {});
    await until(async () => true, 10, 'tick');
    f.send('shutdown');
    const calledAt = Date.now();
    await f.waitForExit(10_000);
    expect(f.exitCode).toBe(0);
    expect(Date.now() - calledAt).toBeLessThan(3000);
  });
});

describe('sockets', () => {
  it('ends sockets idle for `timeout` ms, counted in the heartbeat (idleCloses) rather than warned', async () => {
    const f = start({ noWorkers: 1, timeout: 300, heartbeatInterval: 50 }, { FIXTURE_REPORT_HEARTBEATS: '1' });
    const port = await f.ready();
    const socket = net.connect(port, '127.0.0.1');
    const connectedAt = Date.now();
    const endedAt = await new Promise<number>((resolve) => socket.once('end', () => resolve(Date.now())));
    socket.destroy();
    expect(endedAt - connectedAt).toBeGreaterThanOrEqual(290);
    expect(endedAt - connectedAt).toBeLessThan(1500);
    const idleCloses = (m: { args?: unknown[] }) => (m.args![0] as { totals: { idleCloses: number } }).totals.idleCloses;
    await f.waitFor('heartbeat', { where: (m) => idleCloses(m) === 1 });
    // Routine for keep-alive clients: a warning each let 300 idle clients wipe the event log.
    expect(f.events('warning')).toEqual([]);
  });

  it('serves a TCP echo server', async () => {
    const f = start({ noWorkers: 2 }, {}, 'tcp-echo.mjs');
    const port = await f.ready();
    const socket = net.connect(port, '127.0.0.1');
    socket.write('ping');
    const reply = await new Promise<string>((resolve) => socket.once('data', (d) => resolve(d.toString())));
    socket.destroy();
    expect(reply).toMatch(/^\d+:ping$/);
  });

  it('serves https: the app, ECV with a self-fetched monitor path, and a drain that ends idle TLS sockets cleanly', async () => {
    const tls = selfSignedCertDir('lifecycle');
    const f = start({ noWorkers: 2, ecv: { monitor: '/' } }, { FIXTURE_MODE: 'https', FIXTURE_TLS: tls });
    const port = await f.ready();
    const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
    const get = (p: string) =>
      new Promise<{ status: number; body: string; socket: net.Socket }>((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port, path: p, agent }, (res) => {
            const socket = res.socket;
            let body = '';
            res.on('data', (chunk) => (body += chunk));
            res.on('end', () => resolve({ status: res.statusCode!, body, socket }));
          })
          .on('error', reject);
      });
    const app = await get('/');
    expect(app.status).toBe(200);
    expect(app.body).toMatch(/^hello from \d+$/);
    // ECV fetched '/' from the worker itself over https: AVAILABLE, not WARNING.
    const ecv = await get('/ecv');
    expect(ecv.status).toBe(200);
    expect(ecv.body).toMatch(/^status=AVAILABLE&ServeTraffic=true&/);
    // An idle kept-alive TLS socket sees a clean close (FIN), not a reset, when the worker drains.
    // From Node 22 the agent closes a pooled socket on the server's FIN without emitting 'end':
    // a 'close' without an error is the same clean end.
    const idle = ecv.socket;
    const closed = new Promise<string>((resolve) => {
      idle.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      idle.once('end', () => resolve('clean'));
      idle.once('close', (hadError) => resolve(hadError ? 'closed with an error' : 'clean'));
    });
    f.send('shutdown');
    expect(await closed).toBe('clean');
    await f.waitForExit();
    expect(f.exitCode).toBe(0);
    agent.destroy();
  });

  it('runs in one process with cluster: false', async () => {
    const pids = tempDir('lifecycle');
    const f = start({ cluster: false, pids });
    const port = await f.ready();
    const answer = await request(port, '/');
    expect(answer.headers['x-worker-pid']).toBe(String(f.pid));
    expect(f.events('forked')).toHaveLength(0);
    expect(fs.readdirSync(pids).sort()).toEqual(['master.json', 'master.pid']);
    expect((await control('shutdown', pids)).status).toBe(0);
    await f.exited;
    expect(f.exitCode).toBe(0);
    expect(fs.readdirSync(pids)).toEqual([]);
  });
});
