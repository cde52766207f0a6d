import { EventEmitter } from 'node:events';
import { DelegationRouter } from '../src/delegation/primary.js';
import { DelegationClient } from '../src/delegation/worker.js';

/**
 * One router and a few clients joined in-process through a FIFO of `setImmediate` hops with
 * `structuredClone`, the way IPC delivers: later, copied, in order. Every message a "worker" receives
 * is recorded, so tests can assert what was (and was not) delivered.
 */
export interface Harness {
  emitter: EventEmitter;
  router: DelegationRouter;
  warnings: Array<{ message: string; pid: number | undefined }>;
  client(pid: number): DelegationClient;
  /** Messages the worker `pid` received from the master, in order. */
  received(pid: number): Array<Record<string, any>>;
  /** Sends a raw message from the worker `pid`, as `process.send` would. */
  post(pid: number, message: object): void;
  /** Resolves with the first message `pid` received (or receives) that satisfies `predicate`. */
  next(pid: number, predicate: (message: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
}

export interface HarnessOptions {
  timeoutMargin?: number;
  reservedEvents?: string[];
  maxMessageSize?: number;
  maxPendingDelegations?: number;
}

export function createHarness(pids: number[], options: HarnessOptions = {}): Harness {
  const emitter = new EventEmitter();
  const warnings: Harness['warnings'] = [];
  const inbox = new Map<number, Array<Record<string, any>>>(pids.map((pid) => [pid, []]));
  const arrivals = new EventEmitter();
  const router = new DelegationRouter({
    emitter,
    warn: (message, pid) => warnings.push({ message, pid }),
    reservedEvents: options.reservedEvents ?? [],
    maxMessageSize: options.maxMessageSize,
    maxPendingDelegations: options.maxPendingDelegations,
    send: (pid, message) => {
      const client = clients.get(pid);
      if (client === undefined) return;
      const copy = structuredClone(message) as Record<string, any>;
      setImmediate(() => {
        inbox.get(pid)!.push(copy);
        client.onMessage(copy);
        arrivals.emit('message', pid);
      });
    },
  });
  const post = (pid: number, message: object): void => {
    const copy = structuredClone(message);
    setImmediate(() => router.onMessage(pid, copy));
  };
  const clients = new Map(
    pids.map((pid) => [
      pid,
      new DelegationClient({ send: (message) => post(pid, message), timeoutMargin: options.timeoutMargin ?? 1000, maxMessageSize: options.maxMessageSize }),
    ]),
  );
  const next: Harness['next'] = (pid, predicate, timeoutMs = 2000) =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = inbox.get(pid)!.find(predicate);
        if (found === undefined) return false;
        clearTimeout(timer);
        arrivals.off('message', check);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        arrivals.off('message', check);
        reject(new Error(`worker ${pid} received no matching message within ${timeoutMs} ms`));
      }, timeoutMs);
      if (!check()) arrivals.on('message', check);
    });
  return {
    emitter,
    router,
    warnings,
    client: (pid) => clients.get(pid)!,
    received: (pid) => inbox.get(pid)!,
    post,
    next,
  };
}

/** Polls `condition` every event-loop turn until it holds, or rejects after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A promise with its resolve and reject, for handlers the test finishes by hand. */
export function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(error: unknown): void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
