import { debuglog } from 'node:util';
import { Cluster2Error, deserializeError } from '../errors.js';
import { DEFAULT_MAX_MESSAGE_SIZE, measureSize, measureWholeSize } from '../ipc/size.js';
import {
  DEFAULT_DELEGATE_TIMEOUT,
  DELEGATE_TYPE,
  tooLarge,
  MAX_DELEGATE_TIMEOUT,
  NOTIFY_TYPE,
  REPLY_TYPE,
  SUBSCRIBE_TYPE,
  UNSUBSCRIBE_TYPE,
  isRecord,
  isValidTimeout,
  type DelegateRequest,
} from './protocol.js';
import type { DelegateOptions, WorkerDelegation } from './types.js';

const debug = debuglog('cluster2');

/** What the worker side of delegation needs from its surroundings. */
export interface DelegationClientOptions {
  /** Sends a raw message to the master (`process.send` in a worker). May throw when the channel is closed. */
  send: (message: object) => void;
  /**
   * How much longer than the request's `timeout` the worker waits before giving up by itself, for a
   * master that never answers at all; normally the master's own timeout answer comes first (ms).
   * @default 1000
   */
  timeoutMargin?: number;
  /** Reports a notification listener that threw or a message that could not be sent. @default debuglog('cluster2') */
  warn?: (message: string) => void;
  /** A request larger than this (bytes, as JSON) is rejected before it is sent. @default 1048576 */
  maxMessageSize?: number;
}

interface Call {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

type Listener = (data: unknown) => void;

/**
 * The worker side of delegation: `delegate()` sends a 0.4-format request whose answer is matched by
 * `requestId`, `subscribe()` tells the master which notifications this worker wants.
 */
export class DelegationClient implements WorkerDelegation {
  readonly #send: (message: object) => void;
  readonly #margin: number;
  readonly #warn: (message: string) => void;
  readonly #maxMessageSize: number;
  readonly #calls = new Map<string, Call>();
  readonly #listeners = new Map<string, Set<Listener>>();
  // Request ids must be unique across workers: master code that answers a typed request through the
  // raw path emits one `cluster2:reply` that every waiting request compares its `requestId` against.
  // No two live processes share a pid, and a pid reused later comes with a later monotonic clock
  // reading; short ids keep every request small on the pipe (and node:crypto out of start-up).
  readonly #prefix = `${process.pid.toString(36)}.${process.hrtime.bigint().toString(36)}`;
  #seq = 0;
  #closedWith: Error | undefined;

  constructor(options: DelegationClientOptions) {
    this.#send = options.send;
    this.#margin = options.timeoutMargin ?? 1000;
    this.#warn = options.warn ?? ((message) => debug('%s', message));
    this.#maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  /**
   * Sends `{ type: 'delegate', delegate: event, expect: 'cluster2:reply', matches: ['requestId'], requestId,
   * payload, timeout }` and resolves with the answer's `result`. Never throws: bad arguments reject
   * with `ERR_CLUSTER2_INVALID_ARGUMENT`. See {@link WorkerDelegation.delegate}.
   */
  delegate<TResult = unknown, TPayload = unknown>(event: string, payload?: TPayload, options?: DelegateOptions): Promise<TResult> {
    const timeout = options?.timeout ?? DEFAULT_DELEGATE_TIMEOUT;
    if (typeof event !== 'string' || event === '') return Promise.reject(invalid('delegate(): "event" must be a non-empty string'));
    if (!isValidTimeout(timeout)) {
      return Promise.reject(invalid(`delegate("${event}"): "timeout" must be a number of ms from 1 to ${MAX_DELEGATE_TIMEOUT}, got ${String(timeout)}`));
    }
    if (this.#closedWith !== undefined) return Promise.reject(this.#closedWith);
    const requestId = `${this.#prefix}:${++this.#seq}`;
    const request: DelegateRequest = { type: DELEGATE_TYPE, delegate: event, expect: REPLY_TYPE, matches: ['requestId'], requestId, payload, timeout };
    // Refused here, before node serialises it: a message too large for the master would otherwise
    // be written down the pipe, parsed and held there in full before anything could refuse it.
    if (measureSize(request, this.#maxMessageSize) > this.#maxMessageSize) {
      return Promise.reject(tooLarge(`delegate("${event}")`, measureWholeSize(request), this.#maxMessageSize));
    }
    return new Promise<TResult>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          const message = `no answer to "${event}" within ${timeout} ms (the master did not answer at all)`;
          this.#settle(requestId, new Cluster2Error('ERR_CLUSTER2_DELEGATE_TIMEOUT', message));
        },
        Math.min(timeout + this.#margin, MAX_DELEGATE_TIMEOUT),
      );
      timer.unref();
      this.#calls.set(requestId, { resolve, reject, timer });
      try {
        this.#send(request);
      } catch (error) {
        this.#settle(requestId, sendError(event, error));
      }
    });
  }

  /**
   * Adds `listener` for `notify(event, data)`; the first listener of an event sends
   * `{ type: 'cluster2:subscribe', event }`, removing the last sends `cluster2:unsubscribe`. The returned
   * function is idempotent. Throws `ERR_CLUSTER2_INVALID_ARGUMENT` for bad arguments.
   */
  subscribe<T = unknown>(event: string, listener: (data: T) => void): () => void {
    if (typeof event !== 'string' || event === '') throw invalid('subscribe(): "event" must be a non-empty string');
    if (typeof listener !== 'function') throw invalid(`subscribe("${event}"): the listener must be a function, got ${typeof listener}`);
    let listeners = this.#listeners.get(event);
    if (listeners === undefined) {
      this.#listeners.set(event, (listeners = new Set()));
      this.#post({ type: SUBSCRIBE_TYPE, event });
    }
    // A wrapper per call, so subscribing one function twice gives two independent subscriptions.
    const entry: Listener = (data) => listener(data as T);
    listeners.add(entry);
    const set = listeners;
    return () => {
      if (!set.delete(entry) || set.size > 0 || this.#listeners.get(event) !== set) return;
      this.#listeners.delete(event);
      this.#post({ type: UNSUBSCRIBE_TYPE, event });
    };
  }

  /** Feeds one message from the master; returns true when it was a delegation reply or notification. */
  onMessage(message: unknown): boolean {
    if (!isRecord(message)) return false;
    if (message.type === REPLY_TYPE) this.#onReply(message);
    else if (message.type === NOTIFY_TYPE) this.#onNotify(message);
    else return false;
    return true;
  }

  /**
   * Rejects every pending delegation with `error` and makes later ones reject at once; for when the
   * master goes away (IPC disconnect). Listeners stay registered but nothing is sent any more.
   * @default error Cluster2Error ERR_CLUSTER2_MASTER_GONE
   */
  close(error: Error = new Cluster2Error('ERR_CLUSTER2_MASTER_GONE', 'the master went away before answering')): void {
    if (this.#closedWith !== undefined) return;
    this.#closedWith = error;
    for (const requestId of [...this.#calls.keys()]) this.#settle(requestId, error);
  }

  /** Delegations still waiting for their answer. */
  pendingCount(): number {
    return this.#calls.size;
  }

  #onReply(message: Record<string, unknown>): void {
    const requestId = message.requestId;
    // Not ours or already settled (a late answer after our own timer gave up): nothing to do.
    if (typeof requestId !== 'string' || !this.#calls.has(requestId)) return;
    if (message.error === undefined) this.#settle(requestId, undefined, message.result);
    else this.#settle(requestId, toError(message.error));
  }

  #onNotify(message: Record<string, unknown>): void {
    const event = message.event;
    if (typeof event !== 'string') return;
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        listener(message.data);
      } catch (error) {
        // One faulty listener must not keep the others from hearing about the change.
        this.#warn(`a listener for "${event}" threw: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  #settle(requestId: string, error: Error | undefined, result?: unknown): void {
    const call = this.#calls.get(requestId);
    if (call === undefined) return;
    this.#calls.delete(requestId);
    clearTimeout(call.timer);
    if (error === undefined) call.resolve(result);
    else call.reject(error);
  }

  #post(message: object): void {
    if (this.#closedWith !== undefined) return;
    try {
      this.#send(message);
    } catch (error) {
      this.#warn(`could not send a delegation message to the master: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** Rebuilds the master's error; a malformed one still rejects, with a code. */
function toError(error: unknown): Error {
  if (isRecord(error) && typeof error.code === 'string' && typeof error.message === 'string') {
    return deserializeError({ code: error.code, message: error.message, ...(typeof error.name === 'string' ? { name: error.name } : {}) });
  }
  return new Cluster2Error('ERR_CLUSTER2_HANDLER_FAILED', 'the master answered with a malformed error');
}

function sendError(event: string, error: unknown): Error {
  // A coded error (ERR_IPC_CHANNEL_CLOSED) already says what happened; anything else gets a code.
  if (error instanceof Error && typeof (error as { code?: unknown }).code === 'string') return error;
  const message = `delegate("${event}"): the request could not be sent: ${error instanceof Error ? error.message : String(error)}`;
  return new Cluster2Error('ERR_CLUSTER2_INVALID_ARGUMENT', message, { cause: error });
}

function invalid(message: string): Cluster2Error {
  return new Cluster2Error('ERR_CLUSTER2_INVALID_ARGUMENT', message);
}
