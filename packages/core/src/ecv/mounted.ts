// Whether a framework adapter serves ECV on a server itself: the worker then leaves that server's
// requests to the adapter instead of answering ECV routes before the app.
import type net from 'node:net';

const kEcvMounted = Symbol.for('cluster2.ecvMounted');

/** Tells core that a framework adapter serves ECV on this server, so core's plain-http ECV stays out of the way. */
export function markEcvMounted(server: net.Server): void {
  (server as net.Server & { [kEcvMounted]?: boolean })[kEcvMounted] = true;
}

export function isEcvMounted(server: net.Server): boolean {
  return (server as net.Server & { [kEcvMounted]?: boolean })[kEcvMounted] === true;
}
