// @fastify/websocket under @cluster2/fastify. Its own close behaviour is a preClose hook calling
// `client.close()` on every client (a close frame without a status code: 1005 at the client), but
// only app.close() runs it, and the adapter runs close() after the drain, which waits for those
// very sockets. So the adapter closes @fastify/websocket's clients itself as the drain starts, with
// 1001 Going Away (reason 'server draining'): the clients see a clean close, not 1006.
import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, killAll, openWebSocket, roundTrip } from './harness.js';

const fixtures: Fixture[] = [];
afterEach(() => killAll(fixtures.splice(0)));

describe('Fastify with @fastify/websocket', () => {
  it('on shutdown every client gets a 1001 close frame from the adapter, not 1006, and the master exits 0 at once', async () => {
    const fixture = new Fixture({ shutdownTimeout: 10_000 }, {}, 'fastify-app.mjs');
    fixtures.push(fixture);
    const port = await fixture.port();
    const sockets = await Promise.all([1, 2, 3, 4].map(() => openWebSocket(port, '/ws')));
    expect(new Set(sockets.map((s) => s.pid)).size).toBe(2);
    expect(await roundTrip(sockets[0]!.ws, 'hi')).toEqual({ type: 'echo', text: 'hi', pid: sockets[0]!.pid });
    const startedAt = Date.now();
    fixture.send('shutdown');
    const closes = await Promise.all(sockets.map((s) => s.closed));
    await fixture.waitForExit(15_000);
    console.log(
      `[realtime] Fastify + @fastify/websocket shutdown: close codes ${closes.map((c) => c.code).join(', ')}; master exited after ${fixture.exitedAt! - startedAt} ms`,
    );
    expect(closes.map((c) => c.code)).toEqual([1001, 1001, 1001, 1001]);
    expect(closes.map((c) => c.reason)).toEqual(['server draining', 'server draining', 'server draining', 'server draining']);
    expect(fixture.exitCode).toBe(0);
    expect(fixture.exitedAt! - startedAt).toBeLessThan(3000);
    expect(fixture.warnings().filter((w) => /shutdownTimeout/.test(w))).toEqual([]);
  });
});
