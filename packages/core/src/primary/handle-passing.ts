import type { Worker } from 'node:cluster';
import { debuglog } from 'node:util';

const debug = debuglog('cluster2');

/** Node resends a net.Socket the worker could not take this many times, then closes it (Node 20 to 26). */
const MAX_HANDLE_RETRANSMISSIONS = 3;
/** A round-robin connection no worker could take is offered this many times, then closed. */
const MAX_REDISTRIBUTIONS = 3;

interface Wrapped {
  cmd?: unknown;
  msg?: unknown;
}

interface PendingHandle {
  message?: Wrapped;
  retransmissions?: number;
}

interface ClusterMessage {
  cmd?: unknown;
  act?: unknown;
  seq?: unknown;
}

/** Round-robin connections already offered again, and how often. */
const offered = new WeakMap<object, number>();

/**
 * Repairs node's handle passing for a worker out of descriptors. Such a worker receives a
 * connection's message without its descriptor (the kernel drops it: EMFILE) and answers
 * NODE_HANDLE_NACK. What node does next depends on how the connection was sent:
 *
 * - A net.Socket (sticky sessions) is resent, up to three times, but wrapped once more each time:
 *   the worker unwraps two layers and acknowledges twice, and the second NODE_HANDLE_ACK reaches a
 *   master with no handle pending, which fails node's `assert(ArrayIsArray(target._handleQueue))`
 *   (ERR_INTERNAL_ASSERTION) and kills the master; before that it closes the next connection's
 *   handle early. Unwrapping the pending message when the NACK arrives, before node's own
 *   listener resends it, makes the resend one layer like the first send.
 * - A bare handle (node:cluster's round-robin 'newconn') is neither resent nor closed, and
 *   node:cluster waits for the worker's answer before it hands that worker anything again: the
 *   answer never comes, so the worker gets no connection ever again and the master keeps the
 *   connection open. Answering in the worker's place "not accepted" makes node:cluster offer the
 *   connection to a worker again (at most MAX_REDISTRIBUTIONS times, then "accepted", which closes
 *   it) and frees the worker.
 *
 * Handles go out one at a time per worker and each gets one ACK or NACK (a resend its own), so the
 * NACKed send is the oldest one not yet answered. (A socket destroyed while node queued it goes
 * out without its handle and is never answered; that happens only to sticky sessions' sockets,
 * for which the order does not matter: only round-robin entries are acted on.) Relies on the ChildProcess' internal
 * `_pendingMessage` ({ message: { cmd: 'NODE_HANDLE', msg }, retransmissions }) and node:cluster's
 * `{ cmd: 'NODE_CLUSTER', act: 'newconn', seq }`, unchanged since Node 10; with another shape it
 * does nothing.
 */
export function repairHandlePassing(worker: Worker): void {
  const proc = worker.process;
  const inTransit: Array<{ newconn: number | undefined; handle: object }> = [];
  const send = proc.send.bind(proc) as (...args: unknown[]) => boolean;
  proc.send = function (message: unknown, handle?: unknown, ...rest: unknown[]) {
    if (typeof handle === 'object' && handle !== null) {
      const m = message as ClusterMessage | null;
      const newconn = m?.cmd === 'NODE_CLUSTER' && m.act === 'newconn' && typeof m.seq === 'number' ? m.seq : undefined;
      inTransit.push({ newconn, handle });
    }
    return send(message, handle, ...rest);
  };
  proc.prependListener('internalMessage', (message: unknown) => {
    const cmd = (message as { cmd?: unknown } | null)?.cmd;
    if (cmd === 'NODE_HANDLE_ACK') {
      inTransit.shift();
      return;
    }
    if (cmd !== 'NODE_HANDLE_NACK') return;
    const pending = (proc as unknown as { _pendingMessage?: PendingHandle | null })._pendingMessage;
    debug('worker %d could not take a connection (NACK; %s)', proc.pid, pending ? `resend ${pending.retransmissions}` : 'bare handle');
    if (pending) {
      const wrapped = pending.message;
      if (wrapped?.cmd === 'NODE_HANDLE' && typeof wrapped.msg === 'object' && wrapped.msg !== null) pending.message = wrapped.msg;
      // Node's listener, next, resends it, or gives it up (closes it) after the last resend.
      if (pending.retransmissions === MAX_HANDLE_RETRANSMISSIONS) inTransit.shift();
      return;
    }
    const entry = inTransit.shift();
    if (entry?.newconn === undefined) return;
    const times = (offered.get(entry.handle) ?? 0) + 1;
    offered.set(entry.handle, times);
    const ack = { cmd: 'NODE_CLUSTER', ack: entry.newconn, accepted: times > MAX_REDISTRIBUTIONS };
    setImmediate(() => proc.emit('internalMessage', ack));
  });
}
