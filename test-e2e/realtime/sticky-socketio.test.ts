// socket.io with cluster2's sticky sessions, for real: socket.io 4.8 on 4 workers, 200
// socket.io-client clients with default transports (long-polling first, then the upgrade to
// WebSocket), straight to cluster2 and through a real HAProxy, and @socket.io/cluster-adapter
// carrying a broadcast from one worker to the clients of all four.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { HAProxy } from '../haproxy/haproxy.js';
import { Fixture, request, until } from '../support/fixture.js';
import { closeClients, connectClients, settled, spread, type SioClient } from './sio-clients.js';

const APP = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'sticky-socketio-app.mjs');
const CLIENTS = 200;
const NO_WORKERS = 4;
/**
 * Behind one HAProxy, the 200 clients' connection storm arrives at once, and while the machine is
 * busy (the rest of the suite runs beside this file) more connections can wait in the master for
 * their head or their hand-off than the default bound (limits.stickyPending, 512). Past it the
 * master drops the one that has waited longest for its head, and HAProxy answers that client 502
 * ("invalid or incomplete response"). 502s of that kind (1 and 27 clients) were seen in two CI
 * runs, with this bound the likeliest cause. These tests are about routing, not shedding, so they
 * give the master room, as a deployment with such bursts would; should a 502 come back, the
 * master's warnings in the failure message name the bound that was hit, if any.
 */
const STICKY_BEHIND_PROXY = { sticky: { header: 'x-forwarded-for' }, limits: { stickyPending: 4096 } };

const fixtures: Fixture[] = [];
const proxies: HAProxy[] = [];
const clientSets: SioClient[][] = [];
afterEach(async () => {
  for (const clients of clientSets.splice(0)) closeClients(clients);
  for (const haproxy of proxies.splice(0)) await haproxy.stop();
  for (const fixture of fixtures.splice(0)) fixture.kill();
});

async function startApp(options: object, env: Record<string, string> = {}): Promise<{ app: Fixture; port: number }> {
  const app = new Fixture(APP, { port: 0, host: '127.0.0.1', monitor: false, pids: false, noWorkers: NO_WORKERS, ...options }, { env });
  fixtures.push(app);
  const port = (await app.readyReport()).ports![0]!;
  return { app, port };
}

async function behindHAProxy(port: number): Promise<HAProxy> {
  // One server: checks that fail mark it DOWN and every request gets 503. What is tested is sticky
  // routing, not how fast HAProxy notices a failure, so checks may take up to 5 s and it takes 10
  // failed ones in a row. With both cores busy, 2 checks of 1 s timed out (103 of 200 clients got
  // 503); with 3 of 5 s, one run in about a dozen still saw the server DOWN during the 200
  // clients' connection storm with the cluster adapter's IPC on top.
  const haproxy = await HAProxy.start({ servers: [{ name: 'A', port }], inter: 1000, fall: 10, rise: 1, checkTimeout: 5000, forwardFor: true });
  proxies.push(haproxy);
  return haproxy;
}

function clients(port: number, reconnection = false): SioClient[] {
  const started = connectClients(`http://127.0.0.1:${port}`, CLIENTS, { reconnection });
  clientSets.push(started);
  return started;
}

function summary(all: SioClient[]): string {
  const errors = all.flatMap((c) => c.errors);
  return `settled ${all.filter(settled).length}/${all.length}, errors ${errors.length} (${[...new Set(errors)].slice(0, 5).join(' | ')}), disconnects ${all.flatMap((c) => c.disconnects).length}, spread ${JSON.stringify([...spread(all)])}`;
}

/** `app`'s warnings join the summary: a refusal under pressure (limits) says which bound was hit. */
async function allSettled(all: SioClient[], app?: Fixture, timeout = 30_000): Promise<void> {
  await until(
    () => all.every(settled),
    timeout,
    `${all.length} clients connected and upgraded`,
    () => `${summary(all)}${app ? `; master warnings: ${JSON.stringify(app.events('warning').map((m) => m.args))}` : ''}`,
    50,
  );
}

describe('socket.io with sticky sessions', () => {
  it('200 of 200 clients connect (polling, then upgrade) straight to 4 workers with sticky: true', async () => {
    const { port } = await startApp({ sticky: true });
    const all = clients(port);
    await allSettled(all);
    expect(all.flatMap((c) => c.errors)).toEqual([]);
    expect(all.flatMap((c) => c.disconnects)).toEqual([]);
    // Each client from its own address: the keys spread.
    expect(spread(all).size).toBeGreaterThanOrEqual(3);
  });

  it('without sticky most of the same 200 clients fail (the bug sticky sessions fix)', async () => {
    const { port } = await startApp({});
    const all = clients(port);
    // Each client ends up either working or failed (an error, or a disconnect after connecting).
    const failed = (c: SioClient) => c.errors.length > 0 || c.disconnects.length > 0;
    await until(
      () => all.every((c) => failed(c) || settled(c)),
      30_000,
      'every client to work or fail',
      () => summary(all),
      50,
    );
    // Let the survivors meet the next poll or the upgrade, where a session on another worker fails too.
    await until(
      () => all.every((c) => failed(c) || (settled(c) && c.socket.connected)),
      5000,
      'settle',
      () => summary(all),
    );
    const failures = all.filter(failed).length;
    console.log(`socket.io without sticky sessions: ${failures} of ${CLIENTS} clients failed (${summary(all)})`);
    expect(failures).toBeGreaterThan(CLIENTS / 2);
    expect(all.flatMap((c) => c.errors).some((e) => /Session ID unknown|xhr (post|poll) error|websocket error/i.test(e))).toBe(true);
  });

  it('200 of 200 through HAProxy (option forwardfor, http-reuse never) with sticky: { header: "x-forwarded-for" }, over at least 3 of 4 workers', async () => {
    const { app, port } = await startApp(STICKY_BEHIND_PROXY);
    const haproxy = await behindHAProxy(port);
    const all = clients(haproxy.port);
    await allSettled(all, app);
    expect(all.flatMap((c) => c.errors)).toEqual([]);
    expect(all.flatMap((c) => c.disconnects)).toEqual([]);
    expect(spread(all).size).toBeGreaterThanOrEqual(3);
    // Every client stays on its worker: a round trip now lands where its first 'hello' came from.
    const answers = await Promise.all(all.map((c) => c.socket.timeout(5000).emitWithAck('whoami') as Promise<number>));
    expect(answers).toEqual(all.map((c) => c.pids[0]));
  });

  it("@socket.io/cluster-adapter works unchanged: one worker's io.emit reaches all 200 clients on 4 workers", async () => {
    const { app, port } = await startApp(STICKY_BEHIND_PROXY, { SIO_ADAPTER: 'cluster' });
    const haproxy = await behindHAProxy(port);
    const all = clients(haproxy.port);
    await allSettled(all, app);
    expect(spread(all).size).toBeGreaterThanOrEqual(3);
    for (let n = 1; n <= 3; n++) {
      const answer = await request(port, `/broadcast?n=${n}`);
      expect(answer.status).toBe(200);
      const { pid, local } = JSON.parse(answer.body) as { pid: number; local: number };
      // The emitting worker holds only some of the clients; the adapter carries the rest.
      expect(local).toBeLessThan(CLIENTS);
      expect(spread(all).get(pid)).toBe(local);
      await until(
        () => all.every((c) => c.news.includes(n)),
        10_000,
        `news ${n} at every client`,
        () => `${all.filter((c) => c.news.includes(n)).length}/${CLIENTS}`,
      );
    }
    expect(all.every((c) => c.news.join() === '1,2,3')).toBe(true);
    // Neither side of cluster2 complained about the adapter's messages.
    expect(app.events('warning')).toEqual([]);
  });

  it('through 5 rolling reloads every client reconnects to a new worker and none sees "Session ID unknown"', async () => {
    const { app, port } = await startApp({ ...STICKY_BEHIND_PROXY, shutdownTimeout: 10_000 });
    const haproxy = await behindHAProxy(port);
    const all = clients(haproxy.port, true);
    await allSettled(all, app);
    for (let reload = 1; reload <= 5; reload++) {
      const before = new Set(app.workerPids());
      expect((await app.call('reload')).event).toBe('called');
      // reload() resolves once the old workers have closed; a client on starved CPUs may not have
      // seen its transport close yet and still looks settled on its old worker: wait for the reconnect.
      await until(
        () => all.every((c) => c.connects === reload + 1 && settled(c)),
        30_000,
        `${all.length} clients reconnected after reload ${reload}`,
        () => summary(all),
        50,
      );
      // Every client now talks to a worker of this generation.
      for (const client of all) expect(before.has(client.pids.at(-1)!)).toBe(false);
      expect(all.every((c) => c.connects === reload + 1)).toBe(true);
    }
    const errors = all.flatMap((c) => c.errors);
    expect(errors.filter((e) => /Session ID unknown/.test(e))).toEqual([]);
    expect(errors).toEqual([]);
    // The only disconnects are the drains': one per client per reload, the transport closed under it.
    const disconnects = all.flatMap((c) => c.disconnects);
    expect(disconnects).toHaveLength(5 * CLIENTS);
    expect(disconnects.filter((reason) => reason !== 'transport close')).toEqual([]);
  });
});
