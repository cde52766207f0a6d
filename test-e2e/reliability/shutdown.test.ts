import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, killAll, recordSummary, until } from './harness.js';
import { LoadDriver, describeFailures, tally } from './load.js';

const running: Fixture[] = [];
afterEach(() => killAll(running.splice(0)));

const NO_WORKERS = 4;

interface IdleSocket {
  socket: net.Socket;
  endAt?: number;
  closedAt?: number;
  error?: string;
  hadError?: boolean;
}

/** A keep-alive client that makes one request and then stays idle, watching how its socket ends. */
async function idleKeepAlive(port: number): Promise<IdleSocket> {
  const socket = net.connect(port, '127.0.0.1');
  const idle: IdleSocket = { socket };
  socket.on('end', () => {
    idle.endAt = Date.now();
    socket.end();
  });
  socket.on('error', (error: NodeJS.ErrnoException) => (idle.error = error.code ?? error.message));
  socket.on('close', (hadError) => {
    idle.closedAt = Date.now();
    idle.hadError = hadError;
  });
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString()));
  socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
  await until(() => /\r\n\r\nok \d+$/.test(received), 5000, 'the idle client’s first answer');
  return idle;
}

describe('graceful shutdown under load', () => {
  it('answers every request accepted before the shutdown, exits within the slowest in-flight request + 1 s, and ends idle keep-alive sockets with FIN', async () => {
    // `timeout` (the idle keep-alive timeout) is left at 30 s: the exit must not wait for it.
    const f = new Fixture({ noWorkers: NO_WORKERS });
    running.push(f);
    const [port] = (await f.ready()).ports;
    const workers = f.workerPids();
    const load = new LoadDriver({ port: port!, lanes: { undici: 4, 'node-keepalive': 4, fresh: 3, slow: 4 }, slowMs: 500 }).start();
    const idle = await Promise.all(Array.from({ length: 8 }, () => idleKeepAlive(port!)));
    await load.settled(2000);
    await until(() => load.pending().some((o) => o.lane === 'slow' && Date.now() - o.start < 100), 5000, 'a slow request just sent');

    // From here on the clients send nothing new: every request recorded was sent before the shutdown.
    const quiesced = load.quiesce();
    const shutdownAt = Date.now();
    const inFlightAtShutdown = load.pending().length;
    f.send('shutdown');
    await quiesced;
    await f.waitForExit(15_000);
    const exitMs = f.exitedAt! - shutdownAt;
    const broken = load.brokenSockets();
    const stoppedAt = Date.now();
    const outcomes = await load.stop();

    const counts = tally(outcomes);
    expect(describeFailures(outcomes)).toEqual([]);
    expect(counts.failed).toBe(0);
    expect(inFlightAtShutdown).toBeGreaterThan(0);
    const lastAnswer = Math.max(...outcomes.map((o) => o.end));
    const slowestInFlight = lastAnswer - shutdownAt;
    expect(slowestInFlight).toBeLessThanOrEqual(600);
    expect(f.exitedAt! - lastAnswer).toBeLessThanOrEqual(1000);
    expect(f.exitCode).toBe(0);
    expect(f.pids('died').sort()).toEqual([...workers].sort());
    for (const m of f.events('died')) expect(m.args!.slice(1)).toEqual([0, null]);
    expect(f.events('stopped')).toHaveLength(1);

    // No client socket was reset; every keep-alive socket of the node:http clients got the server's
    // FIN ('end'), or closed cleanly before the clients were stopped: from Node 22 the agent
    // closes a pooled socket on the server's FIN without emitting 'end', and any node:http client
    // closes one itself after a `Connection: close` answer.
    expect(broken).toEqual([]);
    const keepAlive = load.sockets.filter((s) => s.lane !== 'fresh' && s.openedAt <= shutdownAt);
    expect(keepAlive.length).toBeGreaterThan(0);
    for (const s of keepAlive) {
      expect(s.closedAt).toBeDefined();
      if (s.lane !== 'undici')
        expect(s.endAt !== undefined || (s.error === undefined && s.hadError === false && s.closedAt! <= stoppedAt), JSON.stringify(s)).toBe(true);
      // undici closes a socket itself after a `Connection: close` answer (UND_ERR_INFO); else it saw the FIN.
      else expect(s.endAt !== undefined || s.error === 'UND_ERR_INFO').toBe(true);
    }
    // The clients that sat idle through the drain: FIN ('end') then 'close', no error, soon after the shutdown.
    for (const s of idle) {
      expect(s.error).toBeUndefined();
      expect(s.endAt).toBeDefined();
      expect(s.closedAt).toBeGreaterThanOrEqual(s.endAt!);
      expect(s.hadError).toBe(false);
      expect(s.endAt! - shutdownAt).toBeLessThan(1000);
    }
    recordSummary({
      scenario: '3. graceful shutdown under load',
      sent: counts.sent,
      succeeded: counts.succeeded,
      failed: counts.failed,
      notes: `${inFlightAtShutdown} in flight at shutdown; last answer +${slowestInFlight} ms; master exit +${exitMs} ms; ${keepAlive.length + idle.length} keep-alive sockets, 0 reset`,
    });
  });
});

/** One `Connection: close` GET on a fresh connection: what came back, and how the socket ended. */
function rawGet(port: number, path: string): Promise<{ received: string; error?: string }> {
  const socket = net.connect(port, '127.0.0.1');
  const outcome: { received: string; error?: string } = { received: '' };
  socket.on('data', (chunk) => (outcome.received += chunk.toString()));
  socket.on('error', (error: NodeJS.ErrnoException) => (outcome.error = error.code ?? error.message));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  return new Promise((resolve) => socket.on('close', () => resolve(outcome)));
}

describe('a connection handed over as the last listener closes', () => {
  it('is answered by the draining worker (with Connection: close), not left in the master to be reset at its exit', async () => {
    // node:cluster's master hands connections to a worker over IPC. With the worker's loop blocked,
    // the shutdown's drain message and the next connection's hand-off wait in its pipe in that
    // order: the worker closes its listener, then gets a connection for it. node:cluster's worker
    // refuses it, and with no other worker left the master kept it until it exited (ECONNRESET).
    const f = new Fixture({ noWorkers: 1 });
    running.push(f);
    const [port] = (await f.ready()).ports;
    const [worker] = f.workerPids();
    const blocking = rawGet(port!, '/block?ms=1500');
    await new Promise((resolve) => setTimeout(resolve, 300));
    f.send('shutdown');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const late = await rawGet(port!, '/');
    const blocked = await blocking;
    await f.waitForExit(15_000);
    expect(blocked.error).toBeUndefined();
    expect(blocked.received).toMatch(/^HTTP\/1\.1 200 /);
    expect(late.error).toBeUndefined();
    expect(late.received).toMatch(/^HTTP\/1\.1 200 /);
    expect(late.received).toMatch(/\r\nconnection: close\r\n/i);
    expect(late.received.endsWith(`ok ${worker}`)).toBe(true);
    expect(f.exitCode).toBe(0);
  });
});

/**
 * Pipelines `GET /` and `GET <path>` on one socket and resolves once the first is answered: the
 * worker has then parsed the second and is running its handler, which never answers.
 */
async function stuckRequest(port: number, path: string): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString()));
  socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  await until(() => /\r\n\r\nok \d+/.test(received), 5000, 'the first answer');
  return socket;
}

describe('a worker that will not drain', () => {
  const shutdownTimeout = 1000;

  /**
   * One worker that ignores SIGTERM holds a request that never ends (`path`); the master is asked
   * to shut down. Asserts the master exits 0 no sooner than shutdownTimeout and within 2 s more.
   */
  async function shutdownAroundStuckRequest(path: string, { sigtermFirst }: { sigtermFirst: boolean }) {
    const f = new Fixture({ noWorkers: 1, shutdownTimeout }, { FIXTURE_MODE: 'ignore-sigterm' });
    running.push(f);
    const [port] = (await f.ready()).ports;
    const [worker] = f.workerPids();
    const socket = await stuckRequest(port!, path);
    if (sigtermFirst) process.kill(worker!, 'SIGTERM'); // ignored
    const shutdownAt = Date.now();
    f.send('shutdown');
    await f.waitForExit(shutdownTimeout + 5000);
    const exitMs = f.exitedAt! - shutdownAt;
    socket.destroy();

    expect(f.exitCode).toBe(0);
    expect(exitMs).toBeGreaterThanOrEqual(shutdownTimeout);
    expect(exitMs).toBeLessThan(shutdownTimeout + 2000);
    return { f, worker, shutdownAt, exitMs };
  }

  it('a hanging request: the worker ignores SIGTERM, is cut off at shutdownTimeout, and the master exits 0 within shutdownTimeout + 2 s', async () => {
    const { f, worker, shutdownAt, exitMs } = await shutdownAroundStuckRequest('/hang', { sigtermFirst: true });
    const died = await f.waitFor('died');
    expect(died.args![0]).toBe(worker);
    expect(died.time - shutdownAt).toBeGreaterThanOrEqual(shutdownTimeout - 50);
    expect(f.events('warning').some((m) => /shutdownTimeout/.test((m.args![0] as { message: string }).message))).toBe(true);
    recordSummary({
      scenario: '6a. hanging request, SIGTERM ignored',
      sent: 1,
      succeeded: 0,
      failed: 1,
      notes: `the failure is the request that never answers, cut at shutdownTimeout ${shutdownTimeout} ms by design; master exit 0 at +${exitMs} ms`,
    });
  });

  it('a wedged event loop: the master SIGKILLs the worker after shutdownTimeout and exits 0 within shutdownTimeout + 2 s', async () => {
    const { f, worker, exitMs } = await shutdownAroundStuckRequest('/block?ms=60000', { sigtermFirst: false });
    const died = await f.waitFor('died');
    expect(died.args).toEqual([worker, null, 'SIGKILL']);
    recordSummary({
      scenario: '6b. wedged worker, SIGTERM ignored',
      sent: 1,
      succeeded: 0,
      failed: 1,
      notes: `the failure is the request that wedged its worker, SIGKILLed after shutdownTimeout ${shutdownTimeout} ms by design; master exit 0 at +${exitMs} ms`,
    });
  });
});
