import cluster, { type Worker } from 'node:cluster';
import { debuglog } from 'node:util';
import { Cluster2Error } from '../errors.js';
import { ENV_ECV, ENV_LOG_CAPTURE, ENV_PORTS } from '../ipc/env.js';
import { RestartPolicy } from './backoff.js';
import type { EcvBroadcast } from './ecv-broadcast.js';
import { repairHandlePassing } from './handle-passing.js';
import { rescueHandoffs } from './handoff.js';
import type { MasterContext } from './master-context.js';
import type { StickyGate } from './sticky-gate.js';
import { createWorkerRecord, type WorkerRecord } from './workers.js';

const debug = debuglog('cluster2');

/**
 * A worker that neither listens nor dies within startTimeout plus this long is killed and counts as
 * failed, ms. The worker gives up at startTimeout itself, saying why; this catches one that cannot.
 */
const STARTUP_GRACE = 5000;
/** How long a dead worker's last stderr bytes may take to arrive after its exit, ms. */
const STDERR_DRAIN_LIMIT = 500;

/** What the spawner needs from the rest of the master. */
export interface SpawnerLinks {
  readonly ports: () => readonly number[];
  readonly ecv: EcvBroadcast;
  readonly sticky: StickyGate;
  /** Environment every worker gets over the master's (run()'s `env`). */
  readonly workerEnv: Readonly<Record<string, string>>;
  /** Routes the new worker's messages. */
  wire(record: WorkerRecord): void;
  /** True while a successor for `record` is being started (it takes the dead worker's place). */
  isReplacing(record: WorkerRecord): boolean;
  /** Too many deaths in the restart window. */
  giveUp(reason: string): void;
}

/**
 * Forks workers and keeps their number up: fills slots at start-up, respawns crashed workers with
 * backoff, retries forks the OS refuses, and gives up when the app keeps dying.
 */
export class Spawner {
  readonly #context: MasterContext;
  readonly #links: SpawnerLinks;
  readonly #policy: RestartPolicy;
  readonly #respawnTimers = new Set<NodeJS.Timeout>();
  /** Forks in a row the OS refused (EMFILE, EAGAIN, …): the retry of a slot backs off with it. */
  #forkFailures = 0;

  constructor(context: MasterContext, links: SpawnerLinks) {
    this.#context = context;
    this.#links = links;
    this.#policy = new RestartPolicy(context.options.restart);
  }

  /**
   * Forks a worker as `instance` (its predecessor's, when it replaces one; by default the lowest
   * index no live worker holds). Rejects with ERR_CLUSTER2_FORK_FAILED when the OS starts no
   * process (EMFILE, EAGAIN, …): node:cluster then hands back a worker without a pid that never
   * exits, which must never enter the table.
   */
  fork(restarts: number, instance = this.#freeInstance()): Promise<WorkerRecord> {
    const context = this.#context;
    let worker: Worker;
    try {
      worker = cluster.fork({
        ...this.#links.workerEnv,
        [ENV_PORTS]: JSON.stringify(this.#links.ports()),
        [ENV_ECV]: JSON.stringify(this.#links.ecv.snapshot()),
        // The worker makes its stdout and stderr pipes blocking (nothing lost at process.exit()).
        ...(this.#context.options.logs.capture && { [ENV_LOG_CAPTURE]: '1' }),
        // PM2's name for it (apps use it to run a cron in instance 0 only), and ours.
        NODE_APP_INSTANCE: String(instance),
        CLUSTER2_WORKER_ID: String(instance),
      });
    } catch (error) {
      return Promise.reject(this.#forkFailed(error as Error));
    }
    if (worker.process.pid === undefined) {
      return spawnError(worker).then((error) => {
        throw this.#forkFailed(error);
      });
    }
    this.#forkFailures = 0;
    rescueHandoffs(worker);
    repairHandlePassing(worker);
    const record = createWorkerRecord(worker, restarts, instance, !context.options.logs.capture);
    context.logs.track(record);
    context.table.add(record);
    // Sticky sessions hash over the same indexes: a successor keeps its predecessor's clients.
    this.#links.sticky.place(record, instance);
    context.pidFiles?.writeWorker(record.pid);
    this.#links.wire(record);
    worker.on('exit', (code: number | null, signal: string | null) => this.#onExit(record, code, signal));
    context.eventLog.add({ type: 'forked', pid: record.pid });
    context.emitSoon('forked', record.pid);
    // A start that outlives startTimeout is a failed start: kill it so its death is counted.
    const startLimit = context.options.startTimeout + STARTUP_GRACE;
    const startTimer = setTimeout(() => {
      if (record.state !== 'starting') return;
      record.killedBecause = `it did not ${context.options.readySignal ? 'call ready()' : 'listen'} within ${startLimit} ms`;
      worker.process.kill('SIGKILL');
    }, startLimit);
    startTimer.unref();
    record.listening.then(
      () => clearTimeout(startTimer),
      () => clearTimeout(startTimer),
    );
    return Promise.resolve(record);
  }

  /**
   * Fills a slot at start-up or after a crash. A fork the OS refuses is retried with the restart
   * backoff until one starts, so the cluster is back to full strength once the pressure ends; it
   * is not a death of the app and never counts toward the give-up.
   */
  fill(restarts: number, instance?: number): void {
    this.fork(restarts, instance).catch(() => {
      if (this.#context.state.windingDown) return;
      this.#forkFailures++;
      const { minDelay, maxDelay } = this.#context.options.restart;
      this.#later(Math.min(maxDelay, minDelay * 2 ** (this.#forkFailures - 1)), () => this.fill(restarts, instance));
    });
  }

  /** The lowest index no worker in the table holds (table order is fork order, so start-up fills 0, 1, 2, …). */
  #freeInstance(): number {
    const held = new Set(this.#context.table.all().map((record) => record.instance));
    let instance = 0;
    while (held.has(instance)) instance++;
    return instance;
  }

  /** The master stops: no respawn is pending any more. */
  cancelRespawns(): void {
    for (const timer of this.#respawnTimers) clearTimeout(timer);
    this.#respawnTimers.clear();
  }

  #forkFailed(cause: Error): Cluster2Error {
    const code = (cause as NodeJS.ErrnoException).code;
    const error = new Cluster2Error('ERR_CLUSTER2_FORK_FAILED', `could not start a worker process: ${code ? `${code}: ` : ''}${cause.message}`, { cause });
    this.#context.eventLog.add({ type: 'fork-failed', message: error.message });
    this.#context.emitSoon('forkFailed', error);
    return error;
  }

  /** A respawn timer: cleared when the master stops. */
  #later(delay: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.#respawnTimers.delete(timer);
      run();
    }, delay);
    this.#respawnTimers.add(timer);
  }

  #onExit(record: WorkerRecord, code: number | null, signal: string | null): void {
    const context = this.#context;
    const wasStarting = record.state === 'starting';
    record.moveTo('dead');
    record.markIntakeClosed();
    record.channel.close(new Cluster2Error('ERR_CLUSTER2_WORKER_GONE', `worker ${record.pid} exited`));
    context.table.remove(record.pid);
    this.#links.sticky.forget(record);
    context.pidFiles?.removeWorker(record.pid);
    context.host.onWorkerExit(record.pid);
    context.eventLog.add({ type: 'died', pid: record.pid, code, signal });
    context.emitSoon('died', record.pid, code, signal);
    debug('worker %d exited code=%s signal=%s planned=%s', record.pid, code, signal, record.planned);
    if (!wasStarting) {
      if (!record.planned && !context.state.windingDown) this.#onCrash(record, false);
      return;
    }
    // A failed start is reported first (its last stderr lines may still be in the pipe), so that a
    // give-up or a respawn that follows comes after the reason.
    void reportEarlyDeath(record, code, signal, (message, pid) => context.warn(message, pid)).then(() => {
      if (!record.planned && !context.state.windingDown) this.#onCrash(record, true);
    });
  }

  #onCrash(record: WorkerRecord, wasStarting: boolean): void {
    // A successor that failed to start while its predecessor still serves is a failed deploy,
    // reported by its recycle or reload. The serving generation is not crashing: counting it would
    // let a few broken deploys in a row give up and take the healthy workers down with it.
    if (wasStarting && record.predecessor && record.predecessor.state !== 'dead') return;
    const { options, restarts } = this.#context;
    restarts.crash = (restarts.crash ?? 0) + 1;
    const verdict = this.#policy.recordDeath();
    if (verdict.giveUp) {
      const reason = `${this.#policy.recentDeaths} workers died within ${options.restart.window} ms (restart.maxRestarts is ${options.restart.maxRestarts})${wasStarting ? '; the last one before it listened' : ''}`;
      this.#links.giveUp(reason);
      return;
    }
    // A successor already starting for this worker takes its place.
    if (this.#links.isReplacing(record)) return;
    const respawn = () => {
      if (this.#context.state.windingDown) return;
      this.fill(record.restarts + 1, record.instance);
    };
    this.#context.eventLog.add({ type: 'respawn', pid: record.pid, delay: verdict.delay });
    // The first death in a window is replaced at once: a timer, even of 0 ms, costs a loop turn.
    if (verdict.delay === 0) return respawn();
    this.#later(verdict.delay, respawn);
  }
}

/**
 * Rejects `record.listening` with why it never listened, its last stderr lines included (they
 * may still be in the pipe when the exit is seen, so wait briefly for its end), and says it as a
 * warning unless the worker was a successor, whose reload or recycle reports it.
 */
function reportEarlyDeath(record: WorkerRecord, code: number | null, signal: string | null, warn: (message: string, pid: number) => void): Promise<void> {
  const why = record.killedBecause ?? `it exited with ${signal ? `signal ${signal}` : `code ${code}`} before it listened`;
  const report = () => {
    const tail = record.stderr.lines();
    const error = new Cluster2Error(
      'ERR_CLUSTER2_WORKER_GONE',
      `worker ${record.pid} failed to start: ${why}${tail ? `; its last stderr lines:\n${tail}` : ''}`,
    );
    record.markDead(error);
    // A successor's failure is its reload's or recycle's to report; any other start says it here.
    if (!record.predecessor) warn(error.message, record.pid);
  };
  const drained = new Promise<void>((resolve) => {
    setTimeout(resolve, STDERR_DRAIN_LIMIT).unref();
    void record.stderr.ended.then(resolve);
  });
  return drained.then(report);
}

/** The error node:cluster emits (on the next tick) for a worker whose process never started. */
function spawnError(worker: Worker): Promise<Error> {
  return new Promise((resolve) => {
    worker.once('error', resolve);
    // It never exits, so node:cluster would keep it listed in cluster.workers for good.
    worker.once('error', () => delete cluster.workers?.[worker.id]);
  });
}
