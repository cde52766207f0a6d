import nodeCluster from 'node:cluster';
import { EventEmitter } from 'node:events';
import { setServingContext } from './context.js';
import { Cluster2Error, isErrorCode } from './errors.js';
import { resolveOptions, type ClusterOptions, type ResolvedOptions } from './options.js';
import type { ClusterStatus, RecycleReason, WorkerStatus, ClusterTotals } from './status.js';
import { startMonitor } from './monitor/lazy.js';
import { signalMaster } from './primary/pidfiles.js';
import { Supervisor } from './primary/supervisor.js';
import { SingleProcess } from './primary/single.js';
import type { ServerFactory } from './worker/factory.js';
import { WorkerSide } from './worker/worker-side.js';
import type { EcvSnapshot } from './ecv/state.js';
import { createInProcessDelegation } from './delegation/local.js';
import { DelegationRouter } from './delegation/primary.js';
import type { DelegateOptions, DelegationHandler, HandleOptions, PrimaryDelegation, WorkerDelegation } from './delegation/types.js';
import { DelegationClient } from './delegation/worker.js';
import { truncateMessage } from './ipc/size.js';

/** The Cluster's events and their arguments (docs/events-and-errors.md "Events"). */
export interface ClusterEvents {
  forked: [pid: number];
  listening: [pid: number];
  died: [pid: number, code: number | null, signal: string | null];
  recycled: [pid: number, reason: RecycleReason];
  heartbeat: [stats: { pid: number; workers: WorkerStatus[]; totals: ClusterTotals }];
  warning: [warning: { pid: number; message: string }];
  disabled: [];
  enabled: [];
  giveup: [reason: string];
  /** The OS refused to start a worker process (ERR_CLUSTER2_FORK_FAILED); the slot is retried with backoff. */
  forkFailed: [error: Cluster2Error];
  /** A rolling reload failed (ERR_CLUSTER2_RELOAD_FAILED, or …_UNAVAILABLE); the serving workers carry on. */
  reloadFailed: [error: Cluster2Error];
  shutdown: [];
  /** In a worker (or `cluster: false`): this process starts draining, just before its listener closes. */
  draining: [];
  stopped: [];
  error: [error: Error];
  SIGINT: [signal: 'SIGINT'];
  SIGTERM: [signal: 'SIGTERM'];
  SIGUSR2: [signal: 'SIGUSR2'];
  SIGHUP: [signal: 'SIGHUP'];
  SIGQUIT: [signal: 'SIGQUIT'];
  SIGKILL: [];
}

const OWN_EVENTS: ReadonlyArray<keyof ClusterEvents> = [
  'forked', 'listening', 'died', 'recycled', 'heartbeat', 'warning', 'disabled', 'enabled', 'giveup',
  'forkFailed', 'reloadFailed', 'shutdown', 'draining', 'stopped', 'error', 'SIGINT', 'SIGTERM', 'SIGUSR2', 'SIGHUP', 'SIGQUIT', 'SIGKILL',
];

/** Where this Cluster object runs. */
export type Role = 'master' | 'worker' | 'single' | 'control';

/**
 * One master and N workers serving on one port. The same script runs in the master and in
 * every worker; `listen()` does the right thing in each.
 */
type Listener<E extends keyof ClusterEvents> = (...args: ClusterEvents[E]) => void;

/**
 * cluster2's own events are typed; any other string is a raw 0.4 delegation event or answer
 * (`c.on('config-read', …)`, `c.emit('config', …)`), so the emitter stays open to them.
 */
export interface Cluster {
  on<E extends keyof ClusterEvents>(event: E, listener: Listener<E>): this;
  on(event: string, listener: (...args: any[]) => void): this;
  once<E extends keyof ClusterEvents>(event: E, listener: Listener<E>): this;
  once(event: string, listener: (...args: any[]) => void): this;
  off<E extends keyof ClusterEvents>(event: E, listener: Listener<E>): this;
  off(event: string, listener: (...args: any[]) => void): this;
  emit<E extends keyof ClusterEvents>(event: E, ...args: ClusterEvents[E]): boolean;
  emit(event: string, ...args: any[]): boolean;
}

export class Cluster extends EventEmitter implements WorkerDelegation, PrimaryDelegation {
  /** The validated, frozen options. */
  readonly options: ResolvedOptions;
  #supervisor: Supervisor | undefined;
  #worker: WorkerSide | undefined;
  #single: SingleProcess | undefined;
  #listenCalled = false;
  #monitorAddress: { host: string; port: number } | undefined;
  /** Master side of delegation (master and single process). */
  readonly #router: DelegationRouter | undefined;
  /** Worker side of delegation (worker and single process). */
  readonly #client: DelegationClient | undefined;

  constructor(options: ClusterOptions = {}) {
    super();
    this.options = resolveOptions(options);
    const warn = (message: string, pid?: number) =>
      process.nextTick(() => this.#emit('warning', { pid: pid ?? process.pid, message: truncateMessage(message) }));
    const { maxMessageSize, maxPendingDelegations } = this.options;
    if (!this.options.cluster) {
      const local = createInProcessDelegation(this, { warn, reservedEvents: OWN_EVENTS, maxMessageSize, maxPendingDelegations });
      this.#router = local.router;
      this.#client = local.client;
    } else if (nodeCluster.isWorker) {
      this.#client = new DelegationClient({ send: sendToMaster, warn, maxMessageSize });
    } else {
      this.#router = new DelegationRouter({
        emitter: this,
        warn,
        reservedEvents: OWN_EVENTS,
        maxMessageSize,
        maxPendingDelegations,
        send: (pid, message) => this.#supervisor?.sendRaw(pid, message),
      });
    }
  }

  /** `'master'`, `'worker'`, `'single'` (`cluster: false`), or `'control'` before `listen()` in a master. */
  get role(): Role {
    if (!this.options.cluster) return 'single';
    if (nodeCluster.isWorker) return 'worker';
    return this.#supervisor ? 'master' : 'control';
  }

  get isMaster(): boolean {
    return this.options.cluster && nodeCluster.isPrimary;
  }

  get isWorker(): boolean {
    return this.options.cluster && nodeCluster.isWorker;
  }

  /**
   * Starts serving. In the master: checks the ports, writes pid files, starts the monitor, forks
   * the workers and resolves with the app ports once every worker listens. In a worker (and with
   * `cluster: false`): runs the factory and listens. The factory runs only where a server listens.
   */
  async listen(factory: ServerFactory): Promise<number[]> {
    if (this.#listenCalled) throw new Cluster2Error('ERR_CLUSTER2_ALREADY_LISTENING', 'listen() was already called on this Cluster');
    if (typeof factory !== 'function') {
      throw new Cluster2Error('ERR_CLUSTER2_INVALID_FACTORY', `listen() takes a server factory function; got ${typeof factory}`);
    }
    this.#listenCalled = true;
    const emit = (event: string, ...args: unknown[]) => this.#emit(event, ...args);
    if (!this.options.cluster) {
      const single = new SingleProcess(this.options, {
        emit,
        exit: exitProcess,
        listenerCount: (e) => this.listenerCount(e),
        delegationStats: () => this.#router!.stats(),
      });
      this.#single = single;
      single.onStop(() => this.#router!.close());
      const ecvHost = single.ecvHost();
      setServingContext({ cluster: this, ecvHost, draining: () => ecvHost.draining() });
      return this.#fatalOnStartError(single.start(factory, () => this.#beforeServing(single)));
    }
    if (nodeCluster.isWorker) {
      const worker = new WorkerSide(this.options, { emit, exit: exitProcess }, this.#client!);
      this.#worker = worker;
      setServingContext({ cluster: this, ecvHost: worker.ecvHost, draining: () => worker.ecvHost.draining() });
      return worker.start(factory);
    }
    this.#supervisor = new Supervisor(this.options, {
      emit,
      exit: exitProcess,
      listenerCount: (event) => this.listenerCount(event),
      onForeignMessage: (pid, message) => this.#router!.onMessage(pid, message),
      onWorkerExit: (pid) => this.#router!.onWorkerExit(pid),
      delegationStats: () => this.#router!.stats(),
    });
    this.#supervisor.onStop(() => this.#router!.close());
    const supervisor = this.#supervisor;
    return this.#fatalOnStartError(supervisor.start(() => this.#beforeServing(supervisor)));
  }

  /** Master duties between the port check and the first fork: pids directory, monitor, then pid files. */
  async #beforeServing(master: Supervisor | SingleProcess): Promise<void> {
    const { monitor, monHost, monPort, monToken, logs } = this.options;
    // Before the monitor: a master refused its pids directory leaves nothing running behind.
    master.claimPidFiles();
    if (!monitor) {
      master.writePidFiles(null);
      return;
    }
    // The monitor's code loads here, not at the top: workers never run it, and every ms of their
    // start-up is respawn and reload time.
    const { monitorConnections, eventStreams, eventStreamLifetime } = this.options.limits;
    const server = await startMonitor({
      source: master,
      host: monHost,
      port: monPort,
      token: monToken,
      logsDir: logs,
      maxConnections: monitorConnections,
      sse: { maxClients: eventStreams, lifetimeMs: eventStreamLifetime },
    });
    master.onStop(() => server.close());
    this.#monitorAddress = server.address;
    master.writePidFiles(server.address);
  }

  /**
   * Port busy, or a pids directory in use or unwritable: reject and emit 'error'; with nobody
   * listening for 'error', print and exit (98 for the port, 1 for the pids directory).
   */
  async #fatalOnStartError(starting: Promise<number[]>): Promise<number[]> {
    try {
      return await starting;
    } catch (error) {
      const exitCode = fatalExitCode(error);
      if (exitCode !== undefined && this.listenerCount('error') === 0) {
        process.stderr.write(`cluster2: ${(error as Error).message} (${(error as Cluster2Error).code})\n`);
        exitProcess(exitCode);
      } else if (this.listenerCount('error') > 0) {
        process.nextTick(() => this.emit('error', error as Error));
      }
      throw error;
    }
  }

  /**
   * Graceful shutdown. In the master: every worker drains, then the master exits 0. In a worker:
   * asks the master. Elsewhere (a control script): signals the master found through the pid
   * files and resolves once it has exited; rejects with ERR_CLUSTER2_NOT_RUNNING if none runs.
   */
  shutdown(): Promise<void> {
    return this.#control('shutdown', 'SIGTERM');
  }

  /** Fast stop: workers get SIGTERM, then SIGKILL after 2 s. Same roles as `shutdown()`. */
  stop(): Promise<void> {
    return this.#control('stop', 'SIGQUIT');
  }

  /** Rolling reload, one worker at a time, successor first. Same roles as `shutdown()` (SIGUSR2). */
  reload(): Promise<void> {
    if (this.#supervisor) return this.#supervisor.reload();
    if (this.#worker) return this.#worker.ask('reload');
    if (this.#single) return this.#single.reload();
    return this.#signalPids('SIGUSR2', false);
  }

  #control(action: 'shutdown' | 'stop', signal: NodeJS.Signals): Promise<void> {
    if (this.#supervisor) return this.#supervisor[action]();
    if (this.#single) return this.#single[action]();
    if (this.#worker) return this.#worker.ask(action);
    if (this.options.cluster && nodeCluster.isWorker) {
      return Promise.reject(new Cluster2Error('ERR_CLUSTER2_WRONG_ROLE', `${action}() in a worker needs listen() first`));
    }
    return this.#signalPids(signal, true);
  }

  async #signalPids(signal: NodeJS.Signals, wait: boolean): Promise<void> {
    if (this.options.pids === false) {
      throw new Cluster2Error('ERR_CLUSTER2_NOT_RUNNING', 'no cluster2 master to signal: this Cluster has pids: false and never listened');
    }
    await signalMaster(this.options.pids, signal, wait);
  }

  /** Takes the whole cluster out of load-balancer rotation (ECV answers disabled). */
  disable(): Promise<void> {
    return this.#setEcv(false);
  }

  /** Puts the cluster back in rotation. */
  enable(): Promise<void> {
    return this.#setEcv(true);
  }

  #setEcv(enabled: boolean): Promise<void> {
    const target = this.#supervisor ?? this.#single;
    if (target) return enabled ? target.enable() : target.disable();
    if (this.#worker) return this.#worker.setEcv(enabled);
    return Promise.reject(new Cluster2Error('ERR_CLUSTER2_WRONG_ROLE', 'enable()/disable() need a running cluster: call listen() first'));
  }

  /** The ECV switch as this process sees it. */
  get ecv(): EcvSnapshot | undefined {
    return this.#supervisor?.ecv.snapshot() ?? this.#single?.ecv.snapshot() ?? this.#worker?.ecvSnapshot();
  }

  /** True while this process drains (shutdown, recycle, reload): adapters answer with `Connection: close`. */
  get draining(): boolean {
    const phase = this.#worker?.runtime.phase;
    return phase === 'draining' || phase === 'dead' || this.#single?.ecvHost().draining() === true;
  }

  /** For `readySignal: true`: tells the master this worker has warmed up and may take traffic. */
  ready(): void {
    this.#worker?.ready();
    this.#single?.ready();
  }

  /** The master's view of the cluster (master and single process only). */
  status(): ClusterStatus | undefined {
    return (this.#supervisor ?? this.#single)?.status();
  }

  /** Where the monitor listens (master and single process, once listening; undefined with `monitor: false`). */
  get monitorAddress(): { host: string; port: number } | undefined {
    return this.#monitorAddress;
  }

  /** Replaces one worker (reason 'manual'); false when no live worker has that pid. Master only. */
  restartWorker(pid: number): boolean {
    return this.#supervisor?.restartWorker(pid) ?? false;
  }

  /**
   * Worker: runs the master's handler for `event` once and resolves with its result (see
   * `handle()`); concurrent identical requests are coalesced. Rejects in the master
   * (`ERR_CLUSTER2_WRONG_ROLE`): the master can call its own code.
   */
  delegate<TResult = unknown, TPayload = unknown>(event: string, payload?: TPayload, options?: DelegateOptions): Promise<TResult> {
    if (!this.#client) {
      return Promise.reject(new Cluster2Error('ERR_CLUSTER2_WRONG_ROLE', `delegate("${event}") is for workers; the master runs its handler itself`));
    }
    return this.#client.delegate<TResult, TPayload>(event, payload, options);
  }

  /** Worker: receives every `notify(event, data)` of the master. Returns the unsubscribe function; a no-op in the master. */
  subscribe<T = unknown>(event: string, listener: (data: T) => void): () => void {
    return this.#client?.subscribe(event, listener) ?? (() => {});
  }

  /** Master: the one handler for `event` that workers' `delegate()` calls reach. A no-op in a worker (the same script runs there). */
  handle<TPayload = any, TResult = unknown>(event: string, handler: DelegationHandler<TPayload, TResult>, options?: HandleOptions): () => void {
    return this.#router?.handle(event, handler, options) ?? (() => {});
  }

  /** Master: sends `data` to every worker subscribed to `event`; returns how many. 0 in a worker. */
  notify(event: string, data?: unknown): number {
    return this.#router?.notify(event, data) ?? 0;
  }

  #emit(event: string, ...args: unknown[]): boolean {
    // 'error' without a listener would throw inside cluster2's own machinery.
    if (event === 'error' && this.listenerCount('error') === 0) return false;
    if (event === 'warning') this.options.logger?.warn(args[0] as object, 'cluster2 warning');
    return (this.emit as (event: string, ...args: unknown[]) => boolean)(event, ...args);
  }
}

function sendToMaster(message: object): void {
  if (!process.connected) throw new Cluster2Error('ERR_CLUSTER2_MASTER_GONE', 'the master went away');
  process.send!(message, undefined, {}, () => {});
}

/** Start-up errors that end a master nobody listens to for 'error', with their exit code. */
function fatalExitCode(error: unknown): number | undefined {
  if (isErrorCode(error, 'ERR_CLUSTER2_PORT_IN_USE')) return 98;
  if (isErrorCode(error, 'ERR_CLUSTER2_PIDS_IN_USE') || isErrorCode(error, 'ERR_CLUSTER2_PIDS_UNWRITABLE')) return 1;
  return undefined;
}

function exitProcess(code: number): void {
  process.exit(code);
}
