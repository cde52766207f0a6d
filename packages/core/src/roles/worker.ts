import { Cluster2Error } from '../errors.js';
import { setServingContext } from '../context.js';
import type { DelegateOptions } from '../delegation/types.js';
import { DelegationClient } from '../delegation/worker.js';
import type { EcvSnapshot } from '../status.js';
import type { ServerFactory } from '../worker/factory.js';
import { WorkerSide } from '../worker/worker-side.js';
import { signalThroughPidFiles } from './control.js';
import type { AppEntry } from '../app-entry.js';
import { alreadyServing, checkListen, ecvNeedsListen, exitProcess, type ClusterRole, type RoleHost } from './role.js';

/**
 * A Cluster in a node:cluster worker: runs the factory and serves; shutdown(), stop(), reload() and
 * the ECV switch are asked of the master. Delegation works from the start, listen() or not.
 */
export class WorkerRole implements ClusterRole {
  readonly name = 'worker';
  readonly #host: RoleHost;
  readonly #client: DelegationClient;
  /** Set by listen(). */
  #side: WorkerSide | undefined;

  constructor(host: RoleHost) {
    this.#host = host;
    this.#client = new DelegationClient({
      send: sendToMaster,
      warn: (message: string) => host.warn(message),
      maxMessageSize: host.options.maxMessageSize,
    });
  }

  async listen(factory: ServerFactory): Promise<number[]> {
    checkListen(this.#side !== undefined, factory);
    return this.#createSide().start(factory);
  }

  run(app: AppEntry): Promise<number[]> {
    if (this.#side !== undefined) return alreadyServing();
    return this.#createSide().run(app);
  }

  #createSide(): WorkerSide {
    const side = new WorkerSide(this.#host.options, { emit: (event, ...args) => this.#host.emit(event, ...args), exit: exitProcess }, this.#client);
    this.#side = side;
    setServingContext({ cluster: this.#host.facade, ecvHost: side.ecvHost, draining: () => side.runtime.draining });
    return side;
  }

  shutdown(): Promise<void> {
    return this.#side ? this.#side.ask('shutdown') : needsListen('shutdown');
  }

  stop(): Promise<void> {
    return this.#side ? this.#side.ask('stop') : needsListen('stop');
  }

  reload(): Promise<void> {
    return this.#side ? this.#side.ask('reload') : signalThroughPidFiles(this.#host.options, 'SIGUSR2', false);
  }

  enable(): Promise<void> {
    return this.#side ? this.#side.setEcv(true) : ecvNeedsListen();
  }

  disable(): Promise<void> {
    return this.#side ? this.#side.setEcv(false) : ecvNeedsListen();
  }

  get ecv(): EcvSnapshot | undefined {
    return this.#side?.ecvSnapshot();
  }

  get draining(): boolean {
    return this.#side?.runtime.draining ?? false;
  }

  ready(): void {
    this.#side?.ready();
  }

  /** The cluster's status lives in the master. */
  status(): undefined {
    return undefined;
  }

  restartWorker(): boolean {
    return false;
  }

  readonly monitorAddress = undefined;

  delegate<TResult, TPayload>(event: string, payload?: TPayload, options?: DelegateOptions): Promise<TResult> {
    return this.#client.delegate<TResult, TPayload>(event, payload, options);
  }

  subscribe<T>(event: string, listener: (data: T) => void): () => void {
    return this.#client.subscribe(event, listener);
  }

  /** The same script runs in the master, where the handler is registered: nothing to do here. */
  handle(): () => void {
    return () => {};
  }

  notify(): number {
    return 0;
  }
}

function needsListen(action: 'shutdown' | 'stop'): Promise<never> {
  return Promise.reject(new Cluster2Error('ERR_CLUSTER2_WRONG_ROLE', `${action}() in a worker needs listen() first`));
}

function sendToMaster(message: object): void {
  if (!process.connected) throw new Cluster2Error('ERR_CLUSTER2_MASTER_GONE', 'the master went away');
  process.send!(message, undefined, {}, () => {});
}
