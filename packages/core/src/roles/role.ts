import type { EventEmitter } from 'node:events';
import { Cluster2Error } from '../errors.js';
import type { DelegateOptions, DelegationHandler, HandleOptions } from '../delegation/types.js';
import type { ClusterStatus, EcvSnapshot } from '../status.js';
import type { ResolvedOptions } from '../options.js';
import type { ServerFactory } from '../worker/factory.js';
import type { AppEntry } from '../app-entry.js';

/** Where a Cluster object runs. */
export type Role = 'master' | 'worker' | 'single' | 'control';

/** Where a monitor listens. */
export interface MonitorAddress {
  host: string;
  port: number;
}

/**
 * What one role does for each public method of Cluster. The Cluster picks its role once, in its
 * constructor (and moves control → master once, at listen()), so no method asks which it is in.
 */
export interface ClusterRole {
  readonly name: Role;
  listen(factory: ServerFactory): Promise<number[]>;
  /** Serves an unmodified app: each worker runs its entry, and adopts the servers it listens on. */
  run(app: AppEntry): Promise<number[]>;
  shutdown(): Promise<void>;
  stop(): Promise<void>;
  reload(): Promise<void>;
  enable(): Promise<void>;
  disable(): Promise<void>;
  readonly ecv: EcvSnapshot | undefined;
  readonly draining: boolean;
  ready(): void;
  status(): ClusterStatus | undefined;
  restartWorker(pid: number): boolean;
  readonly monitorAddress: MonitorAddress | undefined;
  delegate<TResult, TPayload>(event: string, payload?: TPayload, options?: DelegateOptions): Promise<TResult>;
  subscribe<T>(event: string, listener: (data: T) => void): () => void;
  handle<TPayload, TResult>(event: string, handler: DelegationHandler<TPayload, TResult>, options?: HandleOptions): () => void;
  notify(event: string, data?: unknown): number;
}

/** What a role needs from the Cluster object it serves. */
export interface RoleHost {
  readonly options: ResolvedOptions;
  /** The user's Cluster: raw delegation events are emitted on it, and it is the serving context. */
  readonly facade: EventEmitter;
  /** Emits on the Cluster ('error' only when someone listens; warnings also go to the logger). */
  emit(event: string, ...args: unknown[]): boolean;
  listenerCount(event: string): number;
  /** Emits a 'warning' on the next tick (delegation's complaints). */
  warn(message: string, pid?: number): void;
  /** The one role change there is: a master's control role becomes the master at listen(). */
  become(role: ClusterRole): void;
}

/** The events cluster2 emits itself: delegation never treats them as raw 0.4 events. */
export const OWN_EVENTS = [
  'forked',
  'listening',
  'died',
  'recycled',
  'heartbeat',
  'warning',
  'disabled',
  'enabled',
  'giveup',
  'forkFailed',
  'reloadFailed',
  'shutdown',
  'draining',
  'stopped',
  'error',
  'SIGINT',
  'SIGTERM',
  'SIGUSR2',
  'SIGHUP',
  'SIGQUIT',
  'SIGKILL',
] as const;

export function exitProcess(code: number): void {
  process.exit(code);
}

/** listen()'s argument checks, in the order every role makes them. */
export function checkListen(alreadyListening: boolean, factory: unknown): void {
  if (alreadyListening) throw new Cluster2Error('ERR_CLUSTER2_ALREADY_LISTENING', 'listen() was already called on this Cluster');
  if (typeof factory !== 'function') {
    throw new Cluster2Error('ERR_CLUSTER2_INVALID_FACTORY', `listen() takes a server factory function; got ${typeof factory}`);
  }
}

/** listen() or run() on a Cluster that already serves. */
export function alreadyServing(): Promise<never> {
  return Promise.reject(new Cluster2Error('ERR_CLUSTER2_ALREADY_LISTENING', 'listen() or run() was already called on this Cluster'));
}

/** enable()/disable() before listen(): there is no switch to flip yet. */
export function ecvNeedsListen(): Promise<never> {
  return Promise.reject(new Cluster2Error('ERR_CLUSTER2_WRONG_ROLE', 'enable()/disable() need a running cluster: call listen() first'));
}

/** delegate() outside a worker: the master calls its own code. */
export function delegateInMaster(event: string): Promise<never> {
  return Promise.reject(new Cluster2Error('ERR_CLUSTER2_WRONG_ROLE', `delegate("${event}") is for workers; the master runs its handler itself`));
}
