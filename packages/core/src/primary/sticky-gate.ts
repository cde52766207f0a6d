import type { PressureCounters } from './pressure.js';
import type { MasterContext } from './master-context.js';
import { StickyAcceptor } from './sticky-acceptor.js';
import type { WorkerRecord } from './workers.js';

/**
 * Sticky sessions: the master accepts on the app ports and picks each connection's worker. Without
 * the `sticky` option every method is a no-op and node:cluster shares the ports.
 */
export class StickyGate {
  readonly #context: MasterContext;
  readonly #acceptor: StickyAcceptor<WorkerRecord> | undefined;

  constructor(context: MasterContext, pressure: PressureCounters) {
    this.#context = context;
    const { sticky, limits } = context.options;
    this.#acceptor = sticky ? new StickyAcceptor({ ...sticky, limits }, (r) => this.#takesConnections(r), pressure) : undefined;
  }

  listen(ports: readonly number[], host: string): Promise<void> {
    return this.#acceptor?.listen(ports, host) ?? Promise.resolve();
  }

  /** Puts a new worker in `slot` (a successor takes its predecessor's). */
  place(record: WorkerRecord, slot: number | undefined): void {
    this.#acceptor?.slots.place(record, slot);
  }

  /** A worker listens: connections waiting for one may go now. */
  flush(): void {
    this.#acceptor?.flush();
  }

  /** A worker exited: forget it, and free the ports if it was the last to take connections. */
  forget(record: WorkerRecord): void {
    this.#acceptor?.remove(record);
    this.closeOnceDrained();
  }

  /** The worker said it takes no new connections (it drains). */
  intakeClosed(record: WorkerRecord): void {
    record.markIntakeClosed();
    this.closeOnceDrained();
  }

  close(): void {
    this.#acceptor?.close();
  }

  /**
   * During a shutdown, closes the master's listeners once no worker takes connections any more:
   * the moment node:cluster's shared handle would have closed. The port is then free.
   */
  closeOnceDrained(): void {
    if (!this.#acceptor || !this.#context.state.windingDown) return;
    if (this.#context.table.all().some((r) => r.state !== 'dead' && this.#takesConnections(r))) return;
    this.#acceptor.close();
  }

  /**
   * Whether the master may hand `record` a sticky connection: a listening worker; during a shutdown
   * also a draining one until it closes its intake (after shutdownDelay, as node:cluster's workers
   * keep their listeners until then). Never a starting one, nor one that said it drains.
   */
  #takesConnections(record: WorkerRecord): boolean {
    if (record.intakeClosed) return false;
    return record.state === 'listening' || (this.#context.state.windingDown && record.state === 'draining');
  }
}
