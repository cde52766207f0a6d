// Fastify with `http2: true` under @cluster2/fastify through rolling reloads: the adapter hands
// Fastify's node:http2 server to the Cluster, whose drain sends GOAWAY to every session, so the
// same H2Load as the plain node:http2 suite sees no failed stream; ECV is the adapter's own route, over HTTP/2.
import { afterEach, describe, expect, it } from 'vitest';
import { H2Load, h2Get } from './h2-client.js';
import { Fixture, killAll, until } from './harness.js';

const RELOADS = 5;
const fixtures: Fixture[] = [];
afterEach(() => killAll(fixtures.splice(0)));

describe('Fastify with http2: true under @cluster2/fastify', () => {
  it(`answers /ecv over HTTP/2 from the adapter's route, and 4 sessions x 16 streams through ${RELOADS} reloads fail 0 streams`, async () => {
    const f = new Fixture({}, {}, 'fastify-h2-app.mjs');
    fixtures.push(f);
    const port = await f.ready();
    const ecv = await h2Get(port, '/ecv');
    expect(ecv.status).toBe(200);
    expect(ecv.body).toMatch(/^status=AVAILABLE/);
    expect(ecv.headers['x-served-by'], "the adapter's route answered, not core").toBe('fastify');
    // The adapter caps an http server's keepAliveTimeout; an HTTP/2 server has none, and got no NaN.
    expect((await h2Get(port, '/keep-alive-timeout')).body).toBe('undefined');

    const firstPids = f.workerPids();
    const load = new H2Load({ origin: `http://127.0.0.1:${port}`, sessions: 4, streams: 16 }).start();
    const startedAt = Date.now();
    for (let round = 0; round < RELOADS; round++) {
      const before = load.total;
      await until(() => load.total >= before + 200, 20_000, 'streams answered between reloads');
      await f.reload();
    }
    const sessionsBeforeLast = load.sessions.length;
    await until(() => f.workerPids().length === 2, 20_000, 'the last drained worker to exit');
    const after = load.total;
    await until(() => load.total >= after + 200, 20_000, 'streams answered after the last reload');
    const seconds = (Date.now() - startedAt) / 1000;
    await load.stop();

    expect(load.failures).toEqual([]);
    expect(load.failed).toBe(0);
    expect(load.ok).toBeGreaterThan(RELOADS * 200);
    expect(load.closedWithoutGoaway(), 'sessions closed without a GOAWAY').toEqual([]);
    expect(load.sessions.filter((record) => record.error !== undefined).map((record) => record.error)).toEqual([]);
    const lastPids = f.workerPids();
    for (const pid of load.pidsFrom(sessionsBeforeLast)) expect(lastPids).toContain(pid);
    for (const pid of firstPids) expect(lastPids).not.toContain(pid);
    // Every drained worker finished its drain in time (no warning) and exited 0, Fastify's close() included.
    expect(f.events('warning').map((m) => m.args)).toEqual([]);
    expect(f.events('died').map((m) => m.args![1])).toEqual(new Array(2 * RELOADS).fill(0));
    // The adapter's ECV route still answers on the new workers.
    expect((await h2Get(port, '/ecv')).body).toMatch(/^status=AVAILABLE/);
    console.log(
      `fastify http2, ${RELOADS} reloads in ${seconds.toFixed(1)} s: ${load.ok} streams ok, ${load.failed} failed, ${load.refused} refused (retried), ${load.notSent} not sent (retried), ${load.sessions.length} sessions`,
    );
  });
});
