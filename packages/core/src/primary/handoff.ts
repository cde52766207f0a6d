import type { Worker } from 'node:cluster';

interface ClusterMessage {
  cmd: 'NODE_CLUSTER';
  act?: string;
  seq?: number;
  ack?: number;
}

function isClusterMessage(message: unknown): message is ClusterMessage {
  return typeof message === 'object' && message !== null && (message as { cmd?: unknown }).cmd === 'NODE_CLUSTER';
}

/**
 * node:cluster's round-robin master hands each accepted connection to a worker over IPC and keeps
 * it until the worker acknowledges. A worker that dies before it does (SIGKILL, a crash) never
 * will: the connection stays open in the master, unserved, and its client waits forever. This
 * watches the hand-offs to one worker and, once node:cluster has dropped the dead worker from its
 * round-robin handles, answers the unacknowledged ones "not accepted" — the answer a worker gives
 * for a connection it cannot take, which makes node:cluster hand it to another worker.
 *
 * Relies on node:cluster's internal message shape (`cmd: 'NODE_CLUSTER'`, `act: 'newconn'`,
 * `seq`, `ack`, `accepted`), stable since Node 0.12; with another shape it does nothing.
 */
export function rescueHandoffs(worker: Worker): void {
  const proc = worker.process;
  const unacknowledged = new Set<number>();
  const send = proc.send.bind(proc) as (...args: unknown[]) => boolean;
  proc.send = function (message: unknown, ...rest: unknown[]) {
    if (isClusterMessage(message) && message.act === 'newconn' && typeof message.seq === 'number') unacknowledged.add(message.seq);
    return send(message, ...rest);
  };
  proc.on('internalMessage', (message: unknown) => {
    if (isClusterMessage(message) && typeof message.ack === 'number') unacknowledged.delete(message.ack);
  });
  let rescued = false;
  const rescue = () => {
    // node:cluster removes the worker from its handles on whichever of exit/disconnect comes last;
    // before that, a redistributed connection could be handed straight back to the dead worker.
    if (rescued || !worker.isDead() || worker.isConnected()) return;
    rescued = true;
    setImmediate(() => {
      for (const seq of unacknowledged) proc.emit('internalMessage', { cmd: 'NODE_CLUSTER', ack: seq, accepted: false });
      unacknowledged.clear();
    });
  };
  worker.on('exit', rescue);
  worker.on('disconnect', rescue);
}
