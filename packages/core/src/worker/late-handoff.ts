import net from 'node:net';
import { serveHandedOver } from './handed-over.js';

interface NewConnection {
  cmd: 'NODE_CLUSTER';
  act: string;
  seq: number;
}

function isNewConnection(message: unknown): message is NewConnection {
  const m = message as Partial<NewConnection> | null;
  return typeof m === 'object' && m !== null && m.cmd === 'NODE_CLUSTER' && m.act === 'newconn' && typeof m.seq === 'number';
}

/** What node:cluster's worker-side listener ignores: a hand-off this worker has taken itself. */
const CLAIMED = 'cluster2:claimed';

/**
 * Takes the connections node:cluster's round-robin master hands this worker after its listener
 * closed. The master learns of the close only when the worker's message arrives, and meanwhile may
 * hand over more connections. node:cluster's worker refuses those, and the master hands each to
 * another worker — but when this was the last worker in the rotation (a shutdown), there is none:
 * the master keeps the connection until it exits and the client is reset. A draining worker can
 * still serve it (the answer carries `Connection: close`), so it accepts it instead.
 *
 * Installed as the listener closes; runs before node:cluster's own listener, which then ignores
 * the message. Relies on node:cluster's internal message shape (`cmd: 'NODE_CLUSTER'`,
 * `act: 'newconn'`, `seq`; the answer `{ ack, accepted }`), as primary/handoff.ts does.
 */
export function claimLateHandoffs(serverFor: (port: number) => net.Server | undefined): void {
  // 'internalMessage' (node:cluster's channel) is not in the typings of process's events.
  (process as unknown as NodeJS.EventEmitter).prependListener('internalMessage', (message: unknown, handle: unknown) => {
    if (!isNewConnection(message)) return;
    (message as { act: string }).act = CLAIMED;
    const accepted = handle !== undefined && handle !== null && serve(handle, serverFor);
    if (process.connected) process.send!({ cmd: 'NODE_CLUSTER', ack: message.seq, accepted });
  });
}

function serve(handle: unknown, serverFor: (port: number) => net.Server | undefined): boolean {
  // `handle` wraps an accepted connection, as in node:net's own accept path (untyped there too).
  const options = { handle, readable: true, writable: true };
  const socket = new net.Socket(options);
  const server = socket.localPort === undefined ? undefined : serverFor(socket.localPort);
  if (server === undefined) {
    socket.destroy();
    return false;
  }
  serveHandedOver(server, socket);
  return true;
}
