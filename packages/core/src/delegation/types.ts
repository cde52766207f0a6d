/**
 * The typed delegation surface. `DelegationClient` (worker) and `DelegationRouter` (master) implement
 * these, so the `Cluster` facade can expose the same generic signatures and forward to whichever
 * object its role has.
 */

/** Options of `delegate()`. */
export interface DelegateOptions {
  /**
   * How long the master waits for the handler before answering `ERR_CLUSTER2_DELEGATE_TIMEOUT` (ms).
   * The worker keeps its own timer a little longer, in case the master never answers at all.
   * @default 10000
   */
  timeout?: number;
}

/** What a handler learns about the request besides its payload. */
export interface HandlerContext {
  /**
   * pid of the worker that asked. When concurrent identical requests are coalesced, the handler runs
   * once, for the first asker; every asker gets its result.
   */
  pid: number;
  /** The event the handler was registered for. */
  event: string;
}

/** A master-side handler: its return value (or resolved value) is the worker's result; a throw rejects it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped, a payload is whatever the caller sent (as with EventEmitter); a type argument narrows it
export type DelegationHandler<TPayload = any, TResult = unknown> = (payload: TPayload, context: HandlerContext) => TResult | Promise<TResult>;

/** Options of `handle()`. */
export interface HandleOptions {
  /**
   * Keep a successful result this long and answer identical requests (same event, deep-equal payload)
   * from it without running the handler (ms). `0` caches nothing; failures are never cached.
   * @default 0
   */
  ttl?: number;
}

/** What a worker (or a single process) can ask of the master. */
export interface WorkerDelegation {
  /**
   * Runs the master's handler for `event` with `payload` and resolves with its result. Rejects with
   * the handler's error code and message, `ERR_CLUSTER2_NO_HANDLER` at once when the master has no
   * handler, `ERR_CLUSTER2_DELEGATE_TIMEOUT`, or `ERR_CLUSTER2_MASTER_GONE`.
   */
  delegate<TResult = unknown, TPayload = unknown>(event: string, payload?: TPayload, options?: DelegateOptions): Promise<TResult>;
  /** Calls `listener` with the data of every `notify(event, data)` from the master; returns the unsubscribe function. */
  subscribe<T = unknown>(event: string, listener: (data: T) => void): () => void;
}

/** What the master (or a single process) offers its workers. */
export interface PrimaryDelegation {
  /** Registers the one handler for `event`; returns the function that unregisters it. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped, a payload is whatever the caller sent (as with EventEmitter); a type argument narrows it
  handle<TPayload = any, TResult = unknown>(event: string, handler: DelegationHandler<TPayload, TResult>, options?: HandleOptions): () => void;
  /** Sends `data` to every worker subscribed to `event`; returns how many workers it was sent to. */
  notify(event: string, data?: unknown): number;
}
