// Upgraded sockets leave HTTP accounting: the idle timeout (`timeout`) must not close a WebSocket,
// active or idle, while a plain keep-alive HTTP socket next to it is still closed at `timeout`.
// Regression test: a ws client sending every 500 ms got 1006 at 3.1 s with timeout 3000.
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { wsText } from '../support/ws-text.js';
import { Fixture, killAll, openWebSocket, rawClient, roundTrip, until, type WorkerFigures } from './harness.js';

const fixtures: Fixture[] = [];
afterEach(() => killAll(fixtures.splice(0)));

const TIMEOUT = 3000;
const sum = (workers: WorkerFigures[], key: keyof WorkerFigures) => workers.reduce((total, w) => total + Number(w[key] ?? 0), 0);

describe('WebSockets and the idle timeout', () => {
  it('keeps an active and an idle WebSocket open for 3× timeout while a keep-alive HTTP socket is closed at timeout', async () => {
    const fixture = new Fixture({ noWorkers: 2, timeout: TIMEOUT, heartbeatInterval: 250 }, { FIXTURE_HEARTBEATS: '1' });
    fixtures.push(fixture);
    const port = await fixture.port();

    const active = await openWebSocket(port);
    const idle = await openWebSocket(port);
    const openedAt = Date.now();
    let closes = 0;
    for (const socket of [active, idle]) void socket.closed.then(() => closes++);
    let sent = 0;
    let acked = 0;
    active.ws.on('message', (data) => {
      if ((JSON.parse(wsText(data)) as { type: string }).type === 'ack') acked++;
    });
    const ticker = setInterval(() => active.ws.send(JSON.stringify({ n: ++sent })), 500);

    // A plain HTTP/1.1 keep-alive request on a raw socket: the server keeps it open, idle, until `timeout`.
    const plain = await rawClient(port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
    await until(() => /\r\n\r\nok \d+$/.test(plain.text()), 5000, 'the keep-alive answer');
    const answeredAt = Date.now();
    expect(plain.text()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);

    // The master sees both WebSockets as upgraded connections, none of them as a request in flight.
    const beat = await fixture.waitFor('heartbeat', { where: (m) => sum(m.workers!, 'upgraded') === 2 && sum(m.workers!, 'connections') === 3, timeout: 5000 });
    expect(sum(beat.workers!, 'inFlight')).toBe(0);

    await until(() => plain.endedAt !== undefined, TIMEOUT + 5000, 'the server to end the idle keep-alive socket');
    const keptFor = plain.endedAt! - answeredAt;
    console.log(`[realtime] keep-alive HTTP socket ended by the server ${keptFor} ms after its answer (timeout ${TIMEOUT} ms)`);
    expect(keptFor).toBeGreaterThanOrEqual(TIMEOUT - 50);
    expect(keptFor).toBeLessThanOrEqual(TIMEOUT + 2000);

    // Three idle timeouts in all, measured from the WebSockets' opening: both must still be open.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, openedAt + 3 * TIMEOUT + 200 - Date.now())));
    clearInterval(ticker);
    expect(closes).toBe(0);
    expect(active.ws.readyState).toBe(WebSocket.OPEN);
    expect(idle.ws.readyState).toBe(WebSocket.OPEN);
    expect(sent).toBeGreaterThanOrEqual(17);
    await until(() => acked === sent, 5000, `acks for all ${sent} messages (got ${acked})`);
    // The idle one still carries traffic both ways, on the same worker.
    const echo = await roundTrip(idle.ws, 'still there');
    expect(echo).toEqual({ type: 'echo', text: 'still there', pid: idle.pid });

    // Only the HTTP socket was closed for idling, and the workers did not die.
    await fixture.waitFor('heartbeat', { from: fixture.messages.length, where: (m) => sum(m.workers!, 'idleCloses') === 1, timeout: 5000 });
    expect(fixture.warnings()).toEqual([]);
    expect(fixture.events('died')).toHaveLength(0);
    active.ws.close(1000);
    idle.ws.close(1000);
    expect((await active.closed).code).toBe(1000);
    expect((await idle.closed).code).toBe(1000);
    // Once closed, they leave the counts.
    await fixture.waitFor('heartbeat', { from: fixture.messages.length, where: (m) => sum(m.workers!, 'upgraded') === 0, timeout: 5000 });
  });
});
