import net from 'node:net';
import { debuglog } from 'node:util';
import { Cluster2Error } from '../errors.js';
import type { ResolvedLimits } from '../options.js';
import { STICKY_CONNECTION, type MasterChannel } from '../ipc/messages.js';
import type { PressureCounters } from './pressure.js';
import { StickySlots } from './sticky.js';

const debug = debuglog('cluster2');

/** The most the master reads of a connection's first request head looking for the header, bytes. */
export const STICKY_PEEK_LIMIT = 16 * 1024;
/**
 * Hand-offs to one worker that node has not written yet. node passes one handle at a time per
 * worker and queues the rest until the worker acknowledges the one before; past this bound the
 * connections wait here instead, where one whose client gave up is dropped rather than sent.
 */
export const HANDOFFS_IN_FLIGHT = 4;
/** The first byte of a TLS record carrying a handshake: no HTTP header to read in there. */
const TLS_HANDSHAKE = 0x16;
const HEAD_END = Buffer.from('\r\n\r\n');

/** What the acceptor needs of a worker: to know it is there and to send it a socket. */
export interface StickyTarget {
  readonly pid: number;
  readonly worker: { isConnected(): boolean };
  readonly channel: Pick<MasterChannel, 'send'>;
}

/** The sticky key (`header`, or the address when undefined) and the bounds on what the master holds. */
export interface StickyConfig {
  readonly header: string | undefined;
  readonly limits: Pick<ResolvedLimits, 'stickyPending' | 'stickyHeadTimeout'>;
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
 *
 * Everything the master holds is bounded (`limits.stickyPending`): connections reading their head,
 * waiting for a worker, or queued for one. Past the bound the connection that has waited longest
 * for its head is closed (a client that sent nothing yet is the likeliest idle one: a real client
 * sends its head at once), or the new one when none is reading its head.
 */
export class StickyAcceptor<W extends StickyTarget> {
  readonly slots = new StickySlots<W>();
  readonly #config: StickyConfig;
  readonly #eligible: (worker: W) => boolean;
  readonly #pressure: PressureCounters;
  readonly #servers: net.Server[] = [];
  /** Every connection the master holds (not handed over yet), for the `stickyPending` bound. */
  readonly #held = new Set<net.Socket>();
  /** Connections reading their head, oldest first (a Set keeps insertion order). */
  readonly #peeking = new Set<net.Socket>();
  /** Per worker: hand-offs given to node and not yet written, and those waiting for one of these slots. */
  readonly #sending = new Map<W, Set<Waiting>>();
  readonly #queued = new Map<W, Waiting[]>();
  #waiting: Waiting[] = [];
  #closed = false;

  constructor(config: StickyConfig, eligible: (worker: W) => boolean, pressure: PressureCounters) {
    this.#config = config;
    this.#eligible = eligible;
    this.#pressure = pressure;
  }

  /** Listens on every app port (already proven free and resolved by claimPort). */
  async listen(ports: readonly number[], host: string): Promise<void> {
    for (const [index, port] of ports.entries()) {
      const server = net.createServer({ pauseOnConnect: true }, (socket) => this.#accept(socket, index));
      await new Promise<void>((resolve, reject) => {
        server.once('error', (error: NodeJS.ErrnoException) =>
          reject(new Cluster2Error('ERR_CLUSTER2_PORT_IN_USE', `cannot listen on ${host}:${port}: ${error.message}`, { cause: error })),
        );
        server.listen({ port, host, exclusive: true }, () => resolve());
      });
      // After listening, 'error' means a failed accept (EMFILE, ENFILE): libuv keeps the listener
      // polling and accepts again once descriptors free up, so count it and carry on.
      server.on('error', (error: NodeJS.ErrnoException) => this.#pressure.acceptError('sticky', error));
      this.#servers.push(server);
    }
  }

  /** A worker became eligible: hand it (and the others) the connections that were waiting for one. */
  flush(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const entry of waiting) this.#route(entry);
  }

  /** Forgets a worker that exited: its slot empties and connections queued for it go elsewhere. */
  remove(worker: W): void {
    this.slots.remove(worker);
    // Given to node but not written: node may never write them now; their clients get a close.
    for (const entry of this.#sending.get(worker) ?? []) this.#drop(entry.socket);
    this.#sending.delete(worker);
    const queued = this.#queued.get(worker) ?? [];
    this.#queued.delete(worker);
    for (const entry of queued) this.#route(entry);
  }

  /** Stops accepting: the listeners close (the port is free) and connections not yet handed over are closed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const server of this.#servers) server.close();
    for (const socket of [...this.#held]) this.#drop(socket);
    this.#waiting = [];
    this.#queued.clear();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Connections the master holds now (reading their head, waiting for a worker, being handed over). */
  get pending(): number {
    return this.#held.size;
  }

  #accept(socket: net.Socket, server: number): void {
    // An error on a socket the master holds (a reset while it peeks) must not crash the master.
    socket.on('error', () => socket.destroy());
    if (this.#held.size >= this.#config.limits.stickyPending) {
      const oldest = this.#peeking.values().next();
      this.#pressure.refused('stickyPending');
      if (oldest.done) {
        socket.destroy();
        return;
      }
      this.#drop(oldest.value);
    }
    this.#held.add(socket);
    socket.once('close', () => this.#held.delete(socket));
    if (this.#config.header === undefined) {
      this.#route({ socket, server, key: socket.remoteAddress ?? '', head: undefined });
      return;
    }
    // #peek never rejects: a client that goes quiet or away settles it with what was read.
    void this.#peek(socket, this.#config.header).then(({ key, head }) => {
      // The address only when the header is missing: getpeername is a syscall per connection.
      if (!socket.destroyed) this.#route({ socket, server, key: key ?? socket.remoteAddress ?? '', head });
    });
  }

  #drop(socket: net.Socket): void {
    this.#held.delete(socket);
    this.#peeking.delete(socket);
    socket.destroy();
  }

  /**
   * Reads the first request's head, at most STICKY_PEEK_LIMIT bytes and `limits.stickyHeadTimeout`
   * ms, and resolves with the header's value (undefined: fall back to the address) and every byte
   * read, which the worker puts back in front of the stream.
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
      const timer = setTimeout(() => finish(undefined), this.#config.limits.stickyHeadTimeout);
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
      this.#drop(entry.socket);
      return;
    }
    const target = this.slots.pick(entry.key, (w) => this.#eligible(w) && w.worker.isConnected());
    if (target === undefined) {
      // Held (and so bounded by stickyPending) until a worker listens.
      this.#waiting.push(entry);
      return;
    }
    const sending = this.#sending.get(target) ?? new Set<Waiting>();
    this.#sending.set(target, sending);
    if (sending.size >= HANDOFFS_IN_FLIGHT) {
      const queued = this.#queued.get(target);
      if (queued) queued.push(entry);
      else this.#queued.set(target, [entry]);
      return;
    }
    this.#send(target, sending, entry);
  }

  #send(target: W, sending: Set<Waiting>, entry: Waiting): void {
    sending.add(entry);
    const sent = (error: Error | null) => {
      // The socket may already be detached from the master: closing it is all that is left.
      if (error) debug('sticky hand-off to worker %d failed: %s', target.pid, error.message);
      if (error) entry.socket.destroy();
      this.#held.delete(entry.socket);
      if (sending.delete(entry)) this.#next(target, sending);
    };
    target.channel.send(STICKY_CONNECTION, { server: entry.server, head: entry.head?.toString('base64') }, entry.socket, sent);
  }

  /** A hand-off to `target` was written: send the next one queued for it, skipping clients that left. */
  #next(target: W, sending: Set<Waiting>): void {
    const queued = this.#queued.get(target);
    while (queued && queued.length > 0 && sending.size < HANDOFFS_IN_FLIGHT) {
      const entry = queued.shift()!;
      // A destroyed socket would go out as the message alone, with no connection behind it.
      if (entry.socket.destroyed) continue;
      if (!target.worker.isConnected() || !this.#eligible(target)) this.#route(entry);
      else this.#send(target, sending, entry);
    }
    if (queued?.length === 0) this.#queued.delete(target);
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
