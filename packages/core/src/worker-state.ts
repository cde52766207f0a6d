import { Cluster2Error } from './errors.js';
import type { WorkerState } from './status.js';

/**
 * Where a worker may go from each state, seen from the master (its record) or from the worker
 * itself (its runtime). A worker drains once it is told to (a shutdown tells workers that already
 * drain again; the drain joins the first); dead is the end. Anything else is a bug in cluster2.
 */
const NEXT: Readonly<Record<WorkerState, readonly WorkerState[]>> = Object.freeze({
  starting: ['listening', 'draining', 'dead'],
  listening: ['draining', 'dead'],
  draining: ['draining', 'dead'],
  dead: [],
});

/** Whether a worker may move from `from` to `to`. */
export function canWorkerMove(from: WorkerState, to: WorkerState): boolean {
  return NEXT[from].includes(to);
}

/** Throws (an internal assertion) on a move the table does not allow; returns `to`. */
export function checkWorkerMove(pid: number, from: WorkerState, to: WorkerState): WorkerState {
  if (!canWorkerMove(from, to)) throw new Cluster2Error('ERR_CLUSTER2_INTERNAL', `cluster2 internal error: worker ${pid} cannot go from ${from} to ${to}`);
  return to;
}

/** Draining or already done: the process takes no new work. */
export function isDrainingState(state: WorkerState): boolean {
  return state === 'draining' || state === 'dead';
}
