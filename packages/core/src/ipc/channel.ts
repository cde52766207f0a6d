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

/**
 * Either end of an IPC pipe: `process` in a worker, a `cluster.Worker` in the master, or an
 * in-process stand-in. `handle` is a socket sent along (node's own `send(message, handle)`);
 * `sent` learns when the message was written, or why it could not be.
 */
export interface Endpoint {
  send(message: unknown, handle?: SendableHandle, sent?: (error: Error | null) => void): void;
}

/** What node can pass to another process with a message: a socket (or a server). */
export type SendableHandle = import('node:net').Socket | import('node:net').Server;

/** One kind of message: the data it carries and, when it is called, what the reply holds. */
export interface Kind<Data = undefined, Reply = void> {
  data: Data;
  reply: Reply;
}

/** The kinds one side of a channel understands, by name: an interface whose every member is a Kind. */
export type Protocol<T> = { [K in keyof T]: Kind<unknown, unknown> };

/** A protocol that accepts any kind, its data unknown: for a channel whose two sides are not typed. */
export type AnyProtocol = Record<string, Kind<unknown, unknown>>;

export type Handler<K extends Kind<unknown, unknown>> = (data: K['data'], handle: unknown) => K['reply'] | Promise<K['reply']>;

/** A handler as the table holds it: each takes its own kind's data, checked where `handle()` registers it. */
type StoredHandler = (data: never, handle: unknown) => unknown;

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
 * replies find their caller through a pending-call map keyed by sequence number. `In` names the
 * kinds this side handles, `Out` those it sends, so a misspelt kind or a wrong payload is a type
 * error at both ends.
 */
export class Channel<In extends Protocol<In> = AnyProtocol, Out extends Protocol<Out> = AnyProtocol> {
  readonly #endpoint: Endpoint;
  readonly #handlers = new Map<string, StoredHandler>();
  readonly #pending = new Map<number, PendingCall>();
  #seq = 0;
  #closedWith: Error | undefined;

  constructor(endpoint: Endpoint) {
    this.#endpoint = endpoint;
  }

  /**
   * Registers the handler for `kind`; a call's reply is the handler's (awaited) return value. The
   * handler also gets the socket that came with the message, if any.
   */
  handle<K extends keyof In & string>(kind: K, handler: Handler<In[K]>): this {
    this.#handlers.set(kind, handler);
    return this;
  }

  /**
   * One-way message. With `handle`, the socket goes along (sticky sessions' hand-off), and `sent`
   * learns once node has written it or why it could not: a closed channel answers at once.
   */
  send<K extends keyof Out & string>(kind: K, data?: Out[K]['data'], handle?: SendableHandle, sent?: (error: Error | null) => void): void {
    if (this.#closedWith) {
      sent?.(this.#closedWith);
      return;
    }
    this.#write({ [ENVELOPE_KEY]: 1, kind, data }, handle, sent);
  }

  call<K extends keyof Out & string>(kind: K, data: Out[K]['data'], timeoutMs: number): Promise<Out[K]['reply']> {
    if (this.#closedWith) return Promise.reject(this.#closedWith);
    const seq = ++this.#seq;
    return new Promise<Out[K]['reply']>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(seq);
        reject(new Cluster2Error('ERR_CLUSTER2_IPC_TIMEOUT', `no reply to "${kind}" within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.#pending.set(seq, { resolve: resolve, reject, timer });
      this.#write({ [ENVELOPE_KEY]: 1, kind, data, seq });
    });
  }

  /**
   * Feeds one incoming message and the socket that came with it; returns false when it is not one
   * of ours (the caller routes it on: delegation, the app's own messages).
   */
  dispatch(message: unknown, handle?: unknown): boolean {
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
      runSafely(() => handler(message.data as never, handle));
      return true;
    }
    const seq = message.seq;
    Promise.resolve()
      .then(() => handler(message.data as never, handle))
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

  #write(envelope: Envelope, handle?: SendableHandle, sent?: (error: Error | null) => void): void {
    try {
      this.#endpoint.send(envelope, handle, sent);
    } catch (error) {
      // The other side is gone; its exit is handled where the process is watched.
      sent?.(error as Error);
    }
  }
}

function runSafely(run: () => unknown): void {
  try {
    const result = run();
    if (result instanceof Promise) result.catch(() => {});
  } catch {
    // One-way messages have nobody to report to; handlers log their own failures.
  }
}

/** Two endpoints joined in one process, for `cluster: false`: what one sends, the other dispatches on a later tick. */
export function localPair<A extends Protocol<A> = AnyProtocol, B extends Protocol<B> = AnyProtocol>(): [Channel<A, B>, Channel<B, A>] {
  // No process boundary to pass a socket across: `cluster: false` never hands one over.
  const a: Channel<A, B> = new Channel({ send: (message, _handle, sent) => setImmediate(() => (b.dispatch(structuredClone(message)), sent?.(null))) });
  const b: Channel<B, A> = new Channel({ send: (message, _handle, sent) => setImmediate(() => (a.dispatch(structuredClone(message)), sent?.(null))) });
  return [a, b];
}
