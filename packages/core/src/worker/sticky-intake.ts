import net from 'node:net';
import { Cluster2Error } from '../errors.js';
import { STICKY_CONNECTION, type StickyHandOff, type WorkerChannel } from '../ipc/messages.js';
import { serveHandedOver } from './handed-over.js';

/**
 * Sticky sessions in a worker: the factory's servers never listen; the master accepts and sends
 * each connection here, and the intake emits it as the right server's 'connection', which is
 * everything `listen()` would have done for it (an https server's 'connection' listener does the
 * TLS handshake, an http server's attaches its parser). Bytes the master already read are put
 * back in front of the stream with `unshift()` before the server sees it.
 */
export class StickyIntake {
  #servers: readonly net.Server[] = [];

  constructor(channel: WorkerChannel) {
    channel.handle(STICKY_CONNECTION, (handOff, handle) => this.#receive(handOff, handle));
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

  /** One connection from the master: its socket came as the message's handle. */
  #receive(handOff: StickyHandOff, handle: unknown): void {
    const socket = asSocket(handle);
    // No handle: the client left while its hand-off waited in the master's queue.
    if (socket === undefined) return;
    const server = this.#servers[handOff.server];
    if (server === undefined || socket.destroyed) {
      socket.destroy();
      return;
    }
    if (handOff.head) socket.unshift(Buffer.from(handOff.head, 'base64'));
    // A connection sent just before the master learnt that this worker drains is still served:
    // the drain answers it with `Connection: close` and ends it like any other socket.
    serveHandedOver(server, socket);
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
