import type { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import { DelegationRouter } from './primary.js';
import { SUBSCRIBE_TYPE, UNSUBSCRIBE_TYPE, isRecord } from './protocol.js';
import { DelegationClient } from './worker.js';

const debug = debuglog('cluster2');

/** Options of {@link createInProcessDelegation}. */
export interface InProcessDelegationOptions {
  /** Reports dropped messages and failed sends (the Cluster's `warning` event). @default debuglog('cluster2') */
  warn?: (message: string, pid?: number) => void;
  /** Passed on to the router: the Cluster's own event names. @default [] */
  reservedEvents?: Iterable<string>;
  /** Passed on to the router and the client. @default 1048576 */
  maxMessageSize?: number;
  /** Passed on to the router. @default 1000 */
  maxPendingDelegations?: number;
  /**
   * Receives what the master sends that the client does not consume: answers to raw requests posted
   * with `post()`, as a worker's `process.on('message')` would. @default dropped
   */
  onRawAnswer?(message: object): void;
}

/** A router and a client joined in one process, for `cluster: false`. */
export interface InProcessDelegation {
  router: DelegationRouter;
  client: DelegationClient;
  /** The pid the router sees the client as: `process.pid`. */
  pid: number;
  /** Sends a raw 0.4 message from the "worker" to the router, as `process.send` would in a worker. */
  post(message: object): void;
}

/**
 * Joins a `DelegationRouter` and a `DelegationClient` in-process, so `delegate`/`handle`/`subscribe`/
 * `notify` behave as they do across processes: every message is copied with `structuredClone` (what
 * cannot cross IPC fails here too, at the send) and delivered on a later turn of the event loop
 * (`setImmediate`), never synchronously. The exception is a subscription change, which the router
 * applies at once: in one process nothing can be in flight between `subscribe()` and `notify()`.
 */
export function createInProcessDelegation(emitter: EventEmitter, options: InProcessDelegationOptions = {}): InProcessDelegation {
  const pid = process.pid;
  const warn = options.warn ?? ((message: string) => debug('%s', message));
  const toRouter = (message: object): void => {
    const copy = structuredClone(message);
    // A (un)subscription is state, not a request: applied at once, so a notify() in the same tick
    // sees it, as a master's notify() sees a worker's subscription that is already in place.
    // Delivered a turn later, as it once was, it was missed by such a notify().
    if (isSubscription(copy)) router.onMessage(pid, copy);
    else setImmediate(() => router.onMessage(pid, copy));
  };
  const router = new DelegationRouter({
    emitter,
    warn,
    reservedEvents: options.reservedEvents ?? [],
    maxMessageSize: options.maxMessageSize,
    maxPendingDelegations: options.maxPendingDelegations,
    send: (to, message) => {
      // There is no other process: `targets` naming other pids have nobody to reach.
      if (to !== pid) return;
      const copy = structuredClone(message);
      setImmediate(() => {
        if (!client.onMessage(copy)) options.onRawAnswer?.(copy);
      });
    },
  });
  const client = new DelegationClient({ send: toRouter, warn: (message) => warn(message, pid), maxMessageSize: options.maxMessageSize });
  return { router, client, pid, post: toRouter };
}

function isSubscription(message: unknown): boolean {
  return isRecord(message) && (message.type === SUBSCRIBE_TYPE || message.type === UNSUBSCRIBE_TYPE);
}
