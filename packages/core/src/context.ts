import type { EcvHost } from './ecv/state.js';

const STORE = Symbol.for('@cluster2/core:process-context');

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

/** What this module keeps for the process. */
interface ProcessStore {
  serving: ServingContext | undefined;
  readonly drainingHooks: Set<DrainingHook>;
  readonly drainedHooks: Set<DrainedHook>;
}

/**
 * One store per process however many copies of this module are loaded: `cluster2 start` runs
 * from the CLI's own bundle while the app imports `@cluster2/core`'s index (or an app and a
 * library of it install two copies), and a hook the app registers must reach the runtime that
 * drains it.
 */
const store: ProcessStore = ((globalThis as { [STORE]?: ProcessStore })[STORE] ??= {
  serving: undefined,
  drainingHooks: new Set(),
  drainedHooks: new Set(),
});

export function setServingContext(context: ServingContext): void {
  store.serving = context;
}

/** The context of the Cluster listening in this process, if any. */
export function servingContext(): ServingContext | undefined {
  return store.serving;
}

/** What a framework adapter closes when this process starts draining (e.g. @fastify/websocket's sockets). */
export type DrainingHook = () => void;

/**
 * Registers `hook` to run when this process starts draining, alongside the Cluster's 'draining'
 * event (just before the listener closes): adapters close the framework's long-lived connections
 * there, which the drain would otherwise wait for until `shutdownTimeout`. Returns the function
 * that unregisters it.
 */
export function onDraining(hook: DrainingHook): () => void {
  store.drainingHooks.add(hook);
  return () => void store.drainingHooks.delete(hook);
}

/** For core's drain: runs every draining hook; returns the errors they threw. */
export function runDrainingHooks(): Error[] {
  const errors: Error[] = [];
  for (const hook of store.drainingHooks) {
    try {
      hook();
    } catch (error) {
      errors.push(error as Error);
    }
  }
  return errors;
}

/** Cleanup a framework adapter needs once this process has drained (e.g. Fastify's `close()`). */
export type DrainedHook = () => unknown;

/**
 * Registers `hook` to run once this process has drained (listener closed, every socket ended)
 * and before it exits; the exit waits for it (bounded by `shutdownTimeout`). Adapters use it to
 * run the framework's own close (Fastify's `onClose` hooks) after the drain rather than during
 * it. Returns the function that unregisters it.
 */
export function onDrained(hook: DrainedHook): () => void {
  store.drainedHooks.add(hook);
  return () => void store.drainedHooks.delete(hook);
}

/**
 * For core's drain (worker runtime, single process): runs every registered hook, concurrently,
 * and resolves once all have settled or `timeout` ms have passed. Never rejects.
 */
export async function runDrainedHooks(timeout: number): Promise<void> {
  if (store.drainedHooks.size === 0) return;
  const settled = Promise.allSettled([...store.drainedHooks].map(async (hook) => hook()));
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeout);
    timer.unref();
  });
  await Promise.race([settled, expired]);
  clearTimeout(timer);
}
