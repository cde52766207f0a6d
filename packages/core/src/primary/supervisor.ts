import cluster, { type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import { Cluster2Error } from '../errors.js';
import { Channel } from '../ipc/channel.js';
import { ENV_ECV, ENV_PORTS } from '../ipc/env.js';
import type { MonitorSource } from '../monitor/source.js';
import type { ClusterStatus, MasterState, RecycleReason, RefusedReason, ReloadStatus } from '../status.js';
import { portsOf, type ResolvedOptions } from '../options.js';
import { FACTORY_TIMEOUT } from '../worker/factory.js';
import type { WorkerStats } from '../status.js';
import type { DelegationStats } from '../status.js';
import { RestartPolicy } from './backoff.js';
import { EcvState } from '../ecv/state.js';
import { EventLog } from './event-log.js';
import { truncateMessage } from '../ipc/size.js';
import { PidFiles } from './pidfiles.js';
import { PressureCounters } from './pressure.js';
import { claimPort } from './ports.js';
import { Recycler } from './recycler.js';
import { rescueHandoffs } from './handoff.js';
import { repairHandlePassing } from './handle-passing.js';
import { installSignals } from './signals.js';
import { StderrTail } from './stderr-tail.js';
import { StickyAcceptor } from './sticky-acceptor.js';
import { STICKY_CLOSED } from '../ipc/sticky-wire.js';
import { WorkerTable, type WorkerRecord } from './workers.js';

const debug = debuglog('cluster2');

/** A successor that neither listens nor dies within this long is killed and counts as failed, ms. */
export const STARTUP_TIMEOUT = FACTORY_TIMEOUT + 5000;
/** `stop()`: SIGTERM first, SIGKILL after this long, ms. */
export const STOP_KILL_DELAY = 2000;
/** How long a dead worker's last stderr bytes may take to arrive after its exit, ms. */
const STDERR_DRAIN_LIMIT = 500;


export interface SupervisorHost {
  /** Emits on the user's Cluster. */
  emit(event: string, ...args: unknown[]): boolean;
  listenerCount(event: string): number;
  exit(code: number): void;
  /** Called for every worker message that is not one of cluster2's envelopes (delegation). */
  onForeignMessage(pid: number, message: unknown): void;
  onWorkerExit(pid: number): void;
  /** What delegation holds and refused, for the status. */
  delegationStats?(): DelegationStats;
}

/**
 * The master: forks and watches workers, respawns with backoff, recycles successor-first,
 * reloads, shuts down, and keeps the figures the monitor shows.
 */
export class Supervisor extends EventEmitter implements MonitorSource {
  state: MasterState = 'starting';
  readonly ecv: EcvState;
  readonly #options: ResolvedOptions;
  readonly #host: SupervisorHost;
  readonly #table = new WorkerTable();
  readonly #policy: RestartPolicy;
  readonly #recycler: Recycler;
  readonly #pidFiles: PidFiles | undefined;
  readonly #eventLog = new EventLog(this);
  readonly #pressure = new PressureCounters((message) => this.#warn(message));
  readonly #restarts: Record<string, number> = {};
  readonly #respawnTimers = new Set<NodeJS.Timeout>();
  /** Forks in a row the OS refused (EMFILE, EAGAIN, …): the retry of a slot backs off with it. */
  #forkFailures = 0;
  /** The last reload's outcome, for status, the pids directory and `cluster2 reload`. */
  #lastReload: ReloadStatus | undefined;
  /** A recycle's successor → the worker it is to replace (see #onCrash). */
  readonly #predecessors = new WeakMap<WorkerRecord, WorkerRecord>();
  /**
   * Workers that fetched the ECV switch ('ecv:get') and so listen for its changes. A worker still
   * loading its modules has no IPC listener yet and would lose a push: it reads the switch itself.
   */
  readonly #ecvSynced = new WeakSet<WorkerRecord>();
  readonly #startedAt = Date.now();
  #ports: number[] = [];
  #ticker: NodeJS.Timeout | undefined;
  #removeSignals: (() => void) | undefined;
  #ending: Promise<void> | undefined;
  #reloading: Promise<void> | undefined;
  #pendingReload: Promise<void> | undefined;
  #afterStop: Array<() => Promise<void> | void> = [];
  /** Sticky sessions: the master accepts on the app ports and picks each connection's worker. */
  readonly #sticky: StickyAcceptor<WorkerRecord> | undefined;
  /** Workers that told the master they take no more sticky connections (they drain). */
  readonly #stickyClosed = new WeakSet<WorkerRecord>();
  /** Settles `start()`: once `noWorkers` listen, or on give-up. */
  #startup: { resolve(): void; reject(error: Error): void } | undefined;

  constructor(options: ResolvedOptions, host: SupervisorHost) {
    super();
    this.#options = options;
    this.#host = host;
    this.#policy = new RestartPolicy(options.restart);
    this.#pidFiles = options.pids === false ? undefined : new PidFiles(options.pids);
    this.ecv = new EcvState(new Date(this.#startedAt));
    this.#recycler = new Recycler({
      startSuccessor: (old) => this.#startSuccessor(old),
      retire: (old, reason) => this.#retire(old, reason),
    });
    this.#sticky = options.sticky
      ? new StickyAcceptor({ ...options.sticky, limits: options.limits }, (r) => this.#takesStickyConnections(r), this.#pressure)
      : undefined;
  }

  get ports(): readonly number[] {
    return this.#ports;
  }

  /** Runs `hook` when the master stops, before it exits (monitor close, …). */
  onStop(hook: () => Promise<void> | void): void {
    this.#afterStop.push(hook);
  }

  /** Checks the ports, forks `noWorkers` and resolves once every one listens. */
  async start(beforeFork: (ports: number[]) => Promise<void> = async () => {}): Promise<number[]> {
    const { host } = this.#options;
    this.#ports = [];
    for (const port of portsOf(this.#options.port)) this.#ports.push(await claimPort(port, host));
    await this.#sticky?.listen(this.#ports, host);
    await beforeFork(this.#ports);
    cluster.schedulingPolicy = this.#options.scheduling === 'os' ? cluster.SCHED_NONE : cluster.SCHED_RR;
    // stderr comes through the master (unchanged) so the death of a worker that never listened
    // can be reported with its last lines: a broken deploy's SyntaxError is only there.
    cluster.setupPrimary({ stdio: ['inherit', 'inherit', 'pipe', 'ipc'] });
    // With workers' stderr passing through here, a reader of ours that went away (EPIPE) would
    // otherwise be an uncaught 'error' that takes the master, and every worker, down.
    process.stderr.on('error', onStderrError);
    this.#removeSignals = installSignals(this, this.#host);
    this.#ticker = setInterval(() => this.#tick(), this.#options.heartbeatInterval).unref();
    const allListening = new Promise<void>((resolve, reject) => {
      this.#startup = { resolve, reject };
    });
    for (let i = 0; i < this.#options.noWorkers; i++) this.#fill(0);
    await allListening;
    return this.#ports;
  }

  /** Sends a raw (non-envelope) message to one worker: delegation answers. Unknown or gone pids are ignored. */
  sendRaw(pid: number, message: object): void {
    const record = this.#table.get(pid);
    if (record?.worker.isConnected()) record.worker.send(message, undefined, () => {});
  }

  /** Takes the pids directory before anything starts: throws ERR_CLUSTER2_PIDS_IN_USE / _UNWRITABLE. */
  claimPidFiles(): void {
    this.#pidFiles?.claim();
  }

  writePidFiles(monitor: { host: string; port: number } | null): void {
    this.#pidFiles?.writeMaster({
      pid: process.pid,
      ports: this.#ports,
      host: this.#options.host,
      monitor,
      startedAt: this.#startedAt,
    });
    for (const record of this.#table.all()) this.#pidFiles?.writeWorker(record.pid);
  }

  /**
   * Forks a worker into `slot` (sticky sessions' slot to take over). Rejects with
   * ERR_CLUSTER2_FORK_FAILED when the OS starts no process (EMFILE, EAGAIN, …): node:cluster then
   * hands back a worker without a pid that never exits, which must never enter the table.
   */
  #fork(restarts: number, slot?: number): Promise<WorkerRecord> {
    let worker: Worker;
    try {
      worker = cluster.fork({
        [ENV_PORTS]: JSON.stringify(this.#ports),
        [ENV_ECV]: JSON.stringify(this.ecv.snapshot()),
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
    const record = createRecord(worker, restarts);
    this.#table.add(record);
    this.#sticky?.slots.place(record, slot);
    this.#pidFiles?.writeWorker(record.pid);
    this.#wire(record);
    this.#eventLog.add({ type: 'forked', pid: record.pid });
    this.#emitSoon('forked', record.pid);
    // A start that outlives STARTUP_TIMEOUT is a failed start: kill it so its death is counted.
    const startTimer = setTimeout(() => {
      if (record.state !== 'starting') return;
      record.killedBecause = `it did not ${this.#options.readySignal ? 'call ready()' : 'listen'} within ${STARTUP_TIMEOUT} ms`;
      worker.process.kill('SIGKILL');
    }, STARTUP_TIMEOUT);
    startTimer.unref();
    record.listening.then(() => clearTimeout(startTimer), () => clearTimeout(startTimer));
    return Promise.resolve(record);
  }

  #forkFailed(cause: Error): Cluster2Error {
    const code = (cause as NodeJS.ErrnoException).code;
    const error = new Cluster2Error('ERR_CLUSTER2_FORK_FAILED', `could not start a worker process: ${code ? `${code}: ` : ''}${cause.message}`, { cause });
    this.#eventLog.add({ type: 'fork-failed', message: error.message });
    this.#options.logger?.error({ err: error }, 'cluster2: fork failed');
    this.#emitSoon('forkFailed', error);
    return error;
  }

  /**
   * Fills a slot at start-up or after a crash. A fork the OS refuses is retried with the restart
   * backoff until one starts, so the cluster is back to full strength once the pressure ends; it
   * is not a death of the app and never counts toward the give-up.
   */
  #fill(restarts: number, slot?: number): void {
    this.#fork(restarts, slot).catch(() => {
      if (this.#ending || this.state === 'gave-up') return;
      this.#forkFailures++;
      const { minDelay, maxDelay } = this.#options.restart;
      this.#later(Math.min(maxDelay, minDelay * 2 ** (this.#forkFailures - 1)), () => this.#fill(restarts, slot));
    });
  }

  /** A respawn timer: cleared when the master stops. */
  #later(delay: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.#respawnTimers.delete(timer);
      run();
    }, delay);
    this.#respawnTimers.add(timer);
  }

  #wire(record: WorkerRecord): void {
    const { worker, channel } = record;
    channel
      .handle('listening', () => this.#onListening(record))
      .handle('heartbeat', (stats: WorkerStats) => this.#onHeartbeat(record, stats))
      .handle('recycle', ({ reason }: { reason: RecycleReason }) => this.recycle(record.pid, reason).catch(() => {}))
      .handle('warning', ({ message }: { message: string }) => this.#warn(message, record.pid))
      .handle('shutdown', () => void this.shutdown())
      .handle('stop', () => void this.stop())
      .handle('reload', () => this.reload())
      // A draining worker's last word before it exits: by now node:cluster no longer routes it connections.
      .handle('drained', () => true)
      .handle(STICKY_CLOSED, () => this.#onStickyClosed(record))
      .handle('ecv:set', ({ enabled }: { enabled: boolean }) => (enabled ? this.enable() : this.disable()))
      .handle('ecv:get', () => {
        this.#ecvSynced.add(record);
        return this.ecv.snapshot();
      });
    worker.on('message', (message: unknown) => {
      if (!channel.dispatch(message)) this.#host.onForeignMessage(record.pid, message);
    });
    worker.on('exit', (code: number | null, signal: string | null) => this.#onExit(record, code, signal));
    // An 'error' on the worker's IPC (EPIPE while it dies) must not crash the master.
    worker.on('error', (error: Error) => debug('worker %d ipc error: %s', record.pid, error.message));
  }

  #onListening(record: WorkerRecord): void {
    if (record.state !== 'starting') return;
    record.state = 'listening';
    record.lastHeartbeat = Date.now();
    record.markListening();
    this.#eventLog.add({ type: 'listening', pid: record.pid });
    this.#emitSoon('listening', record.pid);
    this.#sticky?.flush();
    if (this.#startup && this.#table.serving().length >= this.#options.noWorkers) {
      this.state = 'running';
      this.#startup.resolve();
      this.#startup = undefined;
    }
  }

  #onHeartbeat(record: WorkerRecord, stats: WorkerStats): void {
    record.stats = stats;
    record.lastHeartbeat = Date.now();
    if (this.#options.maxMemory !== undefined && stats.rss > this.#options.maxMemory * 1024 * 1024) {
      this.recycle(record.pid, 'maxMemory').catch(() => {});
    }
  }

  #onExit(record: WorkerRecord, code: number | null, signal: string | null): void {
    const wasStarting = record.state === 'starting';
    record.state = 'dead';
    record.channel.close(new Cluster2Error('ERR_CLUSTER2_WORKER_GONE', `worker ${record.pid} exited`));
    if (wasStarting) this.#reportEarlyDeath(record, code, signal);
    this.#table.remove(record.pid);
    const slot = this.#sticky?.slots.slotOf(record);
    this.#sticky?.remove(record);
    this.#closeStickyOnceDrained();
    this.#pidFiles?.removeWorker(record.pid);
    this.#host.onWorkerExit(record.pid);
    this.#eventLog.add({ type: 'died', pid: record.pid, code, signal });
    this.#emitSoon('died', record.pid, code, signal);
    debug('worker %d exited code=%s signal=%s planned=%s', record.pid, code, signal, record.planned);
    if (record.planned || this.#ending) return;
    this.#onCrash(record, wasStarting, slot);
  }

  /**
   * Rejects `record.listening` with why it never listened, its last stderr lines included: they
   * may still be in the pipe when the exit is seen, so wait (briefly) for its end.
   */
  #reportEarlyDeath(record: WorkerRecord, code: number | null, signal: string | null): void {
    const why = record.killedBecause ?? `it exited with ${signal ? `signal ${signal}` : `code ${code}`} before it listened`;
    const report = () => {
      const tail = record.stderr.lines();
      record.markDead(new Cluster2Error('ERR_CLUSTER2_WORKER_GONE', `worker ${record.pid} failed to start: ${why}${tail ? `; its last stderr lines:\n${tail}` : ''}`));
    };
    const limit = setTimeout(report, STDERR_DRAIN_LIMIT);
    record.stderr.ended.then(() => {
      clearTimeout(limit);
      report();
    });
  }

  #onCrash(record: WorkerRecord, wasStarting: boolean, slot: number | undefined): void {
    // A successor that failed to start while its predecessor still serves is a failed deploy,
    // reported by its recycle or reload. The serving generation is not crashing: counting it would
    // let a few broken deploys in a row give up and take the healthy workers down with it.
    const predecessor = this.#predecessors.get(record);
    if (wasStarting && predecessor && predecessor.state !== 'dead') return;
    this.#restarts.crash = (this.#restarts.crash ?? 0) + 1;
    const verdict = this.#policy.recordDeath();
    if (verdict.giveUp) {
      const reason = `${this.#policy.recentDeaths} workers died within ${this.#options.restart.window} ms (restart.maxRestarts is ${this.#options.restart.maxRestarts})${wasStarting ? '; the last one before it listened' : ''}`;
      this.#giveUp(reason);
      return;
    }
    // A successor already starting for this worker takes its place.
    if (this.#recycler.isReplacing(record)) return;
    const respawn = () => {
      if (this.#ending || this.state === 'gave-up') return;
      this.#fill(record.restarts + 1, slot);
    };
    // The first death in a window is replaced at once: a timer, even of 0 ms, costs a loop turn.
    if (verdict.delay === 0) return respawn();
    this.#later(verdict.delay, respawn);
  }

  #giveUp(reason: string): void {
    this.state = 'gave-up';
    this.#eventLog.add({ type: 'giveup', reason });
    this.#options.logger?.error({ reason }, 'cluster2: giving up');
    process.stderr.write(`cluster2: giving up: ${reason}\n`);
    this.#emitSoon('giveup', reason);
    this.#startup?.reject(new Cluster2Error('ERR_CLUSTER2_GAVE_UP', `cluster2 gave up: ${reason}`));
    this.#startup = undefined;
    void this.#terminate('stopping', 1);
  }

  /** Replaces one worker successor-first; resolves once the successor listens and the old one drains. */
  recycle(pid: number, reason: RecycleReason): Promise<void> {
    const record = this.#table.get(pid);
    if (!record || record.state !== 'listening' || this.#ending) return Promise.resolve();
    return this.#recycler.request(record, reason).catch((error: Error) => {
      // The old worker keeps serving; say why its replacement did not take over (a broken deploy on disk, EMFILE).
      if (!this.#ending) this.#warn(`recycling worker ${pid} (${reason}) failed; it keeps serving: ${error.message}`, pid);
      throw error;
    });
  }

  async #startSuccessor(old: WorkerRecord): Promise<WorkerRecord> {
    let successor: WorkerRecord;
    try {
      successor = await this.#fork(old.restarts + 1, this.#sticky?.slots.slotOf(old));
      this.#predecessors.set(successor, old);
      await successor.listening;
    } catch (error) {
      throw new Cluster2Error('ERR_CLUSTER2_RELOAD_FAILED', `a successor for worker ${old.pid} could not start: ${(error as Error).message}`, { cause: error });
    }
    return successor;
  }

  #retire(old: WorkerRecord, reason: RecycleReason): void {
    old.planned = true;
    old.state = 'draining';
    this.#restarts[reason] = (this.#restarts[reason] ?? 0) + 1;
    this.#eventLog.add({ type: 'recycled', pid: old.pid, reason });
    this.#emitSoon('recycled', old.pid, reason);
    if (reason === 'heartbeat') {
      // Its event loop is wedged: it could not drain.
      old.worker.process.kill('SIGKILL');
      return;
    }
    old.channel.send('drain', { delay: 0 });
    this.#killLater(old, this.#options.shutdownTimeout + 1000);
  }

  #killLater(record: WorkerRecord, ms: number): void {
    const timer = setTimeout(() => {
      if (record.state === 'dead') return;
      this.#warn(`worker ${record.pid} still running ${ms} ms after it was told to drain; killing it`, record.pid);
      record.worker.process.kill('SIGKILL');
    }, ms);
    timer.unref();
  }

  /**
   * Replaces every worker, one at a time, successor first. A reload asked for while one runs is
   * queued (at most one waits); every such request resolves when the queued one finishes.
   */
  reload(): Promise<void> {
    if (this.#ending || this.state === 'gave-up') {
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
    this.#pendingReload ??= this.#reloading.catch(() => {}).then(() => {
      this.#pendingReload = undefined;
      return this.reload();
    });
    return this.#pendingReload;
  }

  async #runReload(): Promise<void> {
    const startedAt = Date.now();
    this.#eventLog.add({ type: 'reload' });
    this.#recordReload({ state: 'running', startedAt });
    const previous = this.state;
    this.state = 'reloading';
    try {
      for (const record of this.#table.serving()) {
        await this.#recycler.request(record, 'reload');
      }
      // The last 'recycled' event is emitted on the next tick: resolve after it, not before.
      await new Promise<void>((resolve) => process.nextTick(resolve));
      this.#eventLog.add({ type: 'reloaded' });
      this.#recordReload({ state: 'succeeded', startedAt, endedAt: Date.now() });
    } catch (error) {
      this.#reloadFailed(error as Cluster2Error, startedAt);
      throw error;
    } finally {
      if (this.state === 'reloading') this.state = previous === 'starting' ? 'running' : previous;
    }
  }

  #reloadFailed(error: Cluster2Error, startedAt: number): void {
    this.#eventLog.add({ type: 'reload-failed', message: error.message });
    this.#recordReload({ state: 'failed', startedAt, endedAt: Date.now(), error: { code: error.code, message: error.message } });
    this.#options.logger?.error({ err: error }, 'cluster2: reload failed; the serving workers carry on');
    this.#emitSoon('reloadFailed', error);
  }

  #recordReload(outcome: ReloadStatus): void {
    this.#lastReload = outcome;
    try {
      this.#pidFiles?.writeReload(outcome);
    } catch (error) {
      debug('could not write the reload outcome: %s', (error as Error).message);
    }
  }

  restartWorker(pid: number): boolean {
    const record = this.#table.get(pid);
    if (!record || record.state !== 'listening') return false;
    this.recycle(pid, 'manual').catch(() => {});
    return true;
  }

  async enable(): Promise<void> {
    await this.#setEcv(true);
  }

  async disable(): Promise<void> {
    await this.#setEcv(false);
  }

  /** Applies the ECV state on every worker and resolves once each has acknowledged it. */
  async #setEcv(enabled: boolean): Promise<void> {
    const changed = this.ecv.set(enabled);
    const snapshot = this.ecv.snapshot();
    await Promise.all(
      this.#table
        .all()
        .filter((r) => r.state !== 'dead' && this.#ecvSynced.has(r))
        .map((r) => r.channel.call('ecv', snapshot, 2000).catch(() => {})),
    );
    if (changed) {
      const type = enabled ? 'enabled' : 'disabled';
      this.#eventLog.add({ type });
      this.#emitSoon(type);
    }
  }

  /** Graceful: ECV unavailable, listeners closed after shutdownDelay, in-flight work answered. */
  shutdown(): Promise<void> {
    return this.#terminate('shutting-down', 0);
  }

  /** Fast: SIGTERM to every worker, SIGKILL after 2 s. */
  stop(): Promise<void> {
    return this.#terminate('stopping', 0);
  }

  #terminate(mode: 'shutting-down' | 'stopping', code: number): Promise<void> {
    if (this.#ending) {
      // A stop during a graceful shutdown (second SIGINT) hurries the workers along.
      if (mode === 'stopping') this.#killAll();
      return this.#ending;
    }
    if (this.state !== 'gave-up') this.state = mode;
    this.#ending = this.#runTerminate(mode, code);
    return this.#ending;
  }

  async #runTerminate(mode: 'shutting-down' | 'stopping', code: number): Promise<void> {
    for (const timer of this.#respawnTimers) clearTimeout(timer);
    this.#respawnTimers.clear();
    this.#recycler.close(new Cluster2Error('ERR_CLUSTER2_RELOAD_UNAVAILABLE', 'the cluster is shutting down'));
    const records = this.#table.all().filter((r) => r.state !== 'dead');
    const exited = Promise.all(records.map((r) => waitForExit(r.worker)));
    for (const record of records) record.planned = true;
    if (mode === 'shutting-down') {
      this.#eventLog.add({ type: 'shutdown' });
      this.#emitSoon('shutdown');
      for (const record of records) {
        // A worker still loading may not hear IPC yet; it serves nothing, so a signal is enough.
        if (record.state === 'starting') {
          record.worker.process.kill('SIGTERM');
          this.#stickyClosed.add(record);
        }
        else record.channel.send('drain', { delay: this.#options.shutdownDelay });
        record.state = 'draining';
      }
      const deadline = setTimeout(() => {
        this.#warn(`shutdownTimeout (${this.#options.shutdownTimeout} ms) passed; killing the workers still running`);
        this.#killAll();
      }, this.#options.shutdownDelay + this.#options.shutdownTimeout + 1000);
      deadline.unref();
      await exited;
      clearTimeout(deadline);
    } else {
      this.#sticky?.close();
      this.#killAll('SIGTERM');
      const escalate = setTimeout(() => this.#killAll(), STOP_KILL_DELAY);
      escalate.unref();
      await exited;
      clearTimeout(escalate);
    }
    await this.#cleanUp();
    this.#eventLog.add({ type: 'stopped' });
    this.#host.emit('stopped');
    this.#host.exit(code);
  }

  #killAll(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (signal === 'SIGKILL') this.#host.emit('SIGKILL');
    for (const record of this.#table.all()) {
      if (record.state !== 'dead') record.worker.process.kill(signal);
    }
  }

  async #cleanUp(): Promise<void> {
    this.#sticky?.close();
    clearInterval(this.#ticker);
    this.#removeSignals?.();
    process.stderr.off('error', onStderrError);
    for (const hook of this.#afterStop) {
      try {
        await hook();
      } catch (error) {
        debug('stop hook failed: %s', (error as Error).message);
      }
    }
    this.#pidFiles?.removeAll([]);
  }

  /**
   * Whether the master may hand `record` a sticky connection: a listening worker; during a shutdown
   * also a draining one until it closes its intake (after shutdownDelay, as node:cluster's workers
   * keep their listeners until then). Never a starting one, nor one that said it drains.
   */
  #takesStickyConnections(record: WorkerRecord): boolean {
    if (this.#stickyClosed.has(record)) return false;
    return record.state === 'listening' || (this.#ending !== undefined && record.state === 'draining');
  }

  #onStickyClosed(record: WorkerRecord): void {
    this.#stickyClosed.add(record);
    this.#closeStickyOnceDrained();
  }

  /**
   * During a shutdown, closes the master's listeners once no worker takes connections any more:
   * the moment node:cluster's shared handle would have closed. The port is then free.
   */
  #closeStickyOnceDrained(): void {
    if (!this.#sticky || !this.#ending) return;
    if (this.#table.all().some((r) => r.state !== 'dead' && this.#takesStickyConnections(r))) return;
    this.#sticky.close();
  }

  #tick(): void {
    const now = Date.now();
    for (const record of this.#table.serving()) {
      if (record.lastHeartbeat !== undefined && now - record.lastHeartbeat > this.#options.maxHeartbeatDelay) {
        this.#warn(`worker ${record.pid} sent no heartbeat for ${now - record.lastHeartbeat} ms; replacing it`, record.pid);
        this.recycle(record.pid, 'heartbeat').catch(() => {});
      }
    }
    const status = this.status();
    this.#host.emit('heartbeat', { pid: process.pid, workers: status.workers, totals: status.totals });
    this.emit('heartbeat', status);
  }

  status(): ClusterStatus {
    return {
      master: {
        pid: process.pid,
        state: this.state,
        uptime: Math.round((Date.now() - this.#startedAt) / 1000),
        startedAt: this.#startedAt,
        ports: [...this.#ports],
        host: this.#options.host,
        noWorkers: this.#options.noWorkers,
        node: process.version,
        cluster: true,
      },
      workers: this.#table.status(),
      totals: this.#table.totals(),
      ecv: this.ecv.status(),
      restarts: { ...this.#restarts },
      events: this.#eventLog.list(),
      reload: this.#lastReload,
      delegation: this.#host.delegationStats?.(),
      pressure: this.#pressure.status(),
    };
  }

  countRefused(reason: RefusedReason): void {
    this.#pressure.refused(reason);
  }

  countAcceptError(server: string, error: NodeJS.ErrnoException): void {
    this.#pressure.acceptError(server, error);
  }

  #warn(message: string, pid?: number): void {
    // Cut on arrival: a worker's 5 MB warning must not reach the event, the logger or the SSE stream whole.
    message = truncateMessage(message);
    this.#eventLog.add({ type: 'warning', pid, message });
    this.#emitSoon('warning', { pid: pid ?? process.pid, message });
  }


  /** Events caused by the call just made fire on the next tick, so listeners added after the call still see them. */
  #emitSoon(event: string, ...args: unknown[]): void {
    process.nextTick(() => this.#host.emit(event, ...args));
  }
}

function createRecord(worker: Worker, restarts: number): WorkerRecord {
  let markListening!: () => void;
  let markDead!: (error: Error) => void;
  const listening = new Promise<void>((resolve, reject) => {
    markListening = resolve;
    markDead = reject;
  });
  // The first caller to await it decides what a rejection means; unawaited ones must not crash.
  listening.catch(() => {});
  return {
    worker,
    pid: worker.process.pid!,
    id: worker.id,
    channel: new Channel({ send: (message) => worker.isConnected() && worker.send(message as object, undefined, () => {}) }),
    startedAt: Date.now(),
    state: 'starting',
    planned: false,
    restarts,
    lastHeartbeat: undefined,
    stats: undefined,
    stderr: new StderrTail(worker.process.stderr),
    killedBecause: undefined,
    listening,
    markListening,
    markDead,
  };
}

function onStderrError(error: Error): void {
  debug('master stderr: %s', error.message);
}

/** The error node:cluster emits (on the next tick) for a worker whose process never started. */
function spawnError(worker: Worker): Promise<Error> {
  return new Promise((resolve) => {
    worker.once('error', resolve);
    // It never exits, so node:cluster would keep it listed in cluster.workers for good.
    worker.once('error', () => delete cluster.workers?.[worker.id]);
  });
}

function waitForExit(worker: Worker): Promise<void> {
  if (worker.isDead()) return Promise.resolve();
  return new Promise((resolve) => worker.once('exit', () => resolve()));
}
