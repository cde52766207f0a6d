import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestMonitor, waitFor, type TestMonitor } from './monitor-helpers.js';

let t: TestMonitor | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** A raw client: what the server sent, and whether and when it closed the connection. */
function connect(port: number, write = ''): { socket: net.Socket; received: () => string; closedAt: () => number | undefined } {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  let closedAt: number | undefined;
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => {});
  socket.on('close', () => (closedAt = Date.now()));
  if (write) socket.write(write);
  return { socket, received: () => received, closedAt: () => closedAt };
}

const EVENTS = 'GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n';

describe('monitor bounds (limits)', () => {
  it('answers 503 TOO_MANY_STREAMS with retry-after past limits.eventStreams, counts it, and opens a stream again once one ends', async () => {
    t = await startTestMonitor({ maxStreams: 2 });
    const streams = [connect(t.port, EVENTS), connect(t.port, EVENTS)];
    await waitFor(() => streams.every((s) => s.received().startsWith('HTTP/1.1 200 OK')), 2000, 'two streams');
    const third = connect(t.port, EVENTS);
    await waitFor(() => third.closedAt() !== undefined, 2000, 'the third refused and closed');
    expect(third.received()).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(third.received()).toMatch(/\r\nretry-after: 3\r\n/i);
    expect(third.received()).toContain('"code":"TOO_MANY_STREAMS"');
    expect(t.source.refused).toEqual(['eventStreams']);
    streams[0]!.socket.destroy();
    const fourth = connect(t.port, EVENTS);
    await waitFor(() => fourth.received().length > 0, 2000, 'the fourth answered');
    expect(fourth.received()).toMatch(/^HTTP\/1\.1 200 OK/);
    for (const s of [streams[1]!, fourth]) s.socket.destroy();
  });

  it('ends a stream after limits.eventStreamLifetime and closes its socket (an EventSource reconnects)', async () => {
    t = await startTestMonitor({ streamLifetimeMs: 600 });
    const stream = connect(t.port, EVENTS);
    await waitFor(() => stream.received().includes('event: status'), 2000, 'the initial status');
    const openedAt = Date.now();
    await waitFor(() => stream.closedAt() !== undefined, 5000, 'the stream closed');
    expect(stream.closedAt()! - openedAt).toBeGreaterThanOrEqual(400);
    expect(stream.received()).toContain('retry: 3000');
    // The chunked stream ended properly (last chunk) rather than being cut.
    expect(stream.received().endsWith('0\r\n\r\n')).toBe(true);
  });

  it('closes connections past limits.monitorConnections on accept and counts each', async () => {
    t = await startTestMonitor({ maxConnections: 3 });
    // Three keep-alive connections the server has certainly accepted: each got an answer.
    const status = 'GET /api/status HTTP/1.1\r\nHost: x\r\n\r\n';
    const idle = [connect(t.port, status), connect(t.port, status), connect(t.port, status)];
    await waitFor(() => idle.every((c) => c.received().startsWith('HTTP/1.1 200 OK')), 2000, 'three connections answered');
    const extra = [connect(t.port), connect(t.port)];
    await waitFor(() => extra.every((c) => c.closedAt() !== undefined), 2000, 'the extra connections closed');
    expect(extra.map((c) => c.received())).toEqual(['', '']);
    expect(t.source.refused).toEqual(['monitorConnections', 'monitorConnections']);
    expect(idle.every((c) => c.closedAt() === undefined)).toBe(true);
    for (const c of idle) c.socket.destroy();
  });
});
