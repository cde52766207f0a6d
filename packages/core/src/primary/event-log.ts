import type { EventEmitter } from 'node:events';
import type { LifecycleEvent } from '../monitor/source.js';

/** Lifecycle log entries kept for the monitor. */
const EVENT_LOG_SIZE = 200;

/** The recent lifecycle events of a master, each also emitted as `'lifecycle'` on `source` for the monitor. */
export class EventLog {
  readonly #entries: LifecycleEvent[] = [];
  readonly #source: EventEmitter;

  constructor(source: EventEmitter) {
    this.#source = source;
  }

  add(event: Omit<LifecycleEvent, 'time'>): void {
    const entry = { time: Date.now(), ...event } as LifecycleEvent;
    this.#entries.push(entry);
    if (this.#entries.length > EVENT_LOG_SIZE) this.#entries.shift();
    this.#source.emit('lifecycle', entry);
  }

  /** Oldest first. */
  list(): LifecycleEvent[] {
    return [...this.#entries];
  }
}
