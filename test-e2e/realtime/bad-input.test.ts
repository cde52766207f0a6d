// Bad input on the upgrade path: malformed handshakes, an upgrade nobody listens for, and a
// client that never answers the close handshake. Each gets a clear answer, no worker dies, and a
// drain held by a silent client still ends at shutdownTimeout.
import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, closeCode, killAll, openWebSocket, rawClient, request, roundTrip, serverFrames, until, upgradeRequest } from './harness.js';

const fixtures: Fixture[] = [];
afterEach(() => killAll(fixtures.splice(0)));

/** Resolves once the server ended the raw connection; the bytes it sent are then complete. */
async function answered(client: Awaited<ReturnType<typeof rawClient>>): Promise<string> {
  await until(
    () => client.endedAt !== undefined || client.closedAt !== undefined,
    5000,
    'the server to end the connection',
    () => `; got ${JSON.stringify(client.text())}`,
  );
  return client.text();
}

describe('malformed upgrade requests', () => {
  it('answers each with 400 or a protocol close frame, and the workers keep serving', async () => {
    const fixture = new Fixture({ noWorkers: 2 });
    fixtures.push(fixture);
    const port = await fixture.port();

    // No Sec-WebSocket-Key: ws refuses the handshake.
    const noKey = await rawClient(port, upgradeRequest('/', { 'sec-websocket-key': undefined }));
    expect(await answered(noKey)).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*\r\n\r\nMissing or invalid Sec-WebSocket-Key header$/);

    // An unsupported protocol version.
    const badVersion = await rawClient(port, upgradeRequest('/', { 'sec-websocket-version': '99' }));
    expect(await answered(badVersion)).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);

    // A valid handshake followed by garbage: 101, then ws closes with 1002 (protocol error) and ends the connection.
    const garbage = await rawClient(port, Buffer.concat([Buffer.from(upgradeRequest('/')), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x13, 0x37])]));
    const text = await answered(garbage);
    expect(text).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(closeCode(serverFrames(garbage.received()))).toBe(1002);

    // Garbage inside the headers: node:http's parser answers 400 and closes.
    const broken = await rawClient(port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\x01\x02 not a header\r\n\r\n');
    expect(await answered(broken)).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);

    // Nothing died, and both HTTP and WebSockets still work.
    const plain = await request(port, '/');
    expect(plain.status).toBe(200);
    expect(plain.body).toMatch(/^ok \d+$/);
    const socket = await openWebSocket(port);
    expect(await roundTrip(socket.ws, 'hello')).toEqual({ type: 'echo', text: 'hello', pid: socket.pid });
    socket.ws.close(1000);
    expect((await socket.closed).code).toBe(1000);
    expect(fixture.events('died')).toHaveLength(0);
  });

  it('an upgrade request to a server with no upgrade listener is answered by the app as a plain request', async () => {
    const fixture = new Fixture({ noWorkers: 2 }, { FIXTURE_MODE: 'no-upgrade' });
    fixtures.push(fixture);
    const port = await fixture.port();
    const workers = fixture.workerPids();
    const client = await rawClient(port, upgradeRequest('/'));
    await until(
      () => /\r\n\r\nplain answer to upgrade websocket from \d+$/.test(client.text()),
      5000,
      "the app's answer",
      () => `; got ${JSON.stringify(client.text())}`,
    );
    const text = client.text();
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    const pid = Number(/x-worker-pid: (\d+)/i.exec(text)![1]);
    expect(workers).toContain(pid);
    expect(text).toContain(`plain answer to upgrade websocket from ${pid}`);
    client.socket.destroy();
    // The connection stays an HTTP one: a second request on it is answered too.
    const again = await request(port, '/', { headers: { upgrade: 'websocket', connection: 'Upgrade' } });
    expect(again.status).toBe(200);
    expect(again.body).toMatch(/^plain answer to upgrade websocket from \d+$/);
    expect(fixture.events('died')).toHaveLength(0);
  });
});

describe('a client that never answers the close handshake', () => {
  it('gets the 1001 close frame; the drain still ends at shutdownTimeout with a warning, and the master exits 0', async () => {
    const SHUTDOWN_TIMEOUT = 3000;
    const fixture = new Fixture({ noWorkers: 2, shutdownTimeout: SHUTDOWN_TIMEOUT });
    fixtures.push(fixture);
    const port = await fixture.port();
    // Completes the handshake, then ignores everything: never sends its close frame, never closes.
    const silent = await rawClient(port, upgradeRequest('/'));
    await until(() => serverFrames(silent.received()).length >= 1, 5000, 'the hello frame');
    expect(silent.text()).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(fixture.events('died')).toHaveLength(0);

    const startedAt = Date.now();
    fixture.send('shutdown');
    await until(() => closeCode(serverFrames(silent.received())) !== undefined, 5000, 'the close frame');
    expect(closeCode(serverFrames(silent.received()))).toBe(1001);
    await fixture.waitForExit(SHUTDOWN_TIMEOUT + 10_000);
    const exitMs = fixture.exitedAt! - startedAt;
    console.log(
      `[realtime] drain held by a client that ignores the close frame: master exited ${exitMs} ms after shutdown() (shutdownTimeout ${SHUTDOWN_TIMEOUT} ms)`,
    );
    expect(fixture.exitCode).toBe(0);
    // The worker waited for the close handshake until shutdownTimeout, then destroyed the socket.
    expect(exitMs).toBeGreaterThanOrEqual(SHUTDOWN_TIMEOUT - 100);
    expect(exitMs).toBeLessThan(SHUTDOWN_TIMEOUT + 3000);
    await until(() => silent.closedAt !== undefined, 2000, "the silent client's socket to close");
    expect(silent.closedAt! - startedAt).toBeGreaterThanOrEqual(SHUTDOWN_TIMEOUT - 100);
    expect(fixture.warnings().filter((w) => /destroying/.test(w))).toHaveLength(1);
    // Both workers exited after the shutdown began, with code 0: none died of it.
    const died = fixture.events('died');
    expect(died).toHaveLength(2);
    for (const m of died) {
      expect(m.time).toBeGreaterThanOrEqual(startedAt);
      expect(m.args!.slice(1)).toEqual([0, null]);
    }
  });
});
