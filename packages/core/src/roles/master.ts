import { Cluster2Error } from '../errors.js';
import type { DelegationRouter } from '../delegation/primary.js';
import type { DelegationHandler, HandleOptions } from '../delegation/types.js';
import type { ClusterStatus, EcvSnapshot } from '../status.js';
import { Supervisor } from '../primary/supervisor.js';
import { delegateInMaster, exitProcess, type ClusterRole, type MonitorAddress, type RoleHost } from './role.js';
import { beforeServing, fatalOnStartError } from './start-up.js';

/** The master after listen(): the supervisor, its monitor and pid files, and the master side of delegation. */
export class MasterRole implements ClusterRole {
  readonly name = 'master';
  readonly #host: RoleHost;
  readonly #router: DelegationRouter;
  readonly #supervisor: Supervisor;
  #monitorAddress: MonitorAddress | undefined;

  constructor(host: RoleHost, router: DelegationRouter) {
    this.#host = host;
    this.#router = router;
    this.#supervisor = new Supervisor(host.options, {
      emit: (event, ...args) => host.emit(event, ...args),
      exit: exitProcess,
      listenerCount: (event) => host.listenerCount(event),
      onForeignMessage: (pid, message) => router.onMessage(pid, message),
      onWorkerExit: (pid) => router.onWorkerExit(pid),
      delegationStats: () => router.stats(),
    });
    this.#supervisor.onStop(() => router.close());
  }

  /** Checks the ports, writes pid files, starts the monitor, forks the workers; resolves once all listen. */
  start(): Promise<number[]> {
    const supervisor = this.#supervisor;
    const starting = supervisor.start(() =>
      beforeServing(supervisor, this.#host.options, (address) => {
        this.#monitorAddress = address;
      }),
    );
    return fatalOnStartError(starting, this.#host);
  }

  /** Delegation answers to one worker. */
  sendRaw(pid: number, message: object): void {
    this.#supervisor.sendRaw(pid, message);
  }

  async listen(): Promise<number[]> {
    throw new Cluster2Error('ERR_CLUSTER2_ALREADY_LISTENING', 'listen() was already called on this Cluster');
  }

  shutdown(): Promise<void> {
    return this.#supervisor.shutdown();
  }

  stop(): Promise<void> {
    return this.#supervisor.stop();
  }

  reload(): Promise<void> {
    return this.#supervisor.reload();
  }

  enable(): Promise<void> {
    return this.#supervisor.enable();
  }

  disable(): Promise<void> {
    return this.#supervisor.disable();
  }

  get ecv(): EcvSnapshot {
    return this.#supervisor.ecv.snapshot();
  }

  /** The master serves no requests itself: it never drains. */
  readonly draining = false;

  ready(): void {}

  status(): ClusterStatus {
    return this.#supervisor.status();
  }

  restartWorker(pid: number): boolean {
    return this.#supervisor.restartWorker(pid);
  }

  get monitorAddress(): MonitorAddress | undefined {
    return this.#monitorAddress;
  }

  delegate<TResult>(event: string): Promise<TResult> {
    return delegateInMaster(event);
  }

  subscribe(): () => void {
    return () => {};
  }

  handle<TPayload, TResult>(event: string, handler: DelegationHandler<TPayload, TResult>, options?: HandleOptions): () => void {
    return this.#router.handle(event, handler, options);
  }

  notify(event: string, data?: unknown): number {
    return this.#router.notify(event, data);
  }
}
