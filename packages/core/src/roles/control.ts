import { Cluster2Error } from '../errors.js';
import { DelegationRouter } from '../delegation/primary.js';
import type { DelegationHandler, HandleOptions } from '../delegation/types.js';
import type { ResolvedOptions } from '../options.js';
import { signalMaster } from '../primary/pidfiles.js';
import type { ServerFactory } from '../worker/factory.js';
import type { AppEntry } from '../app-entry.js';
import { MasterRole } from './master.js';
import { checkListen, delegateInMaster, ecvNeedsListen, OWN_EVENTS, type ClusterRole, type RoleHost } from './role.js';

/**
 * A Cluster in a master process before listen(): a control script. shutdown(), stop() and reload()
 * signal the master found through the pid files; listen() turns this process into that master.
 */
export class ControlRole implements ClusterRole {
  readonly name = 'control';
  readonly #host: RoleHost;
  /** Created now so that handle() calls made before listen() serve the master's workers later. */
  readonly #router: DelegationRouter;
  #master: MasterRole | undefined;

  constructor(host: RoleHost) {
    this.#host = host;
    const { maxMessageSize, maxPendingDelegations } = host.options;
    this.#router = new DelegationRouter({
      emitter: host.facade,
      warn: (message, pid) => host.warn(message, pid),
      reservedEvents: OWN_EVENTS,
      maxMessageSize,
      maxPendingDelegations,
      send: (pid, message) => this.#master?.sendRaw(pid, message),
    });
  }

  async listen(factory: ServerFactory): Promise<number[]> {
    checkListen(false, factory);
    return this.#become(undefined);
  }

  run(app: AppEntry): Promise<number[]> {
    return this.#become(app);
  }

  /** The one transition: this process becomes the master (of an app entry's workers, with `app`). */
  #become(app: AppEntry | undefined): Promise<number[]> {
    this.#master = new MasterRole(this.#host, this.#router, app);
    this.#host.become(this.#master);
    return this.#master.start();
  }

  shutdown(): Promise<void> {
    return signalThroughPidFiles(this.#host.options, 'SIGTERM', true);
  }

  stop(): Promise<void> {
    return signalThroughPidFiles(this.#host.options, 'SIGQUIT', true);
  }

  reload(): Promise<void> {
    return signalThroughPidFiles(this.#host.options, 'SIGUSR2', false);
  }

  enable(): Promise<void> {
    return ecvNeedsListen();
  }

  disable(): Promise<void> {
    return ecvNeedsListen();
  }

  readonly ecv = undefined;
  readonly draining = false;
  readonly monitorAddress = undefined;

  ready(): void {}

  status(): undefined {
    return undefined;
  }

  restartWorker(): boolean {
    return false;
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

/**
 * Signals the master named in the pids directory (`wait`: resolve once it has exited); rejects
 * with ERR_CLUSTER2_NOT_RUNNING when none runs.
 */
export async function signalThroughPidFiles(options: ResolvedOptions, signal: NodeJS.Signals, wait: boolean): Promise<void> {
  if (options.pids === false) {
    throw new Cluster2Error('ERR_CLUSTER2_NOT_RUNNING', 'no cluster2 master to signal: this Cluster has pids: false and never listened');
  }
  await signalMaster(options.pids, signal, wait);
}
