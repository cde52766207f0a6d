// The master under descriptor pressure: fixture masters started under `prlimit --nofile=N` (the
// limit their workers inherit too), flooded with idle connections from 127.0.0.1, bounded in count
// and time. The master must keep supervising and serving, and be back to full strength once the
// flood ends.
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Fixture as BaseFixture, type FixtureMessage } from '../../../test-e2e/support/fixture.js';
import { fixturesDir, killAll, request, until } from './helpers.js';
import type { ClusterStatus } from '../src/status.js';

const running: BaseFixture[] = [];
afterEach(() => killAll(running.splice(0)));

const NO_WORKERS = 2;

/** flood-app.mjs run under `prlimit --nofile=<nofile>`; resolves with its app and monitor ports. */
async function start(options: object, nofile: number): Promise<{ f: BaseFixture; port: number; monPort: number }> {
  const f = new BaseFixture(
    path.join(fixturesDir, 'flood-app.mjs'),
    { port: 0, host: '127.0.0.1', monPort: 0, pids: false, noWorkers: NO_WORKERS, ...options },
    {
      launcher: ['prlimit', `--nofile=${nofile}:${nofile}`],
    },
  );
  running.push(f);
  const ready = await f.readyReport();
  return { f, port: ready.ports![0]!, monPort: ready.monitor!.port };
}

async function status(monPort: number): Promise<ClusterStatus> {
  const answer = await request(monPort, '/api/status');
  expect(answer.status).toBe(200);
  return JSON.parse(answer.body) as ClusterStatus;
}

/**
 * `count` sequential requests on fresh connections, each with its own x-forwarded-for (sticky
 * sessions spread them); how many got `200 ok <pid>`, the failures by code, and the workers that answered.
 */
async function answered(port: number, count: number): Promise<{ ok: number; failures: Record<string, number>; workers: number }> {
  let ok = 0;
  const failures: Record<string, number> = {};
  const pids = new Set<string>();
  for (let i = 0; i < count; i++) {
    try {
      const answer = await request(port, '/', { timeout: 5000, headers: { 'x-forwarded-for': `198.51.100.${i}` } });
      pids.add(String(answer.headers['x-worker-pid']));
      if (answer.status === 200 && /^ok \d+$/.test(answer.body)) ok++;
      else failures[answer.status] = (failures[answer.status] ?? 0) + 1;
    } catch (error) {
      const code = (error as { code?: string }).code ?? (error as Error).name;
      failures[code] = (failures[code] ?? 0) + 1;
    }
  }
  return { ok, failures, workers: pids.size };
}

/** What an idle client saw: the status line of an answer (if any), and when it arrived and ended. */
interface IdleClient {
  socket: net.Socket;
  openedAt: number;
  statusLine?: string;
  answeredAt?: number;
  closedAt?: number;
}

/** Opens `count` connections over about `withinMs` (batches of 50), each writing `first` once and then nothing. */
async function openIdle(port: number, count: number, withinMs: number, first = ''): Promise<IdleClient[]> {
  const clients: IdleClient[] = [];
  const batches = Math.ceil(count / 50);
  for (let batch = 0; batch < batches; batch++) {
    for (let i = batch * 50; i < Math.min(count, (batch + 1) * 50); i++) {
      const socket = net.connect(port, '127.0.0.1');
      const client: IdleClient = { socket, openedAt: Date.now() };
      let received = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        received += chunk;
        if (client.statusLine === undefined && received.includes('\r\n')) {
          client.statusLine = received.slice(0, received.indexOf('\r\n'));
          client.answeredAt = Date.now();
        }
      });
      socket.on('error', () => {});
      socket.on('close', () => (client.closedAt = Date.now()));
      if (first) socket.write(first);
      clients.push(client);
    }
    await new Promise((resolve) => setTimeout(resolve, withinMs / batches));
  }
  return clients;
}

function assertMasterLived(f: BaseFixture): void {
  expect(f.running, `master exited (${f.exitCode}, ${f.exitSignal}); stderr: ${f.stderr}`).toBe(true);
  expect(f.stderr).not.toContain('ERR_INTERNAL_ASSERTION');
}

/** Waits (up to `timeout`) until noWorkers workers listen, by the master's status and by their pids. */
async function fullStrength(monPort: number, timeout: number): Promise<ClusterStatus> {
  let last: ClusterStatus | undefined;
  await until(
    async () => {
      last = await status(monPort).catch(() => undefined);
      return last !== undefined && last.workers.filter((w) => w.state === 'listening').length === NO_WORKERS;
    },
    timeout,
    `${NO_WORKERS} listening workers`,
    () => JSON.stringify(last?.workers.map((w) => [w.pid, w.state])),
    100,
  );
  return last!;
}

describe('monitor under an idle event-stream flood (nofile 256)', () => {
  it('holds at most limits.eventStreams streams and limits.monitorConnections sockets, refuses the rest at once, keeps the app answering, and ends each stream after its lifetime', async () => {
    const lifetime = 3000;
    const { f, port, monPort } = await start({ limits: { eventStreamLifetime: lifetime } }, 256);
    // 300 idle subscribers: more than the master's whole descriptor table leaves free.
    const clients = await openIdle(monPort, 300, 500, 'GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => clients.every((c) => c.statusLine !== undefined || c.closedAt !== undefined), 10_000, 'every subscriber answered or closed');
    const streams = clients.filter((c) => c.statusLine === 'HTTP/1.1 200 OK');
    const refused = clients.filter((c) => c.statusLine === 'HTTP/1.1 503 Service Unavailable');
    const dropped = clients.filter((c) => c.statusLine === undefined);
    expect(streams).toHaveLength(32);
    expect(refused.length + dropped.length).toBe(268);
    // A 503 closes its socket: the refused do not linger either.
    await until(() => refused.every((c) => c.closedAt !== undefined), 5000, 'refused subscribers closed');

    // The streams are still open; the app and the monitor still answer.
    expect(await answered(port, 100)).toEqual({ ok: 100, failures: {}, workers: NO_WORKERS });
    const during = await status(monPort);
    expect(during.pressure).toEqual({
      refused: { eventStreams: refused.length, ...(dropped.length > 0 ? { monitorConnections: dropped.length } : {}) },
      acceptErrors: {},
    });
    const metrics = (await request(monPort, '/metrics')).body;
    expect(metrics).toContain(`cluster2_refused_connections_total{reason="eventStreams"} ${refused.length}`);

    // Each stream ends once its lifetime is over (an EventSource would reconnect), not before.
    await until(() => streams.every((c) => c.closedAt !== undefined), lifetime + 5000, 'streams ended after their lifetime');
    for (const c of streams) expect(c.closedAt! - c.answeredAt!).toBeGreaterThanOrEqual(lifetime - 1000);
    const again = await openIdle(monPort, 1, 0, 'GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => again[0]!.statusLine !== undefined, 5000, 'a new subscriber answered');
    expect(again[0]!.statusLine).toBe('HTTP/1.1 200 OK');
    again[0]!.socket.destroy();
    for (const c of clients) c.socket.destroy();
    assertMasterLived(f);
    expect(f.events('died')).toEqual([]);
  });
});

describe('app port under an idle-connection flood (nofile 1024)', () => {
  it.each([
    ['sticky: { header }', { sticky: { header: 'x-forwarded-for' } }],
    ['round-robin', {}],
  ])(
    '%s: the master never exits, and within 5 s after the flood every worker listens and 100 of 100 requests are answered, by every worker',
    async (mode, options) => {
      const { f, port, monPort } = await start({ ...options, heartbeatInterval: 500 }, 1024);
      // 4,000 idle connections within about 3 s: four times the descriptors every process has.
      const clients = await openIdle(port, 4000, 3000);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      for (const c of clients) c.socket.destroy();
      const floodEnded = Date.now();
      assertMasterLived(f);
      const after = await fullStrength(monPort, 5000);
      expect(Date.now() - floodEnded).toBeLessThan(5000 + 1000);
      for (const worker of after.workers) expect(worker.state).toBe('listening');
      // Every worker answers some: none was left out of the hand-offs (round-robin waited forever
      // for the answer of a worker that had been out of descriptors).
      expect(await answered(port, 100)).toEqual({ ok: 100, failures: {}, workers: NO_WORKERS });
      assertMasterLived(f);
      if (mode.startsWith('sticky')) {
        // 4,000 connections in 3 s, each held up to 1 s for its head: past the 512 pending bound.
        expect(after.pressure?.refused.stickyPending ?? 0).toBeGreaterThan(0);
      }
    },
  );
});

describe("the master's own listeners out of descriptors", () => {
  it('monitor and sticky listeners at EMFILE (bounds raised out of the way): connections past the descriptors are closed, the master lives, and both listeners accept again once descriptors free up', async () => {
    const { f, port, monPort } = await start(
      { sticky: { header: 'x-forwarded-for' }, limits: { monitorConnections: 65_536, stickyPending: 1_048_576, stickyHeadTimeout: 10_000 } },
      256,
    );
    // More idle connections than the master has descriptors, on each listener in turn.
    const onMonitor = await openIdle(monPort, 400, 500);
    const onApp = await openIdle(port, 400, 500);
    await until(() => [...onMonitor, ...onApp].filter((c) => c.closedAt !== undefined).length >= 400, 5000, 'the connections the master could not take closed');
    for (const c of [...onMonitor, ...onApp]) c.socket.destroy();
    assertMasterLived(f);
    let after: ClusterStatus | undefined;
    await until(async () => (after = await status(monPort).catch(() => undefined)) !== undefined, 5000, 'the monitor answering again');
    // libuv closes what it cannot accept itself (with a spare descriptor it keeps for that), so
    // node reports an accept error only when even that fails: pressure.acceptErrors may stay empty.
    expect(after!.master.pid).toBe(f.pid);
    expect(await answered(port, 100)).toEqual({ ok: 100, failures: {}, workers: NO_WORKERS });
    assertMasterLived(f);
  });
});

describe('a worker out of descriptors', () => {
  it.each([
    ['sticky: { header }', { sticky: { header: 'x-forwarded-for' } }],
    ['round-robin', {}],
  ])(
    '%s: a connection the worker could not take at first (no descriptor free: NACK) is offered again and served; the master neither dies of ERR_INTERNAL_ASSERTION (node acknowledged a resent socket twice) nor stops handing the worker connections (round-robin waited forever for its answer)',
    async (_, options) => {
      const { f, port } = await start({ ...options, noWorkers: 1 }, 4096);
      expect((await request(port, '/fill?onNack=free&ms=20000')).body).toMatch(/^filling \d+$/);
      // Each new connection reaches a worker with no free descriptor (NACK), which then frees two:
      // node resends a socket (sticky), cluster2 offers a round-robin connection again.
      for (let i = 0; i < 5; i++) {
        const answer = await request(port, '/', { timeout: 5000 });
        expect(answer.body).toMatch(/^ok \d+$/);
      }
      assertMasterLived(f);
      expect(f.events('died')).toEqual([]);
    },
  );

  it('keeps sending heartbeats when process.memoryUsage() fails with EMFILE, reports it once, and stays alive', async () => {
    const { f, port } = await start({ noWorkers: 1, heartbeatInterval: 200 }, 4096);
    const from = f.messages.length;
    const answer = await request(port, '/fill?ms=3000');
    const pid = Number(answer.headers['x-worker-pid']);
    const warning = await f.waitFor('warning', { from, timeout: 5000 });
    expect((warning.args![0] as { message: string }).message).toMatch(/^heartbeat: could not read memory \(EMFILE/);
    const warnedAt = warning.time;
    // Heartbeats still arrive while the worker is out of descriptors (the master would replace a silent one).
    const beat = (m: FixtureMessage) => {
      const workers = (m.args![0] as { workers: Array<{ pid: number; lastHeartbeat?: number }> }).workers;
      return (workers.find((w) => w.pid === pid)?.lastHeartbeat ?? 0) > warnedAt + 1000;
    };
    await f.waitFor('heartbeat', { from, where: beat, timeout: 5000 });
    // Descriptors back: it serves again, the same worker, and said so once only.
    await until(async () => (await request(port, '/', { timeout: 2000 }).catch(() => undefined))?.status === 200, 10_000, 'the worker serving again');
    expect(Number((await request(port, '/')).headers['x-worker-pid'])).toBe(pid);
    expect(f.events('warning', from).filter((m) => /heartbeat/.test((m.args![0] as { message: string }).message))).toHaveLength(1);
    expect(f.events('died')).toEqual([]);
    assertMasterLived(f);
  });
});
