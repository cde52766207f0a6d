import net from 'node:net';
import { Cluster2Error } from '../errors.js';
import type { Channel } from '../ipc/channel.js';
import { isStickyConnection, STICKY_CLOSED } from '../ipc/sticky-wire.js';
import { serveHandedOver } from './handed-over.js';

/**
 * Sticky sessions in a worker: the factory's servers never listen; the master accepts and sends
 * each connection here, and the intake emits it as the right server's 'connection', which is
 * everything `listen()` would have done for it (an https server's 'connection' listener does the
 * TLS handshake, an http server's attaches its parser). Bytes the master already read are put
 * back in front of the stream with `unshift()` before the server sees it.
 */
export class StickyIntake {
  readonly #channel: Channel;
  #servers: readonly net.Server[] = [];
  #closed = false;

  constructor(channel: Channel) {
    this.#channel = channel;
  }

  /** Takes the servers in place of listening; resolves with the ports they serve (the master's). */
  open(servers: readonly net.Server[], ports: readonly number[]): number[] {
    if (servers.length !== ports.length) {
      throw new Cluster2Error(
        'ERR_CLUSTER2_INVALID_FACTORY',
        `the factory handed over ${servers.length} server(s) but option "port" names ${ports.length} port(s)`,
      );
    }
    this.#servers = servers;
    return [...ports];
  }

  /**
   * Feeds one IPC message and its handle; returns false when it is not a sticky connection, so the
   * caller dispatches it on. Must run before any other dispatch: only this one looks at the handle.
   */
  receive(message: unknown, handle: unknown): boolean {
    if (!isStickyConnection(message)) return false;
    const socket = asSocket(handle);
    // No handle: the client left while its hand-off waited in the master's queue.
    if (socket === undefined) return true;
    const server = this.#servers[message.data.server];
    if (server === undefined || socket.destroyed) {
      socket.destroy();
      return true;
    }
    if (message.data.head) socket.unshift(Buffer.from(message.data.head, 'base64'));
    // A connection sent just before the master learnt that this worker drains is still served:
    // the drain answers it with `Connection: close` and ends it like any other socket.
    serveHandedOver(server, socket);
    return true;
  }

  /** Tells the master to route no more connections here (the drain began). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#channel.send(STICKY_CLOSED);
  }
}

/**
 * The connection as a net.Socket. It comes as one, or as node's bare TCP handle when node had to
 * send it a second time (this worker could not take it at first: out of descriptors).
 */
function asSocket(handle: unknown): net.Socket | undefined {
  if (handle instanceof net.Socket) return handle;
  if (typeof handle === 'object' && handle !== null && typeof (handle as { readStart?: unknown }).readStart === 'function') {
    return new net.Socket({ handle, readable: true, writable: true } as net.SocketConstructorOpts);
  }
  return undefined;
}
