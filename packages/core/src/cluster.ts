import nodeCluster from 'node:cluster';
import { EventEmitter } from 'node:events';
import { Cluster2Error } from './errors.js';
import { resolveAppEntry, type RunOptions } from './app-entry.js';
import { resolveOptions, type ClusterOptions, type ResolvedOptions } from './options.js';
import type { ClusterStatus, RecycleReason, WorkerStatus, ClusterTotals, EcvSnapshot } from './status.js';
import type { ServerFactory } from './worker/factory.js';
import type { DelegateOptions, DelegationHandler, HandleOptions, PrimaryDelegation, WorkerDelegation } from './delegation/types.js';
import { truncateMessage } from './ipc/size.js';
import { ControlRole } from './roles/control.js';
import type { ClusterRole, MonitorAddress, Role, RoleHost } from './roles/role.js';
import { SingleRole } from './roles/single.js';
import { WorkerRole } from './roles/worker.js';

export type { Role } from './roles/role.js';

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

/**
 * One master and N workers serving on one port. The same script runs in the master and in
 * every worker; `listen()` does the right thing in each.
 */
type Listener<E extends keyof ClusterEvents> = (...args: ClusterEvents[E]) => void;

/**
 * cluster2's own events are typed; any other string is a raw 0.4 delegation event or answer
 * (`c.on('config-read', …)`, `c.emit('config', …)`), so the emitter stays open to them.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- the typed overloads of the class's own EventEmitter methods: the merge declares no member the class lacks
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

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
export class Cluster extends EventEmitter implements WorkerDelegation, PrimaryDelegation {
  /** The validated, frozen options. */
  readonly options: ResolvedOptions;
  /** Decided once here; listen() in a master moves it from control to master, the one change there is. */
  #role: ClusterRole;

  constructor(options: ClusterOptions = {}) {
    super();
    this.options = resolveOptions(options);
    const host: RoleHost = {
      options: this.options,
      facade: this,
      emit: (event, ...args) => this.#emit(event, ...args),
      listenerCount: (event) => this.listenerCount(event),
      warn: (message, pid) => process.nextTick(() => this.#emit('warning', { pid: pid ?? process.pid, message: truncateMessage(message) })),
      become: (role) => {
        this.#role = role;
      },
    };
    if (!this.options.cluster) this.#role = new SingleRole(host);
    else if (nodeCluster.isWorker) this.#role = new WorkerRole(host);
    else this.#role = new ControlRole(host);
  }

  /** `'master'`, `'worker'`, `'single'` (`cluster: false`), or `'control'` before `listen()` in a master. */
  get role(): Role {
    return this.#role.name;
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
    return this.#role.listen(factory);
  }

  /**
   * Serves an unmodified app, as `cluster2 start` does. In the master: forks the workers and
   * resolves with the ports the first one listens on. In a worker: runs `script` as
   * `node script ...args` would, and adopts every server the app listens on (traffic accounting,
   * graceful drain, recycling; ECV routes with `ecv: true`). The same script calls it in both, like
   * listen(). Throws ERR_CLUSTER2_ENTRY_NOT_FOUND for a missing file, and rejects the `sticky`
   * option: the master would have to accept on ports only the app knows.
   */
  async run(script: string, options?: RunOptions): Promise<number[]> {
    if (this.options.sticky !== false) {
      throw new Cluster2Error(
        'ERR_CLUSTER2_INVALID_OPTION',
        'option "sticky" needs listen(factory): with run() the app picks its ports, and the master cannot accept on them',
      );
    }
    return this.#role.run(resolveAppEntry(script, options));
  }

  /**
   * Graceful shutdown. In the master: every worker drains, then the master exits 0. In a worker:
   * asks the master. Elsewhere (a control script): signals the master found through the pid
   * files and resolves once it has exited; rejects with ERR_CLUSTER2_NOT_RUNNING if none runs.
   */
  shutdown(): Promise<void> {
    return this.#role.shutdown();
  }

  /** Fast stop: workers get SIGTERM, then SIGKILL after 2 s. Same roles as `shutdown()`. */
  stop(): Promise<void> {
    return this.#role.stop();
  }

  /** Rolling reload, one worker at a time, successor first. Same roles as `shutdown()` (SIGUSR2). */
  reload(): Promise<void> {
    return this.#role.reload();
  }

  /** Takes the whole cluster out of load-balancer rotation (ECV answers disabled). */
  disable(): Promise<void> {
    return this.#role.disable();
  }

  /** Puts the cluster back in rotation. */
  enable(): Promise<void> {
    return this.#role.enable();
  }

  /** The ECV switch as this process sees it. */
  get ecv(): EcvSnapshot | undefined {
    return this.#role.ecv;
  }

  /** True while this process drains (shutdown, recycle, reload): adapters answer with `Connection: close`. */
  get draining(): boolean {
    return this.#role.draining;
  }

  /** For `readySignal: true`: tells the master this worker has warmed up and may take traffic. */
  ready(): void {
    this.#role.ready();
  }

  /** The master's view of the cluster (master and single process only). */
  status(): ClusterStatus | undefined {
    return this.#role.status();
  }

  /** Where the monitor listens (master and single process, once listening; undefined with `monitor: false`). */
  get monitorAddress(): MonitorAddress | undefined {
    return this.#role.monitorAddress;
  }

  /** Replaces one worker (reason 'manual'); false when no live worker has that pid. Master only. */
  restartWorker(pid: number): boolean {
    return this.#role.restartWorker(pid);
  }

  /**
   * Worker: runs the master's handler for `event` once and resolves with its result (see
   * `handle()`); concurrent identical requests are coalesced. Rejects in the master
   * (`ERR_CLUSTER2_WRONG_ROLE`): the master can call its own code.
   */
  delegate<TResult = unknown, TPayload = unknown>(event: string, payload?: TPayload, options?: DelegateOptions): Promise<TResult> {
    return this.#role.delegate<TResult, TPayload>(event, payload, options);
  }

  /** Worker: receives every `notify(event, data)` of the master. Returns the unsubscribe function; a no-op in the master. */
  subscribe<T = unknown>(event: string, listener: (data: T) => void): () => void {
    return this.#role.subscribe(event, listener);
  }

  /** Master: the one handler for `event` that workers' `delegate()` calls reach. A no-op in a worker (the same script runs there). */
  handle<TPayload = any, TResult = unknown>(event: string, handler: DelegationHandler<TPayload, TResult>, options?: HandleOptions): () => void {
    return this.#role.handle(event, handler, options);
  }

  /** Master: sends `data` to every worker subscribed to `event`; returns how many. 0 in a worker. */
  notify(event: string, data?: unknown): number {
    return this.#role.notify(event, data);
  }

  #emit(event: string, ...args: unknown[]): boolean {
    // 'error' without a listener would throw inside cluster2's own machinery.
    if (event === 'error' && this.listenerCount('error') === 0) return false;
    if (event === 'warning') this.options.logger?.warn(args[0] as object, 'cluster2 warning');
    return (this.emit as (event: string, ...args: unknown[]) => boolean)(event, ...args);
  }
}
