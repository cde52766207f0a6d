import { Cluster2Error, deserializeError, serializeError, type SerializedError } from '../errors.js';

/**
 * cluster2's own IPC messages carry this key, so they never collide with the app's messages
 * or with the 0.4 delegation wire format (`type: 'delegate'`) that shares the channel.
 */
export const ENVELOPE_KEY = 'cluster2';

export interface Envelope {
  [ENVELOPE_KEY]: 1;
  kind: string;
  data?: unknown;
  /** Present on a call: the reply carries it back in `reply`. */
  seq?: number;
  reply?: number;
  error?: SerializedError;
}

/** Either end of an IPC pipe: `process` in a worker, a `cluster.Worker` in the master, or an in-process stand-in. */
export interface Endpoint {
  send(message: unknown): void;
}

export type Handler = (data: any) => unknown;

interface PendingCall {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export function isEnvelope(message: unknown): message is Envelope {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as Record<string, unknown>)[ENVELOPE_KEY] === 1 &&
    typeof (message as Record<string, unknown>).kind === 'string'
  );
}

/**
 * Request/response and one-way messages over one endpoint. Handlers sit in a table keyed by kind;
 * replies find their caller through a pending-call map keyed by sequence number.
 */
export class Channel {
  readonly #endpoint: Endpoint;
  readonly #handlers = new Map<string, Handler>();
  readonly #pending = new Map<number, PendingCall>();
  #seq = 0;
  #closedWith: Error | undefined;

  constructor(endpoint: Endpoint) {
    this.#endpoint = endpoint;
  }

  /** Registers the handler for `kind`; a call's reply is the handler's (awaited) return value. */
  handle(kind: string, handler: Handler): this {
    this.#handlers.set(kind, handler);
    return this;
  }

  send(kind: string, data?: unknown): void {
    if (this.#closedWith) return;
    this.#write({ [ENVELOPE_KEY]: 1, kind, data });
  }

  call<T = unknown>(kind: string, data: unknown, timeoutMs: number): Promise<T> {
    if (this.#closedWith) return Promise.reject(this.#closedWith);
    const seq = ++this.#seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(seq);
        reject(new Cluster2Error('ERR_CLUSTER2_IPC_TIMEOUT', `no reply to "${kind}" within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.#pending.set(seq, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.#write({ [ENVELOPE_KEY]: 1, kind, data, seq });
    });
  }

  /** Feeds one incoming message; returns false when it is not one of ours (the caller routes it on). */
  dispatch(message: unknown): boolean {
    if (!isEnvelope(message)) return false;
    if (message.reply !== undefined) {
      this.#settle(message);
      return true;
    }
    const handler = this.#handlers.get(message.kind);
    if (handler === undefined) {
      if (message.seq !== undefined) {
        this.#reply(message.seq, undefined, new Cluster2Error('ERR_CLUSTER2_INVALID_ARGUMENT', `no handler for "${message.kind}"`));
      }
      return true;
    }
    if (message.seq === undefined) {
      runSafely(handler, message.data);
      return true;
    }
    const seq = message.seq;
    Promise.resolve()
      .then(() => handler(message.data))
      .then(
        (result) => this.#reply(seq, result),
        (error: unknown) => this.#reply(seq, undefined, error),
      );
    return true;
  }

  /** Rejects every pending call with `error` and drops later sends. */
  close(error: Error): void {
    if (this.#closedWith) return;
    this.#closedWith = error;
    for (const [seq, call] of this.#pending) {
      clearTimeout(call.timer);
      this.#pending.delete(seq);
      call.reject(error);
    }
  }

  get pendingCalls(): number {
    return this.#pending.size;
  }

  #settle(message: Envelope): void {
    const call = this.#pending.get(message.reply!);
    if (call === undefined) return;
    this.#pending.delete(message.reply!);
    clearTimeout(call.timer);
    if (message.error) call.reject(deserializeError(message.error));
    else call.resolve(message.data);
  }

  #reply(seq: number, data: unknown, error?: unknown): void {
    const envelope: Envelope = { [ENVELOPE_KEY]: 1, kind: 'reply', reply: seq, data };
    if (error !== undefined) envelope.error = serializeError(error);
    this.#write(envelope);
  }

  #write(envelope: Envelope): void {
    try {
      this.#endpoint.send(envelope);
    } catch {
      // The other side is gone; its exit is handled where the process is watched.
    }
  }
}

function runSafely(handler: Handler, data: unknown): void {
  try {
    const result = handler(data);
    if (result instanceof Promise) result.catch(() => {});
  } catch {
    // One-way messages have nobody to report to; handlers log their own failures.
  }
}

/** Two endpoints joined in one process, for `cluster: false`: what one sends, the other dispatches on a later tick. */
export function localPair(): [Channel, Channel] {
  let a: Channel;
  let b: Channel;
  a = new Channel({ send: (message) => setImmediate(() => b.dispatch(structuredClone(message))) });
  b = new Channel({ send: (message) => setImmediate(() => a.dispatch(structuredClone(message))) });
  return [a, b];
}
