import { SUBSCRIBE_TYPE } from './protocol.js';

/**
 * Which workers want which notifications, fed by the `cluster2:subscribe` / `cluster2:unsubscribe`
 * messages their clients send, so `notify()` reaches only the workers that listen.
 */
export class SubscriberTable {
  readonly #pids = new Map<string, Set<number>>();

  /** Applies a (un)subscribe message; returns what is wrong with it, or undefined. */
  apply(pid: number, message: Record<string, unknown>): string | undefined {
    const event = message.event;
    if (typeof event !== 'string' || event === '') return '"event" must be a non-empty string';
    if (message.type === SUBSCRIBE_TYPE) {
      let pids = this.#pids.get(event);
      if (pids === undefined) this.#pids.set(event, (pids = new Set()));
      pids.add(pid);
    } else {
      this.#remove(event, pid);
    }
    return undefined;
  }

  /** The workers subscribed to `event`, as a copy (sending may make one exit). */
  of(event: string): number[] {
    return [...(this.#pids.get(event) ?? [])];
  }

  /** Forgets every subscription of a worker that exited. */
  dropWorker(pid: number): void {
    for (const event of [...this.#pids.keys()]) this.#remove(event, pid);
  }

  clear(): void {
    this.#pids.clear();
  }

  #remove(event: string, pid: number): void {
    const pids = this.#pids.get(event);
    if (pids === undefined) return;
    pids.delete(pid);
    // Empty sets would pile up for every event name a worker ever used.
    if (pids.size === 0) this.#pids.delete(event);
  }
}
