import type { DelegationRouter } from '../delegation/primary.js';
import type { DelegationHandler, HandleOptions } from '../delegation/types.js';
import type { ClusterStatus, EcvSnapshot } from '../status.js';
import { Supervisor } from '../primary/supervisor.js';
import type { AppEntry } from '../app-entry.js';
import { alreadyServing, delegateInMaster, exitProcess, type ClusterRole, type MonitorAddress, type RoleHost } from './role.js';
import { beforeServing, fatalOnStartError } from './start-up.js';

/** The master after listen(): the supervisor, its monitor and pid files, and the master side of delegation. */
export class MasterRole implements ClusterRole {
  readonly name = 'master';
  readonly #host: RoleHost;
  readonly #router: DelegationRouter;
  readonly #supervisor: Supervisor;
  #monitorAddress: MonitorAddress | undefined;

  /** With `app`, the workers run that entry and the app picks its ports; without, they run the script that called listen(). */
  constructor(host: RoleHost, router: DelegationRouter, app?: AppEntry) {
    this.#host = host;
    this.#router = router;
    this.#supervisor = new Supervisor(host.options, app, {
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

  listen(): Promise<number[]> {
    return alreadyServing();
  }

  run(): Promise<number[]> {
    return alreadyServing();
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
