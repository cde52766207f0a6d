// The `draining` hook lets the app close its WebSockets with 1001 Going Away, and the drain waits
// for them. Regression tests: SIGTERM with 4 open WebSockets gave every client
// 1006 about 1 s later, and nothing let the app send a close frame first.
import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, killAll, openWebSocket, until } from './harness.js';
import { NumberedClient } from './numbered-client.js';

const fixtures: Fixture[] = [];
afterEach(() => killAll(fixtures.splice(0)));

describe('draining closes WebSockets with 1001', () => {
  it.each([
    ['2 workers', { noWorkers: 2 }],
    ['cluster: false', { cluster: false }],
  ])('SIGTERM with 4 open WebSockets (%s): every client gets 1001, and the process exits 0 well before shutdownTimeout', async (_name, extra) => {
    const fixture = new Fixture({ ...extra, shutdownTimeout: 10_000 });
    fixtures.push(fixture);
    const port = await fixture.port();
    const sockets = await Promise.all([1, 2, 3, 4].map(() => openWebSocket(port)));
    const signalledAt = Date.now();
    fixture.child.kill('SIGTERM');
    const closes = await Promise.all(sockets.map((s) => s.closed));
    await fixture.waitForExit(15_000);
    expect(closes.map((c) => c.code)).toEqual([1001, 1001, 1001, 1001]);
    expect(closes.map((c) => c.reason)).toEqual(['going away', 'going away', 'going away', 'going away']);
    expect(fixture.exitCode).toBe(0);
    expect(fixture.exitedAt! - signalledAt).toBeLessThan(3000);
    expect(fixture.warnings().filter((w) => /shutdownTimeout/.test(w))).toEqual([]);
  });
});

const CLIENTS = 200;
const WORKERS = 4;
const RELOADS = 5;
/**
 * shutdownDelay is 0 and shutdownTimeout 10 s here: a drain held by the sockets would last 10 s per
 * worker. A drain that the app's close ends takes idleGrace (250 ms) and the close handshakes:
 * 27–411 ms per worker here, and the whole reload (4 successors forked one at a time, 200 clients
 * reconnecting, on 2 cores) 1.0–2.1 s. With both cores already busy with other work, drains took
 * 88–1157 ms and reloads 7.0–13.5 s (forking and starting the successors is what slows down).
 * The limits are about the drain, not speed: a drain held by the sockets lasts 10 s, so 4 s per
 * worker and 25 s per reload (4 held drains: over 40 s) still tell the two apart.
 */
const DRAIN_LIMIT_MS = 4000;
const RELOAD_LIMIT_MS = 25_000;
const byNumber = (a: number, b: number) => a - b;

describe('rolling reload with 200 WebSocket clients', () => {
  it('5 reloads of 4 workers: every close is 1001, every client moves to a new worker each time, no acknowledged message is lost', async () => {
    const fixture = new Fixture({ noWorkers: WORKERS, shutdownTimeout: 10_000 });
    fixtures.push(fixture);
    const port = await fixture.port();
    const clients = Array.from({ length: CLIENTS }, (_, i) => new NumberedClient(`ws://127.0.0.1:${port}/?client=${i}`));
    for (const client of clients) client.connect();
    const sending = setInterval(() => {
      for (const client of clients) client.sendNext();
    }, 200);
    try {
      let workers = fixture.workerPids();
      expect(workers).toHaveLength(WORKERS);
      await until(() => clients.every((c) => c.pid !== undefined && workers.includes(c.pid)), 20_000, `${CLIENTS} clients connected`);
      const durations: number[] = [];
      const exits: number[] = [];
      const drains: number[] = [];
      for (let reload = 1; reload <= RELOADS; reload++) {
        const from = fixture.messages.length;
        const before = clients.map((c) => ({ connections: c.pids.length, pid: c.pid!, closes: c.closes.length }));
        const old = new Set(workers);
        const startedAt = Date.now();
        const result = await fixture.call('reload');
        durations.push(Date.now() - startedAt);
        expect(result.event, result.message).toBe('called');
        // reload() resolves once every worker is replaced; the last old one may still be exiting.
        await fixture.waitFor('died', { from, count: WORKERS });
        exits.push(Date.now() - startedAt);
        // Each old worker's drain: from 'recycled' (it starts draining) to 'died'.
        for (const pid of old) {
          const recycled = fixture.events('recycled', from).find((m) => m.args![0] === pid);
          const died = fixture.events('died', from).find((m) => m.args![0] === pid);
          expect(recycled?.args![1]).toBe('reload');
          drains.push(died!.time - recycled!.time);
        }
        const successors = fixture.pids('listening', from);
        expect(successors).toHaveLength(WORKERS);
        expect(fixture.pids('died', from).sort(byNumber)).toEqual([...old].sort(byNumber));
        workers = fixture.workerPids();
        expect([...workers].sort(byNumber)).toEqual([...successors].sort(byNumber));
        await until(
          () => clients.every((c) => c.pid !== undefined && workers.includes(c.pid)),
          20_000,
          `every client on a successor after reload ${reload}`,
          () => `: ${clients.filter((c) => c.pid === undefined || !workers.includes(c.pid)).length} not yet`,
        );
        clients.forEach((client, i) => {
          // Reconnected at least once, and each connection it lost was to a worker that went away.
          expect(client.pids.length).toBeGreaterThan(before[i]!.connections);
          const lost = client.closes.slice(before[i]!.closes);
          expect(lost.length).toBeGreaterThanOrEqual(1);
          for (const close of lost) expect(old.has(close.pid), `client ${i} lost a connection to ${close.pid}, not an old worker`).toBe(true);
          expect(workers).toContain(client.pid);
          expect(old.has(client.pid!)).toBe(false);
        });
      }
      clearInterval(sending);
      // Every message sent gets its ack before the end: nothing is left unacknowledged.
      await until(
        () => clients.every((c) => c.unacked.size === 0),
        10_000,
        'every message acknowledged',
        () => `: ${clients.reduce((n, c) => n + c.unacked.size, 0)} unacknowledged`,
      );

      const closes = clients.flatMap((c) => c.closes);
      const codes = new Map<number, number>();
      for (const close of closes) codes.set(close.code, (codes.get(close.code) ?? 0) + 1);
      const sent = clients.reduce((n, c) => n + c.sent, 0);
      const resent = clients.reduce((n, c) => n + c.resent, 0);
      console.log(
        `[realtime] ${RELOADS} reloads of ${WORKERS} workers with ${CLIENTS} WebSockets: reload() resolved after ${durations.join(', ')} ms, last old worker exited after ${exits.join(', ')} ms; ` +
          `each old worker's drain ${Math.min(...drains)}–${Math.max(...drains)} ms; ` +
          `${closes.length} closes by code ${JSON.stringify(Object.fromEntries(codes))}; ${sent} messages, ${resent} re-sent after a reconnect`,
      );
      expect(codes.get(1006) ?? 0).toBe(0);
      expect([...codes.keys()]).toEqual([1001]);
      expect(clients.reduce((n, c) => n + c.failedConnects, 0)).toBe(0);
      expect(clients.reduce((n, c) => n + c.foreignAcks, 0)).toBe(0);
      // Delivery is at least once (a message the old worker got after its close frame is re-sent);
      // acknowledgement is exactly once: every number from 1 to the last was acknowledged, once.
      clients.forEach((client, i) => {
        const wrong = [];
        for (let n = 1; n <= client.sent; n++) if (client.acks.get(n) !== 1) wrong.push(`${n}: ${client.acks.get(n) ?? 0}`);
        expect(wrong, `client ${i}: messages not acknowledged exactly once`).toEqual([]);
        expect(client.acks.size).toBe(client.sent);
      });
      expect(sent).toBeGreaterThan(CLIENTS * RELOADS);
      // The drain waits for the sockets only until the app closed them: no reload nears shutdownTimeout.
      for (const drain of drains) expect(drain).toBeLessThan(DRAIN_LIMIT_MS);
      for (const duration of [...durations, ...exits]) expect(duration).toBeLessThan(RELOAD_LIMIT_MS);
      expect(fixture.warnings().filter((w) => /shutdownTimeout/.test(w))).toEqual([]);
      expect(fixture.events('died').every((m) => m.args![1] === 0)).toBe(true);
    } finally {
      clearInterval(sending);
      await Promise.all(clients.map((c) => c.stop()));
    }
  });
});
