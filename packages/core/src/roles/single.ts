import { setServingContext } from '../context.js';
import { Cluster2Error } from '../errors.js';
import { createInProcessDelegation, type InProcessDelegation } from '../delegation/local.js';
import type { DelegateOptions, DelegationHandler, HandleOptions } from '../delegation/types.js';
import type { ClusterStatus, EcvSnapshot } from '../status.js';
import type { ServerFactory } from '../worker/factory.js';
import { signalThroughPidFiles } from './control.js';
import { checkListen, ecvNeedsListen, exitProcess, OWN_EVENTS, type ClusterRole, type MonitorAddress, type RoleHost } from './role.js';
import { SingleProcess } from './single-process.js';
import { beforeServing, fatalOnStartError } from './start-up.js';

/**
 * `cluster: false`: one process serves and does the master's duties. Before listen() it is a
 * control script, like a master's Cluster (shutdown(), stop() and reload() signal through the pid files).
 */
export class SingleRole implements ClusterRole {
  readonly name = 'single';
  readonly #host: RoleHost;
  /** Both ends of delegation in this one process, joined from the start so that handle() and delegate() work before listen(). */
  readonly #delegation: InProcessDelegation;
  /** Set by listen(). */
  #process: SingleProcess | undefined;
  #monitorAddress: MonitorAddress | undefined;

  constructor(host: RoleHost) {
    this.#host = host;
    const { maxMessageSize, maxPendingDelegations } = host.options;
    this.#delegation = createInProcessDelegation(host.facade, {
      warn: (message, pid) => host.warn(message, pid),
      reservedEvents: OWN_EVENTS,
      maxMessageSize,
      maxPendingDelegations,
    });
  }

  async listen(factory: ServerFactory): Promise<number[]> {
    checkListen(this.#process !== undefined, factory);
    const host = this.#host;
    const { router } = this.#delegation;
    const single = new SingleProcess(host.options, {
      emit: (event, ...args) => host.emit(event, ...args),
      exit: exitProcess,
      listenerCount: (event) => host.listenerCount(event),
      delegationStats: () => router.stats(),
    });
    this.#process = single;
    single.onStop(() => router.close());
    const ecvHost = single.ecvHost();
    setServingContext({ cluster: host.facade, ecvHost, draining: () => single.draining });
    const beforeListen = () =>
      beforeServing(single, host.options, (address) => {
        this.#monitorAddress = address;
      });
    return fatalOnStartError(single.start(factory, beforeListen), host);
  }

  /** An app entry needs workers to run in: a master cannot adopt servers it shares a process with. */
  run(): Promise<number[]> {
    return Promise.reject(
      new Cluster2Error(
        'ERR_CLUSTER2_WRONG_ROLE',
        'run() needs option cluster: true (a master and its workers); with cluster: false, start the app with node itself',
      ),
    );
  }

  shutdown(): Promise<void> {
    return this.#process ? this.#process.shutdown() : signalThroughPidFiles(this.#host.options, 'SIGTERM', true);
  }

  stop(): Promise<void> {
    return this.#process ? this.#process.stop() : signalThroughPidFiles(this.#host.options, 'SIGQUIT', true);
  }

  reload(): Promise<void> {
    return this.#process ? this.#process.reload() : signalThroughPidFiles(this.#host.options, 'SIGUSR2', false);
  }

  enable(): Promise<void> {
    return this.#process ? this.#process.enable() : ecvNeedsListen();
  }

  disable(): Promise<void> {
    return this.#process ? this.#process.disable() : ecvNeedsListen();
  }

  get ecv(): EcvSnapshot | undefined {
    return this.#process?.ecv.snapshot();
  }

  get draining(): boolean {
    return this.#process?.draining ?? false;
  }

  ready(): void {
    this.#process?.ready();
  }

  status(): ClusterStatus | undefined {
    return this.#process?.status();
  }

  /** One process has no worker to replace. */
  restartWorker(): boolean {
    return false;
  }

  get monitorAddress(): MonitorAddress | undefined {
    return this.#monitorAddress;
  }

  delegate<TResult, TPayload>(event: string, payload?: TPayload, options?: DelegateOptions): Promise<TResult> {
    return this.#delegation.client.delegate<TResult, TPayload>(event, payload, options);
  }

  subscribe<T>(event: string, listener: (data: T) => void): () => void {
    return this.#delegation.client.subscribe(event, listener);
  }

  handle<TPayload, TResult>(event: string, handler: DelegationHandler<TPayload, TResult>, options?: HandleOptions): () => void {
    return this.#delegation.router.handle(event, handler, options);
  }

  notify(event: string, data?: unknown): number {
    return this.#delegation.router.notify(event, data);
  }
}
