import { Cluster2Error } from '../errors.js';
import type { MasterState } from '../status.js';

/**
 * Where the master may go from each state. Start-up may complete during a reload (reloading →
 * running); once shutting down, stopping or given up, the master only exits. Anything else is a
 * bug in cluster2, not a situation to handle.
 */
const NEXT: Readonly<Record<MasterState, readonly MasterState[]>> = Object.freeze({
  starting: ['running', 'reloading', 'shutting-down', 'stopping', 'gave-up'],
  running: ['reloading', 'shutting-down', 'stopping', 'gave-up'],
  reloading: ['running', 'shutting-down', 'stopping', 'gave-up'],
  'shutting-down': [],
  stopping: [],
  'gave-up': [],
});

/** Whether the master may move from `from` to `to`. */
export function canMasterMove(from: MasterState, to: MasterState): boolean {
  return NEXT[from].includes(to);
}

/** The master's lifecycle state; `moveTo` is the one way to change it. */
export class MasterStateMachine {
  #state: MasterState = 'starting';

  get current(): MasterState {
    return this.#state;
  }

  /** Throws (an internal assertion) on a transition the table does not allow. */
  moveTo(next: MasterState): void {
    if (!canMasterMove(this.#state, next)) {
      throw new Cluster2Error('ERR_CLUSTER2_INTERNAL', `cluster2 internal error: the master cannot go from ${this.#state} to ${next}`);
    }
    this.#state = next;
  }

  /** Shutting down, stopping or given up: no respawn, recycle or reload starts any more. */
  get windingDown(): boolean {
    return this.#state === 'shutting-down' || this.#state === 'stopping' || this.#state === 'gave-up';
  }
}
