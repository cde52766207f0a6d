// Shared by the real-time tests: the fixture app through the shared harness, and the clients
// (ws WebSockets, raw TCP upgrades, raw HTTP event streams) they drive against it.
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { Fixture as BaseFixture, type FixtureMessage as BaseMessage, until } from '../support/fixture.js';
import { wsText } from '../support/ws-text.js';

export { isAlive, killAll, request, until } from '../support/fixture.js';
export const fixturesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** One worker as a heartbeat reports it (FIXTURE_HEARTBEATS=1). */
export interface WorkerFigures {
  pid: number;
  state: string;
  connections: number;
  upgraded: number;
  inFlight: number;
  /** Idle sockets the worker closed at `timeout` since it started. */
  idleCloses: number;
}

export interface FixtureMessage extends BaseMessage {
  workers?: WorkerFigures[];
}

/** A real-time fixture app (fixtures/app.mjs unless `script` names another) as a child process. */
export class Fixture extends BaseFixture<FixtureMessage> {
  constructor(options: object, env: Record<string, string> = {}, script = 'app.mjs') {
    super(path.join(fixturesDir, script), options, { env });
  }

  /** The app port, once the master said every worker listens. */
  async port(timeout = 20_000): Promise<number> {
    return ((await this.readyReport(timeout)) as FixtureMessage & { ports: number[] }).ports[0]!;
  }

  /** Warnings the master reported, as text. */
  warnings(): string[] {
    return this.events('warning').map((m) => String((m.args![0] as { message?: string })?.message ?? ''));
  }
}

/** What a WebSocket client saw of one connection: the worker's pid and how it closed. */
export interface OpenSocket {
  ws: WebSocket;
  pid: number;
  closed: Promise<{ code: number; reason: string; at: number }>;
}

/** Opens a WebSocket to the fixture and resolves once the server's hello (with its pid) arrived. */
export function openWebSocket(port: number, target = '/'): Promise<OpenSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${target}`);
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) => {
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString(), at: Date.now() }));
  });
  // Errors end in 'close' (1006); the test asserts the code.
  ws.on('error', () => {});
  return new Promise((resolve, reject) => {
    ws.once('message', (data) => {
      const hello = JSON.parse(wsText(data)) as { type: string; pid: number };
      if (hello.type !== 'hello') reject(new Error(`expected hello, got ${wsText(data)}`));
      else resolve({ ws, pid: hello.pid, closed });
    });
    ws.once('close', (code) => reject(new Error(`closed (${code}) before hello`)));
  });
}

/** Sends `text` and resolves with the server's next message, parsed. */
export function roundTrip(ws: WebSocket, text: string): Promise<{ type: string; text?: string; n?: number; pid: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${text}`)), 5000);
    ws.once('message', (data) => {
      clearTimeout(timer);
      resolve(JSON.parse(wsText(data)));
    });
    ws.send(text);
  });
}

/** A raw TCP client: every byte it received, and when the server ended or closed the connection. */
export interface RawClient {
  socket: net.Socket;
  received(): Buffer;
  text(): string;
  /** When the server's FIN arrived ('end'), if it did. */
  endedAt: number | undefined;
  closedAt: number | undefined;
  error: Error | undefined;
}

/** Connects to 127.0.0.1:port, writes `bytes` and records everything that comes back; never answers anything. */
export async function rawClient(port: number, bytes: string | Buffer): Promise<RawClient> {
  const socket = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  const client: RawClient = {
    socket,
    received: () => Buffer.concat(chunks),
    text: () => Buffer.concat(chunks).toString('latin1'),
    endedAt: undefined,
    closedAt: undefined,
    error: undefined,
  };
  // allowHalfOpen is off: after the server's FIN, node ends our side too; we never write again.
  socket.on('data', (chunk) => chunks.push(chunk));
  socket.on('end', () => (client.endedAt = Date.now()));
  socket.on('close', () => (client.closedAt = Date.now()));
  socket.on('error', (error) => (client.error = error));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(bytes);
  return client;
}

/** A WebSocket handshake request for `target` (a fresh key unless `headers` says otherwise). */
export function upgradeRequest(target = '/', headers: Record<string, string | undefined> = {}): string {
  const all: Record<string, string | undefined> = {
    host: '127.0.0.1',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-version': '13',
    'sec-websocket-key': crypto.randomBytes(16).toString('base64'),
    ...headers,
  };
  const lines = Object.entries(all)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name}: ${value}`);
  return `GET ${target} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * The server-to-client WebSocket frames in what a raw client received after a 101 answer
 * (unmasked, as servers send them; payloads under 126 bytes are all this suite exchanges).
 */
export function serverFrames(received: Buffer): { opcode: number; payload: Buffer }[] {
  const headerEnd = received.indexOf('\r\n\r\n');
  if (headerEnd === -1) return [];
  const frames: { opcode: number; payload: Buffer }[] = [];
  let at = headerEnd + 4;
  while (at + 2 <= received.length) {
    const opcode = received[at]! & 0x0f;
    const length = received[at + 1]! & 0x7f;
    if (length > 125 || at + 2 + length > received.length) break;
    frames.push({ opcode, payload: received.subarray(at + 2, at + 2 + length) });
    at += 2 + length;
  }
  return frames;
}

/** The status code of the first close frame (opcode 8) among `frames`, or undefined. */
export function closeCode(frames: { opcode: number; payload: Buffer }[]): number | undefined {
  const close = frames.find((f) => f.opcode === 8);
  return close && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : undefined;
}

/** How one raw HTTP event stream ended: a complete chunked body ('end') or a cut one. */
export interface RawStream {
  pid: number;
  events: string[];
  ended: boolean;
  complete: boolean;
  aborted: boolean;
  error: string | undefined;
  done: Promise<void>;
}

/** GET /events over node:http (no agent, no retries), recording how the response ended. */
export function rawEventStream(port: number): Promise<RawStream> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/events', agent: false }, (res) => {
      let body = '';
      let settle!: () => void;
      const stream: RawStream = {
        pid: Number(res.headers['x-worker-pid']),
        events: [],
        ended: false,
        complete: false,
        aborted: false,
        error: undefined,
        done: new Promise((r) => (settle = r)),
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        stream.events = [...body.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]!);
      });
      res.on('aborted', () => (stream.aborted = true));
      res.on('error', (error) => (stream.error = error.message));
      res.on('end', () => {
        stream.ended = true;
        stream.complete = res.complete;
      });
      res.on('close', () => settle());
      until(() => stream.events.includes('hello'), 10_000, 'the stream hello').then(() => resolve(stream), reject);
    });
    req.on('error', reject);
  });
}
