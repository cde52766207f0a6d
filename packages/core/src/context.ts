import type { EcvHost } from './ecv/handler.js';

/**
 * The Cluster serving in this process. A worker process (or a `cluster: false` process) serves
 * exactly one Cluster, so this is per-process by nature: it lets framework middleware mounted
 * before `listen()` reach the running cluster without being handed it.
 */
export interface ServingContext {
  /** The Cluster object (typed loosely here to keep this module free of cycles). */
  readonly cluster: object;
  readonly ecvHost: EcvHost;
  /** True once this process drains (shutdown, recycle, reload). */
  draining(): boolean;
}

let serving: ServingContext | undefined;

export function setServingContext(context: ServingContext): void {
  serving = context;
}

/** The context of the Cluster listening in this process, if any. */
export function servingContext(): ServingContext | undefined {
  return serving;
}
