import { debuglog } from 'node:util';
import { Cluster2Error } from '../errors.js';
import type { RecycleReason, ReloadStatus } from '../status.js';
import type { MasterContext } from './master-context.js';
import { Recycler } from './recycler.js';
import type { Spawner } from './spawner.js';
import type { WorkerRecord } from './workers.js';

const debug = debuglog('cluster2');

/**
 * Replaces healthy workers successor-first: one at a time on a limit, a heartbeat or a manual
 * restart (recycle), all of them on a rolling reload.
 */
export class Reloads {
  readonly #context: MasterContext;
  readonly #spawner: Spawner;
  readonly #recycler: Recycler;
  /** The last reload's outcome, for status, the pids directory and `cluster2 reload`. */
  #lastReload: ReloadStatus | undefined;
  #reloading: Promise<void> | undefined;
  /** A reload asked for while one runs: at most one waits. */
  #pendingReload: Promise<void> | undefined;

  constructor(context: MasterContext, spawner: Spawner) {
    this.#context = context;
    this.#spawner = spawner;
    this.#recycler = new Recycler({
      startSuccessor: (old) => this.#startSuccessor(old),
      retire: (old, reason) => this.#retire(old, reason),
    });
  }

  get lastReload(): ReloadStatus | undefined {
    return this.#lastReload;
  }

  /** True while a successor for `record` is being started. */
  isReplacing(record: WorkerRecord): boolean {
    return this.#recycler.isReplacing(record);
  }

  /** The master stops: everything queued is rejected with `error`. */
  close(error: Error): void {
    this.#recycler.close(error);
  }

  /** Replaces one worker successor-first; resolves once the successor listens and the old one drains. */
  recycle(pid: number, reason: RecycleReason): Promise<void> {
    const { table, state } = this.#context;
    const record = table.get(pid);
    if (!record || record.state !== 'listening' || state.windingDown) return Promise.resolve();
    return this.#recycler.request(record, reason).catch((error: Error) => {
      // The old worker keeps serving; say why its replacement did not take over (a broken deploy on disk, EMFILE).
      if (!this.#context.state.windingDown) this.#context.warn(`recycling worker ${pid} (${reason}) failed; it keeps serving: ${error.message}`, pid);
      throw error;
    });
  }

  restartWorker(pid: number): boolean {
    const record = this.#context.table.get(pid);
    if (!record || record.state !== 'listening') return false;
    this.recycle(pid, 'manual').catch(() => {});
    return true;
  }

  /**
   * Replaces every worker, one at a time, successor first. A reload asked for while one runs is
   * queued (at most one waits); every such request resolves when the queued one finishes.
   */
  reload(): Promise<void> {
    if (this.#context.state.windingDown) {
      const error = new Cluster2Error('ERR_CLUSTER2_RELOAD_UNAVAILABLE', 'cannot reload: the cluster is shutting down');
      this.#recordReload({ state: 'failed', startedAt: Date.now(), endedAt: Date.now(), error: { code: error.code, message: error.message } });
      return Promise.reject(error);
    }
    if (!this.#reloading) {
      this.#reloading = this.#runReload().finally(() => {
        this.#reloading = undefined;
      });
      return this.#reloading;
    }
    this.#pendingReload ??= this.#reloading
      .catch(() => {})
      .then(() => {
        this.#pendingReload = undefined;
        return this.reload();
      });
    return this.#pendingReload;
  }

  async #runReload(): Promise<void> {
    const { eventLog, state, table } = this.#context;
    const startedAt = Date.now();
    eventLog.add({ type: 'reload' });
    this.#recordReload({ state: 'running', startedAt });
    state.moveTo('reloading');
    try {
      for (const record of table.serving()) {
        await this.#recycler.request(record, 'reload');
      }
      // The last 'recycled' event is emitted on the next tick: resolve after it, not before.
      await new Promise<void>((resolve) => process.nextTick(resolve));
      eventLog.add({ type: 'reloaded' });
      this.#recordReload({ state: 'succeeded', startedAt, endedAt: Date.now() });
    } catch (error) {
      this.#reloadFailed(error as Cluster2Error, startedAt);
      throw error;
    } finally {
      // A reload asked for during start-up leaves the master running: its workers all listen by now.
      if (state.current === 'reloading') state.moveTo('running');
    }
  }

  #reloadFailed(error: Cluster2Error, startedAt: number): void {
    this.#context.eventLog.add({ type: 'reload-failed', message: error.message });
    this.#recordReload({ state: 'failed', startedAt, endedAt: Date.now(), error: { code: error.code, message: error.message } });
    this.#context.emitSoon('reloadFailed', error);
  }

  #recordReload(outcome: ReloadStatus): void {
    this.#lastReload = outcome;
    try {
      this.#context.pidFiles?.writeReload(outcome);
    } catch (error) {
      debug('could not write the reload outcome: %s', (error as Error).message);
    }
  }

  async #startSuccessor(old: WorkerRecord): Promise<WorkerRecord> {
    let successor: WorkerRecord;
    try {
      successor = await this.#spawner.fork(old.restarts + 1, old.instance);
      successor.predecessor = old;
      await successor.listening;
    } catch (error) {
      throw new Cluster2Error('ERR_CLUSTER2_RELOAD_FAILED', `a successor for worker ${old.pid} could not start: ${(error as Error).message}`, { cause: error });
    }
    return successor;
  }

  #retire(old: WorkerRecord, reason: RecycleReason): Promise<void> {
    const { options, restarts, eventLog } = this.#context;
    old.planned = true;
    old.moveTo('draining');
    restarts[reason] = (restarts[reason] ?? 0) + 1;
    eventLog.add({ type: 'recycled', pid: old.pid, reason });
    this.#context.emitSoon('recycled', old.pid, reason);
    if (reason === 'heartbeat') {
      // Its event loop is wedged: it could not drain.
      old.worker.process.kill('SIGKILL');
    } else {
      old.channel.send('drain', { delay: 0 });
      this.#killLater(old, options.shutdownTimeout + 1000);
    }
    // Its exit closes the intake too, so a worker that never says so still ends the wait.
    return old.whenIntakeClosed;
  }

  #killLater(record: WorkerRecord, ms: number): void {
    const timer = setTimeout(() => {
      if (record.state === 'dead') return;
      this.#context.warn(`worker ${record.pid} still running ${ms} ms after it was told to drain; killing it`, record.pid);
      record.worker.process.kill('SIGKILL');
    }, ms);
    timer.unref();
  }
}
