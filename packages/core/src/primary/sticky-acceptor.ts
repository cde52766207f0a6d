import net from 'node:net';
import { debuglog } from 'node:util';
import { Cluster2Error } from '../errors.js';
import type { ResolvedSticky } from '../options.js';
import { STICKY_CONNECTION, type StickyConnection } from '../worker/sticky-intake.js';
import { StickySlots } from './sticky.js';

const debug = debuglog('cluster2');

/** The most the master reads of a connection's first request head looking for the header, bytes. */
export const STICKY_PEEK_LIMIT = 16 * 1024;
/** How long the master waits for that head before it falls back to the client's address, ms. */
export const STICKY_PEEK_TIMEOUT = 3000;
/** Connections held while no worker can take one (all starting, all crashed); more are closed. */
const MAX_WAITING = 1024;
/** The first byte of a TLS record carrying a handshake: no HTTP header to read in there. */
const TLS_HANDSHAKE = 0x16;
const HEAD_END = Buffer.from('\r\n\r\n');

/** What the acceptor needs of a worker: to send it a socket. */
export interface StickyTarget {
  readonly pid: number;
  readonly worker: { isConnected(): boolean; send(message: object, handle: net.Socket, callback: (error: Error | null) => void): boolean };
}

interface Waiting {
  socket: net.Socket;
  server: number;
  key: string;
  head: Buffer | undefined;
}

/**
 * Sticky sessions in the master: it listens on the app ports itself (workers do not), reads the
 * client key of each connection and hands the socket to the worker its slot hashes to, over IPC.
 */
export class StickyAcceptor<W extends StickyTarget> {
  readonly slots = new StickySlots<W>();
  readonly #config: Exclude<ResolvedSticky, false>;
  readonly #eligible: (worker: W) => boolean;
  readonly #warn: (message: string) => void;
  readonly #servers: net.Server[] = [];
  readonly #peeking = new Set<net.Socket>();
  #waiting: Waiting[] = [];
  #closed = false;

  constructor(config: Exclude<ResolvedSticky, false>, eligible: (worker: W) => boolean, warn: (message: string) => void) {
    this.#config = config;
    this.#eligible = eligible;
    this.#warn = warn;
  }

  /** Listens on every app port (already proven free and resolved by claimPort). */
  async listen(ports: readonly number[], host: string): Promise<void> {
    for (const [index, port] of ports.entries()) {
      const server = net.createServer({ pauseOnConnect: true }, (socket) => this.#accept(socket, index));
      await new Promise<void>((resolve, reject) => {
        server.once('error', (error: NodeJS.ErrnoException) =>
          reject(new Cluster2Error('ERR_CLUSTER2_PORT_IN_USE', `cannot listen on ${host}:${port}: ${error.message}`, { cause: error })));
        server.listen({ port, host, exclusive: true }, () => resolve());
      });
      // EMFILE and the like after listening: report, keep serving.
      server.on('error', (error) => this.#warn(`sticky listener on port ${port}: ${error.message}`));
      this.#servers.push(server);
    }
  }

  /** A worker became eligible: hand it (and the others) the connections that were waiting for one. */
  flush(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const entry of waiting) this.#route(entry);
  }

  /** Stops accepting: the listeners close (the port is free) and connections not yet handed over are closed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const server of this.#servers) server.close();
    for (const socket of this.#peeking) socket.destroy();
    for (const { socket } of this.#waiting) socket.destroy();
    this.#waiting = [];
  }

  get closed(): boolean {
    return this.#closed;
  }

  #accept(socket: net.Socket, server: number): void {
    // An error on a socket the master holds (a reset while it peeks) must not crash the master.
    socket.on('error', () => socket.destroy());
    if (this.#config.header === undefined) {
      this.#route({ socket, server, key: socket.remoteAddress ?? '', head: undefined });
      return;
    }
    this.#peek(socket, this.#config.header).then(({ key, head }) => {
      // The address only when the header is missing: getpeername is a syscall per connection.
      if (!socket.destroyed) this.#route({ socket, server, key: key ?? socket.remoteAddress ?? '', head });
    });
  }

  /**
   * Reads the first request's head, at most STICKY_PEEK_LIMIT bytes and STICKY_PEEK_TIMEOUT ms,
   * and resolves with the header's value (undefined: fall back to the address) and every byte read,
   * which the worker puts back in front of the stream.
   */
  #peek(socket: net.Socket, header: string): Promise<{ key: string | undefined; head: Buffer | undefined }> {
    this.#peeking.add(socket);
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let length = 0;
      const finish = (key: string | undefined) => {
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('close', onClose);
        this.#peeking.delete(socket);
        stopReading(socket);
        for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) chunks.push(chunk);
        // Reading what was buffered may have started the handle reading again: stop it before the hand-off.
        stopReading(socket);
        resolve({ key, head: chunks.length > 0 ? Buffer.concat(chunks) : undefined });
      };
      const onData = (chunk: Buffer) => {
        chunks.push(chunk);
        length += chunk.length;
        if (chunks[0]![0] === TLS_HANDSHAKE) return finish(undefined);
        const joined = chunks.length === 1 ? chunk : Buffer.concat(chunks);
        const end = joined.indexOf(HEAD_END);
        if (end !== -1) return finish(headerValue(joined.subarray(0, end).toString('latin1'), header));
        if (length >= STICKY_PEEK_LIMIT) finish(undefined);
      };
      const onClose = () => {
        clearTimeout(timer);
        this.#peeking.delete(socket);
      };
      const timer = setTimeout(() => finish(undefined), STICKY_PEEK_TIMEOUT);
      timer.unref();
      socket.on('data', onData);
      socket.once('close', onClose);
      socket.resume();
    });
  }

  #route(entry: Waiting): void {
    // A client that gave up while its connection waited for a worker: nothing to hand over.
    if (entry.socket.destroyed) return;
    if (this.#closed) {
      entry.socket.destroy();
      return;
    }
    const target = this.slots.pick(entry.key, (w) => this.#eligible(w) && w.worker.isConnected());
    if (target === undefined) {
      if (this.#waiting.length >= MAX_WAITING) entry.socket.destroy();
      else this.#waiting.push(entry);
      return;
    }
    const message: StickyConnection = {
      cluster2: 1,
      kind: STICKY_CONNECTION,
      data: { server: entry.server, head: entry.head?.toString('base64') },
    };
    try {
      target.worker.send(message, entry.socket, (error) => {
        // The socket may already be detached from the master: closing it is all that is left.
        if (error) {
          debug('sticky hand-off to worker %d failed: %s', target.pid, error.message);
          entry.socket.destroy();
        }
      });
    } catch (error) {
      debug('sticky hand-off to worker %d failed: %s', target.pid, (error as Error).message);
      entry.socket.destroy();
    }
  }
}

/** The value of `name` (lower-case) in a request head, or undefined. */
export function headerValue(head: string, name: string): string | undefined {
  const lines = head.split('\r\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name) {
      const value = line.slice(colon + 1).trim();
      return value === '' ? undefined : value;
    }
  }
  return undefined;
}

/**
 * Stops the socket's handle reading. After a hand-off node keeps the master's copy of the handle
 * open until the worker acknowledges it and drops whatever that copy still reads: bytes the worker
 * would never see. `pause()` alone does not stop a net.Socket's handle, and there is no public
 * call that does, hence the guarded use of the handle's own readStop().
 */
function stopReading(socket: net.Socket): void {
  socket.pause();
  const handle = (socket as unknown as { _handle?: { reading?: boolean; readStop?: () => number } })._handle;
  if (handle && typeof handle.readStop === 'function') {
    handle.reading = false;
    handle.readStop();
  }
}
