import { describe, expect, it } from 'vitest';
import type { MasterState, WorkerState } from '../src/status.js';
import { canMasterMove, MasterStateMachine } from '../src/primary/master-state.js';
import { canWorkerMove, checkWorkerMove, isDrainingState } from '../src/worker-state.js';

const WORKER_STATES: WorkerState[] = ['starting', 'listening', 'draining', 'dead'];
const MASTER_STATES: MasterState[] = ['starting', 'running', 'reloading', 'shutting-down', 'stopping', 'gave-up'];

function allowed<S extends string>(states: S[], can: (from: S, to: S) => boolean): string[] {
  return states.flatMap((from) => states.filter((to) => can(from, to)).map((to) => `${from} → ${to}`));
}

describe('worker state table', () => {
  it('allows exactly the moves a worker makes: start, listen, drain (again during a shutdown), die', () => {
    expect(allowed(WORKER_STATES, canWorkerMove)).toEqual([
      'starting → listening',
      'starting → draining',
      'starting → dead',
      'listening → draining',
      'listening → dead',
      'draining → draining',
      'draining → dead',
    ]);
  });

  it('rejects dead → listening, draining → listening and listening → starting with ERR_CLUSTER2_INTERNAL naming the worker', () => {
    expect(() => checkWorkerMove(4242, 'dead', 'listening')).toThrow('worker 4242 cannot go from dead to listening');
    expect(() => checkWorkerMove(4242, 'draining', 'listening')).toThrow('cannot go from draining to listening');
    expect(() => checkWorkerMove(4242, 'listening', 'starting')).toThrow('cannot go from listening to starting');
    expect(() => checkWorkerMove(4242, 'dead', 'listening')).toThrow(expect.objectContaining({ code: 'ERR_CLUSTER2_INTERNAL' }));
    expect(checkWorkerMove(4242, 'listening', 'draining')).toBe('draining');
  });

  it('counts draining and dead as draining, starting and listening as not', () => {
    expect(WORKER_STATES.filter(isDrainingState)).toEqual(['draining', 'dead']);
  });
});

describe('master state table', () => {
  it('allows start-up, reloads (start-up may finish during one) and one way out; nothing leaves shutting-down, stopping or gave-up', () => {
    expect(allowed(MASTER_STATES, canMasterMove)).toEqual([
      'starting → running',
      'starting → reloading',
      'starting → shutting-down',
      'starting → stopping',
      'starting → gave-up',
      'running → reloading',
      'running → shutting-down',
      'running → stopping',
      'running → gave-up',
      'reloading → running',
      'reloading → shutting-down',
      'reloading → stopping',
      'reloading → gave-up',
    ]);
  });

  it('moveTo() rejects gave-up → running and stopping → reloading with ERR_CLUSTER2_INTERNAL, and leaves the state as it was', () => {
    const master = new MasterStateMachine();
    master.moveTo('running');
    master.moveTo('gave-up');
    expect(() => master.moveTo('running')).toThrow('the master cannot go from gave-up to running');
    expect(() => master.moveTo('running')).toThrow(expect.objectContaining({ code: 'ERR_CLUSTER2_INTERNAL' }));
    expect(master.current).toBe('gave-up');
    const stopped = new MasterStateMachine();
    stopped.moveTo('stopping');
    expect(() => stopped.moveTo('reloading')).toThrow('cannot go from stopping to reloading');
    expect(stopped.current).toBe('stopping');
  });

  it('winds down exactly in shutting-down, stopping and gave-up', () => {
    const windingDown = MASTER_STATES.filter((state) => {
      const master = new MasterStateMachine();
      if (state !== 'starting') master.moveTo(state);
      return master.windingDown;
    });
    expect(windingDown).toEqual(['shutting-down', 'stopping', 'gave-up']);
  });
});
