import type { EventEmitter } from 'node:events';
import { truncateMessage } from '../ipc/size.js';
import type { LifecycleEvent } from '../status.js';

/** Lifecycle entries (forked, listening, died, recycled, giveup, reload, shutdown, …) kept for the monitor. */
const LIFECYCLE_LOG_SIZE = 200;
/**
 * Warnings kept, in a ring of their own: however many arrive, they never push a worker's death or a
 * reload out of the log.
 */
const WARNING_LOG_SIZE = 50;
/**
 * The recent events of a master, each also emitted as `'lifecycle'` on `source` for the monitor.
 * Lifecycle events and warnings sit in separate bounded rings; `list()` merges them by time.
 */
export class EventLog {
  readonly #lifecycle: LifecycleEvent[] = [];
  readonly #warnings: LifecycleEvent[] = [];
  readonly #source: EventEmitter;

  constructor(source: EventEmitter) {
    this.#source = source;
  }

  add(event: Omit<LifecycleEvent, 'time'>): void {
    const entry = { time: Date.now(), ...event };
    if (entry.message !== undefined) entry.message = truncateMessage(entry.message);
    const ring = entry.type === 'warning' ? this.#warnings : this.#lifecycle;
    ring.push(entry);
    if (ring.length > (ring === this.#warnings ? WARNING_LOG_SIZE : LIFECYCLE_LOG_SIZE)) ring.shift();
    this.#source.emit('lifecycle', entry);
  }

  /** Oldest first. */
  list(): LifecycleEvent[] {
    return merge(this.#lifecycle, this.#warnings);
  }
}

/** Both rings are in time order already: one pass merges them (ties keep lifecycle entries first). */
function merge(a: LifecycleEvent[], b: LifecycleEvent[]): LifecycleEvent[] {
  const merged: LifecycleEvent[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]!.time <= b[j]!.time)) merged.push(a[i++]!);
    else merged.push(b[j++]!);
  }
  return merged;
}
