// Misbehaving HTTP/2 clients, written frame by frame: streams opened after a GOAWAY, floods of
// SETTINGS, PING and reset streams, garbage instead of the preface. The worker answers by the
// protocol and keeps serving everyone else; nothing crashes.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { get, openSession, type WatchedSession } from './h2-client.js';
import { Fixture, holdUntilReleased, killAll, until } from './harness.js';
import { FRAME, RawH2Client } from './raw-frames.js';

const fixtures: Fixture[] = [];
const clients: { destroy(): void }[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.destroy();
  killAll(fixtures.splice(0));
});

function start(options: object, env: Record<string, string> = {}): Fixture {
  const fixture = new Fixture({ noWorkers: 1, ...options }, env);
  fixtures.push(fixture);
  return fixture;
}

function raw(port: number, ackPings = true): RawH2Client {
  const client = new RawH2Client(port, ackPings);
  clients.push(client);
  return client;
}

async function wellBehaved(port: number): Promise<WatchedSession> {
  const watched = await openSession(`http://127.0.0.1:${port}`);
  clients.push({ destroy: () => watched.session.destroy() });
  return watched;
}

describe('HTTP/2 bad input', () => {
  it('a client that ignores GOAWAY: its stream in flight is served to the end, a stream it opens afterwards is never processed (above last-stream-id: safe to retry)', async () => {
    const hold = holdUntilReleased();
    const f = start({ heartbeatInterval: 100 }, { ...hold.env, FIXTURE_HEARTBEATS: '1' });
    const port = await f.ready();
    const client = raw(port);
    client.get(1, '/hold');
    await f.waitFor('heartbeat', { where: (m) => (m.workers?.[0]?.inFlight ?? 0) >= 1 });

    f.send('reload');
    await until(() => client.goaways().length >= 1, 10_000, 'the GOAWAY');
    expect(client.goaways()[0]).toEqual({ lastStreamId: 1, code: 0 });
    client.get(3);
    client.get(5, '/hold');
    hold.release();
    await until(() => client.closed, 10_000, 'the connection to close once stream 1 is done');
    expect(client.answered(1)).toBe(true);
    expect(
      client
        .received(FRAME.DATA, 1)
        .map((f) => f.payload.toString())
        .join(''),
    ).toMatch(/^held \d+$/);
    expect(client.answered(3) || client.answered(5)).toBe(false);
    // nghttp2 ignores them or refuses them (REFUSED_STREAM, 7): either way they were never processed.
    const resets = [...client.received(FRAME.RST_STREAM, 3), ...client.received(FRAME.RST_STREAM, 5)].map((f) => f.payload.readUInt32BE(0));
    expect(resets.every((code) => code === 7)).toBe(true);
    await f.waitFor('died');
    expect(f.events('died')[0]!.args![1]).toBe(0);
  });

  for (const [name, flood] of [
    ['SETTINGS', (c: RawH2Client) => c.settings()],
    ['PING', (c: RawH2Client) => c.ping()],
  ] as const) {
    it(`a ${name} flood (20,000 frames, acks unread for a while): the worker stays up and serves other clients`, async () => {
      const f = start({});
      const port = await f.ready();
      const worker = f.workerPids()[0]!;
      const client = raw(port);
      client.socket.pause();
      client.write(Buffer.concat(Array.from({ length: 20_000 }, () => flood(client))));
      const other = await wellBehaved(port);
      expect((await get(other.session, '/')).status).toBe(200);
      // node:http2 either answers every frame or closes the session (ENHANCE_YOUR_CALM); the worker lives on.
      client.socket.resume();
      expect((await get(other.session, '/')).status).toBe(200);
      expect(f.workerPids()).toEqual([worker]);
      expect(f.events('died')).toHaveLength(0);
    });
  }

  it('rapid reset (CVE-2023-44487 shape: 20,000 streams opened and cancelled at once): the worker stays up and serves other clients', async () => {
    const f = start({});
    const port = await f.ready();
    const worker = f.workerPids()[0]!;
    const client = raw(port);
    const burst = Buffer.concat(Array.from({ length: 20_000 }, (_, i) => client.getAndReset(2 * i + 1)));
    client.write(burst);
    const other = await wellBehaved(port);
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(other.session, '/')));
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 20 }, () => 200));
    // node:http2 closes a session that resets too many streams (ENHANCE_YOUR_CALM) or serves them all; either way it ends.
    await until(() => client.closed || client.received(FRAME.GOAWAY).length > 0, 15_000, 'the flooding session to be told to stop');
    expect(f.workerPids()).toEqual([worker]);
    expect(f.events('died')).toHaveLength(0);
  });

  it('garbage instead of the HTTP/2 preface (an HTTP/1.1 request, random bytes): the connection is closed, the worker serves the next client', async () => {
    const f = start({});
    const port = await f.ready();
    const worker = f.workerPids()[0]!;
    for (const garbage of [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))]) {
      const socket = net.connect(port, '127.0.0.1');
      clients.push(socket);
      socket.on('error', () => {});
      socket.resume();
      socket.write(garbage);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the server kept a connection that sent garbage open')), 10_000);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const next = await wellBehaved(port);
    expect((await get(next.session, '/')).status).toBe(200);
    expect(f.workerPids()).toEqual([worker]);
    expect(f.events('died')).toHaveLength(0);
  });
});
