/**
 * Every error cluster2 raises carries one of these stable codes. Compare `err.code`,
 * never `instanceof`: errors cross process boundaries and package copies.
 */
export const ErrorCodes = Object.freeze({
  /** An option has the wrong type or is out of range. */
  ERR_CLUSTER2_INVALID_OPTION: 'ERR_CLUSTER2_INVALID_OPTION',
  /** An option key that cluster2 does not know (usually a typo). */
  ERR_CLUSTER2_UNKNOWN_OPTION: 'ERR_CLUSTER2_UNKNOWN_OPTION',
  /** An app or monitor port is already taken. */
  ERR_CLUSTER2_PORT_IN_USE: 'ERR_CLUSTER2_PORT_IN_USE',
  /** A control call found no running master in the pids directory (or only a stale pid file, which it does not signal). */
  ERR_CLUSTER2_NOT_RUNNING: 'ERR_CLUSTER2_NOT_RUNNING',
  /** A master was started on a pids directory whose recorded master is still running. */
  ERR_CLUSTER2_PIDS_IN_USE: 'ERR_CLUSTER2_PIDS_IN_USE',
  /** The pids directory cannot be created or written (EACCES, EROFS, ENOTDIR, …). */
  ERR_CLUSTER2_PIDS_UNWRITABLE: 'ERR_CLUSTER2_PIDS_UNWRITABLE',
  /** `listen()` was handed something that is not a server factory, or the factory handed back no server. */
  ERR_CLUSTER2_INVALID_FACTORY: 'ERR_CLUSTER2_INVALID_FACTORY',
  /** The factory threw, rejected or never handed a server within the start-up limit. */
  ERR_CLUSTER2_FACTORY_FAILED: 'ERR_CLUSTER2_FACTORY_FAILED',
  /** `listen()` called twice on one Cluster. */
  ERR_CLUSTER2_ALREADY_LISTENING: 'ERR_CLUSTER2_ALREADY_LISTENING',
  /** Too many unexpected worker deaths within `restart.window`. */
  ERR_CLUSTER2_GAVE_UP: 'ERR_CLUSTER2_GAVE_UP',
  /** A successor could not start during `reload()`; the old workers keep serving. */
  ERR_CLUSTER2_RELOAD_FAILED: 'ERR_CLUSTER2_RELOAD_FAILED',
  /** The operating system refused to start a worker process (descriptors or processes exhausted, …); the slot is retried with backoff. */
  ERR_CLUSTER2_FORK_FAILED: 'ERR_CLUSTER2_FORK_FAILED',
  /** A reload asked for where it cannot run (`cluster: false`, or during shutdown). */
  ERR_CLUSTER2_RELOAD_UNAVAILABLE: 'ERR_CLUSTER2_RELOAD_UNAVAILABLE',
  /** A delegation got no answer within its timeout. */
  ERR_CLUSTER2_DELEGATE_TIMEOUT: 'ERR_CLUSTER2_DELEGATE_TIMEOUT',
  /** A delegation named an event the master has no handler for. */
  ERR_CLUSTER2_NO_HANDLER: 'ERR_CLUSTER2_NO_HANDLER',
  /** A delegation handler in the master threw without a code of its own. */
  ERR_CLUSTER2_HANDLER_FAILED: 'ERR_CLUSTER2_HANDLER_FAILED',
  /** The master went away while a worker waited for it. */
  ERR_CLUSTER2_MASTER_GONE: 'ERR_CLUSTER2_MASTER_GONE',
  /** A call into a worker could not complete because the worker exited. */
  ERR_CLUSTER2_WORKER_GONE: 'ERR_CLUSTER2_WORKER_GONE',
  /** An IPC call got no reply in time. */
  ERR_CLUSTER2_IPC_TIMEOUT: 'ERR_CLUSTER2_IPC_TIMEOUT',
  /** An API that only makes sense in one role (master, worker) was called in another. */
  ERR_CLUSTER2_WRONG_ROLE: 'ERR_CLUSTER2_WRONG_ROLE',
  /** A call argument has the wrong type or shape. */
  ERR_CLUSTER2_INVALID_ARGUMENT: 'ERR_CLUSTER2_INVALID_ARGUMENT',
  /** A delegation request or answer, or a `notify()`, is larger than `maxMessageSize`. */
  ERR_CLUSTER2_MESSAGE_TOO_LARGE: 'ERR_CLUSTER2_MESSAGE_TOO_LARGE',
  /** A worker already has `maxPendingDelegations` requests waiting in the master. */
  ERR_CLUSTER2_TOO_MANY_PENDING: 'ERR_CLUSTER2_TOO_MANY_PENDING',
  /** `cluster2 start` was given a flag it does not know, a flag without its value, or no way to pick one app; the CLI prints the usage and exits 2. */
  ERR_CLUSTER2_USAGE: 'ERR_CLUSTER2_USAGE',
  /** The app entry given to `cluster.run()` or `cluster2 start` does not exist or is not a file. */
  ERR_CLUSTER2_ENTRY_NOT_FOUND: 'ERR_CLUSTER2_ENTRY_NOT_FOUND',
  /** A config file cannot be read, is not valid JSON, throws while loading, or does not export an object. */
  ERR_CLUSTER2_CONFIG_INVALID: 'ERR_CLUSTER2_CONFIG_INVALID',
  /** The directory holds more than one of cluster2.config.json, .mjs and .cjs. */
  ERR_CLUSTER2_CONFIG_AMBIGUOUS: 'ERR_CLUSTER2_CONFIG_AMBIGUOUS',
  /** A bug in cluster2 itself: a master or worker state change its transition table forbids. */
  ERR_CLUSTER2_INTERNAL: 'ERR_CLUSTER2_INTERNAL',
  /** The app entry cannot run on this node: TypeScript on a node that does not strip types, without a loader in `nodeArgs`. */
  ERR_CLUSTER2_ENTRY_NOT_RUNNABLE: 'ERR_CLUSTER2_ENTRY_NOT_RUNNABLE',
});

export type ErrorCode = keyof typeof ErrorCodes;

/** The error class of cluster2. `code` is always one of {@link ErrorCodes}. */
export class Cluster2Error extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'Cluster2Error';
    this.code = code;
  }
}

/** What an error looks like on the IPC channel. */
export interface SerializedError {
  code: string;
  message: string;
  name?: string;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      code: typeof code === 'string' ? code : ErrorCodes.ERR_CLUSTER2_HANDLER_FAILED,
      message: error.message,
      name: error.name,
    };
  }
  return { code: ErrorCodes.ERR_CLUSTER2_HANDLER_FAILED, message: String(error) };
}

/** Rebuilds an error that crossed IPC; foreign codes are kept as they came. */
export function deserializeError(serialized: SerializedError): Error & { code: string } {
  const error = new Error(serialized.message) as Error & { code: string };
  error.name = serialized.name ?? 'Cluster2Error';
  error.code = serialized.code;
  return error;
}

export function isErrorCode(error: unknown, code: ErrorCode): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
