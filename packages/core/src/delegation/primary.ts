import type { EventEmitter } from 'node:events';
import { debuglog, isDeepStrictEqual } from 'node:util';
import { Cluster2Error, serializeError } from '../errors.js';
import { HandlerTable, type Outcome } from './handlers.js';
import { SubscriberTable } from './subscriptions.js';
import { WarningThrottle } from './throttle.js';
import { DEFAULT_MAX_MESSAGE_SIZE, measureSize, measureWholeSize } from '../ipc/size.js';
import {
  ALWAYS_RESERVED,
  DELEGATE_TYPE,
  NOTIFY_TYPE,
  SUBSCRIBE_TYPE,
  UNSUBSCRIBE_TYPE,
  isRecord,
  isValidTimeout,
  parseRequest,
  pickFields,
  tooLarge,
  type ParsedRequest,
  type ReplyMessage,
} from './protocol.js';
import type { DelegationHandler, HandleOptions, PrimaryDelegation } from './types.js';
import type { DelegationStats } from '../status.js';

const debug = debuglog('cluster2');

/** Default of `maxPendingDelegations`. */
export const DEFAULT_MAX_PENDING = 1000;

/** What the master side of delegation needs from its surroundings. */
export interface DelegationRouterOptions {
  /** The Cluster: requests are emitted on it as `(message, { pid })`; master code answers by emitting `expect` on it. */
  emitter: EventEmitter;
  /** Sends a raw message to the worker with this pid; must ignore pids it does not know. May throw. */
  send: (pid: number, message: object) => void;
  /** Reports a dropped message or a failed send (the Cluster's `warning` event). */
  warn: (message: string, pid?: number) => void;
  /**
   * Event names a worker may not use as `delegate` or `expect` (the Cluster's own events, so a worker
   * cannot fake `died` or `listening`). `error`, `newListener` and `removeListener` are always reserved.
   * @default []
   */
  reservedEvents?: Iterable<string>;
  /** Requests and answers larger than this (bytes, as JSON) are refused. @default 1048576 */
  maxMessageSize?: number;
  /** Requests one worker may have pending; past it new ones are refused at once. @default 1000 */
  maxPendingDelegations?: number;
}

/** One request the master still owes an answer to (or, with `notification`, still forwards answers for). */
interface Pending {
  pid: number;
  /** False once answered, timed out or dropped: a late answer or a late settle must do nothing. */
  active: boolean;
  timer: NodeJS.Timeout;
  dispose(): void;
}

/**
 * The master side of delegation. Raw 0.4 requests are emitted on the Cluster and answered by master
 * code emitting their `expect` event; requests for an event with a typed handler (`handle()`) run that
 * handler instead and are not emitted. Every listener and timer it sets is removed on answer, timeout,
 * worker exit or `close()`.
 */
export class DelegationRouter implements PrimaryDelegation {
  readonly #emitter: EventEmitter;
  readonly #send: (pid: number, message: object) => void;
  readonly #warn: (message: string, pid?: number) => void;
  readonly #reserved: ReadonlySet<string>;
  readonly #handlers = new HandlerTable();
  readonly #pending = new Map<number, Pending>();
  /** Pending requests per worker pid, for `maxPendingDelegations`. */
  readonly #pendingOf = new Map<number, number>();
  readonly #maxMessageSize: number;
  readonly #maxPending: number;
  readonly #throttle: WarningThrottle;
  readonly #refused = { tooLarge: 0, answersTooLarge: 0, tooManyPending: 0 };
  readonly #subscribers = new SubscriberTable();
  /**
   * One emitter listener per `expect` event, shared by every request waiting on it: one listener per
   * request would trip the Cluster's MaxListenersExceededWarning as soon as 11 requests wait at once.
   */
  readonly #answerGroups = new Map<string, { listener: (answer: unknown) => void; waiting: Set<(answer: unknown) => void> }>();
  #nextId = 0;
  #closed = false;

  constructor(options: DelegationRouterOptions) {
    this.#emitter = options.emitter;
    this.#send = options.send;
    this.#warn = options.warn;
    this.#reserved = new Set([...ALWAYS_RESERVED, ...(options.reservedEvents ?? [])]);
    this.#maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.#maxPending = options.maxPendingDelegations ?? DEFAULT_MAX_PENDING;
    this.#throttle = new WarningThrottle(this.#warn);
  }

  /**
   * Feeds one message from the worker `pid`. Returns true when it belonged to delegation (a
   * `type: 'delegate'` request, malformed ones included, or a subscription change) and false otherwise,
   * so the caller routes it on. Never throws.
   */
  onMessage(pid: number, message: unknown): boolean {
    if (!isRecord(message)) return false;
    if (message.type === SUBSCRIBE_TYPE || message.type === UNSUBSCRIBE_TYPE) {
      // The event name is kept for as long as the worker lives: an oversized one is not.
      if (measureSize(message, this.#maxMessageSize) > this.#maxMessageSize) {
        this.#refused.tooLarge++;
        const error = tooLarge(`${message.type} from worker ${pid}`, measureWholeSize(message), this.#maxMessageSize);
        this.#throttle.report(`${pid}:too-large`, pid, `ignored ${error.message}`, `oversized messages from worker ${pid}`);
        return true;
      }
      const problem = this.#closed ? undefined : this.#subscribers.apply(pid, message);
      if (problem !== undefined) this.#warn(`ignored a malformed ${message.type} from worker ${pid}: ${problem}`, pid);
      return true;
    }
    if (message.type !== DELEGATE_TYPE) return false;
    if (this.#closed) return true;
    const request = parseRequest(message, this.#reserved);
    if (typeof request === 'string') this.#warn(`ignored a malformed delegation from worker ${pid}: ${request}`, pid);
    else if (measureSize(message, this.#maxMessageSize) > this.#maxMessageSize) this.#refuseTooLarge(pid, request);
    else if (request.expect !== undefined && (this.#pendingOf.get(pid) ?? 0) >= this.#maxPending) this.#refuseTooMany(pid, request);
    else if (this.#handlers.has(request.event)) this.#typed(pid, request);
    else if (request.expect === undefined) this.#emit(pid, request);
    else this.#raw(pid, request);
    return true;
  }

  /** Drops everything owed to or subscribed by `pid`: timers, emitter listeners, coalescing slots. */
  onWorkerExit(pid: number): void {
    for (const pending of [...this.#pending.values()]) if (pending.pid === pid) pending.dispose();
    this.#subscribers.dropWorker(pid);
  }

  /**
   * Registers the one typed handler for `event`. Throws `ERR_CLUSTER2_INVALID_ARGUMENT` for a bad
   * argument or when `event` already has a handler. Returns the function that unregisters it.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped, a payload is whatever the caller sent (as with EventEmitter); a type argument narrows it
  handle<TPayload = any, TResult = unknown>(event: string, handler: DelegationHandler<TPayload, TResult>, options: HandleOptions = {}): () => void {
    const ttl = options?.ttl ?? 0;
    if (typeof event !== 'string' || event === '') throw invalid('handle(): "event" must be a non-empty string');
    if (typeof handler !== 'function') throw invalid(`handle("${event}"): the handler must be a function, got ${typeof handler}`);
    if (ttl !== 0 && !isValidTimeout(ttl)) throw invalid(`handle("${event}"): "ttl" must be 0 or a number of ms from 1 to 2147483647, got ${String(ttl)}`);
    if (this.#handlers.has(event)) throw invalid(`handle("${event}"): a handler is already registered; unregister it first`);
    return this.#handlers.register(event, handler as DelegationHandler, ttl);
  }

  /**
   * Sends `{ type: 'cluster2:notify', event, data }` to every worker subscribed to `event`; returns how
   * many. Throws `ERR_CLUSTER2_MESSAGE_TOO_LARGE` when the message exceeds `maxMessageSize`.
   */
  notify(event: string, data?: unknown): number {
    if (typeof event !== 'string' || event === '') throw invalid('notify(): "event" must be a non-empty string');
    const message = { type: NOTIFY_TYPE, event, data };
    if (measureSize(message, this.#maxMessageSize) > this.#maxMessageSize)
      throw tooLarge(`notify("${event}")`, measureWholeSize(message), this.#maxMessageSize);
    let sent = 0;
    for (const pid of this.#subscribers.of(event)) if (this.#trySend(pid, message)) sent++;
    return sent;
  }

  /** Stops routing: drops every pending request, listener, handler, cache entry and subscription. */
  close(): void {
    this.#closed = true;
    this.#throttle.clear();
    for (const pending of [...this.#pending.values()]) pending.dispose();
    this.#handlers.clear();
    this.#subscribers.clear();
  }

  /** Requests waiting for an answer, plus `notification` requests still forwarding answers. */
  pendingCount(): number {
    return this.#pending.size;
  }

  stats(): DelegationStats {
    return { pending: this.#pending.size, ...this.#refused };
  }

  /** Workers subscribed to `event`. */
  subscriberCount(event: string): number {
    return this.#subscribers.of(event).length;
  }

  /**
   * Node has already read and parsed it (a raw `process.send` cannot be stopped in the worker); the
   * master must not also emit it, run a handler on it, or echo it back as 0.4 error answers do.
   */
  #refuseTooLarge(pid: number, request: ParsedRequest): void {
    this.#refused.tooLarge++;
    const error = tooLarge(`delegation "${request.event}" from worker ${pid}`, measureWholeSize(request.message), this.#maxMessageSize);
    this.#throttle.report(`${pid}:too-large`, pid, `refused ${error.message}`, `oversized messages from worker ${pid}`);
    if (request.expect === undefined) return;
    const fields = pickFields(request.message, request.matches);
    const answer = { ...fields, type: request.expect, error: serializeError(error) };
    // The matched fields may be what made it large: then the error cannot be paired, and is not sent.
    if (measureSize(answer, this.#maxMessageSize) <= this.#maxMessageSize) this.#trySend(pid, answer);
  }

  #refuseTooMany(pid: number, request: ParsedRequest): void {
    this.#refused.tooManyPending++;
    const message = `worker ${pid} already has ${this.#maxPending} delegations pending (maxPendingDelegations); "${request.event}" refused`;
    this.#throttle.report(`${pid}:too-many`, pid, message, `delegations refused for worker ${pid} (too many pending)`);
    // Only what pairs the answer with its request: a worker flooding the master gets one small
    // answer per request, not each request echoed back (the master queues them while it does not read).
    const fields = pickFields(request.message, request.matches);
    this.#trySend(pid, { ...fields, type: request.expect!, error: { code: 'ERR_CLUSTER2_TOO_MANY_PENDING', message } });
  }

  #raw(pid: number, request: ParsedRequest): void {
    const expect = request.expect!;
    if (this.#emitter.listenerCount(request.event) === 0) {
      this.#sendError(pid, request, { code: 'ERR_CLUSTER2_NO_HANDLER', message: `the master has no handler for "${request.event}"` });
      return;
    }
    const onAnswer = (answer: unknown): void => this.#onAnswer(pending, request, answer);
    const pending = this.#track(pid, request, () => this.#unlisten(expect, onAnswer));
    // Listen before emitting: master code may answer synchronously from inside its listener.
    this.#listen(expect, onAnswer);
    const error = this.#emit(pid, request);
    if (error !== undefined && pending.active) {
      pending.dispose();
      this.#sendError(pid, request, serializeError(error));
    }
  }

  #listen(expect: string, onAnswer: (answer: unknown) => void): void {
    let group = this.#answerGroups.get(expect);
    if (group === undefined) {
      const waiting = new Set<(answer: unknown) => void>();
      // A copy: answering a request removes it from `waiting` while we iterate.
      const listener = (answer: unknown): void => [...waiting].forEach((waiter) => waiter(answer));
      this.#answerGroups.set(expect, (group = { listener, waiting }));
      this.#emitter.on(expect, listener);
    }
    group.waiting.add(onAnswer);
  }

  #unlisten(expect: string, onAnswer: (answer: unknown) => void): void {
    const group = this.#answerGroups.get(expect);
    if (group === undefined || !group.waiting.delete(onAnswer) || group.waiting.size > 0) return;
    this.#answerGroups.delete(expect);
    this.#emitter.removeListener(expect, group.listener);
  }

  #onAnswer(pending: Pending, request: ParsedRequest, answer: unknown): void {
    if (!pending.active) return;
    if (!isRecord(answer)) {
      this.#warn(`ignored a "${request.expect}" answer that is not an object`, pending.pid);
      return;
    }
    if (!request.matches.every((field) => isDeepStrictEqual(answer[field], request.message[field]))) return;
    if (request.notification) clearTimeout(pending.timer);
    else pending.dispose();
    const reply = { ...answer, ...pickFields(request.message, request.matches), type: request.expect! };
    this.#deliver(pending.pid, request, reply);
  }

  #typed(pid: number, request: ParsedRequest): void {
    const context = { pid, event: request.event };
    const payload = request.message.payload;
    if (request.expect === undefined) {
      // Fire-and-forget to a typed handler: nobody hears the result, but a failure is still reported.
      this.#handlers.run(request.event, payload, context, (outcome) => {
        if ('error' in outcome) this.#warn(`handler for "${request.event}" failed: ${outcome.error.message}`, pid);
      });
      return;
    }
    let detach = (): void => {};
    const pending = this.#track(pid, request, () => detach());
    detach = this.#handlers.run(request.event, payload, context, (outcome) => {
      pending.dispose();
      this.#answerTyped(pid, request, outcome);
    });
  }

  #answerTyped(pid: number, request: ParsedRequest, outcome: Outcome): void {
    // Built in place rather than spread: this runs once per typed delegation, in the one master.
    const reply: ReplyMessage = pickFields(request.message, request.matches) as ReplyMessage;
    reply.type = request.expect!;
    if ('error' in outcome) reply.error = outcome.error;
    else reply.result = outcome.result;
    this.#deliver(pid, request, reply);
  }

  /** Registers a pending request with its timeout; `cleanup` undoes whatever else it set up. */
  #track(pid: number, request: ParsedRequest, cleanup: () => void): Pending {
    const id = ++this.#nextId;
    const timer = setTimeout(() => {
      pending.dispose();
      const message = `no answer to "${request.event}" within ${request.timeout} ms`;
      this.#sendError(pid, request, { code: 'ERR_CLUSTER2_DELEGATE_TIMEOUT', message });
    }, request.timeout);
    // The master stays up for its workers, not for a pending answer.
    timer.unref();
    this.#pendingOf.set(pid, (this.#pendingOf.get(pid) ?? 0) + 1);
    const pending: Pending = {
      pid,
      active: true,
      timer,
      dispose: () => {
        if (!pending.active) return;
        pending.active = false;
        this.#pending.delete(id);
        const left = this.#pendingOf.get(pid)! - 1;
        if (left === 0) this.#pendingOf.delete(pid);
        else this.#pendingOf.set(pid, left);
        clearTimeout(timer);
        cleanup();
      },
    };
    this.#pending.set(id, pending);
    return pending;
  }

  /** Emits the request on the Cluster; a listener that throws must not take the master down. */
  #emit(pid: number, request: ParsedRequest): unknown {
    try {
      if (!this.#emitter.emit(request.event, request.message, { pid })) debug('delegation "%s" from %d had no listener', request.event, pid);
      return undefined;
    } catch (error) {
      this.#warn(`a listener for "${request.event}" threw: ${errorMessage(error)}`, pid);
      return error;
    }
  }

  /** The 0.4 error answer: the request itself, sent back with `type: expect` and an `error`. */
  #sendError(pid: number, request: ParsedRequest, error: { code: string; message: string }): void {
    this.#trySend(pid, { ...request.message, type: request.expect!, error });
  }

  /** Sends an answer to the asker and its targets, each once. */
  #deliver(pid: number, request: ParsedRequest, reply: ReplyMessage): void {
    if (measureSize(reply, this.#maxMessageSize) > this.#maxMessageSize) reply = this.#answerTooLarge(pid, request, reply);
    const recipients = request.targets.length === 0 ? [pid] : new Set([pid, ...request.targets]);
    for (const to of recipients) {
      try {
        this.#send(to, reply);
      } catch (error) {
        // Usually an answer that cannot be serialised: say so now rather than let the worker time out.
        const message = `the answer to "${reply.type}" could not be sent: ${errorMessage(error)}`;
        this.#warn(message, to);
        const fields = pickFields(request.message, request.matches);
        if (reply.error === undefined) this.#trySend(to, { ...fields, type: reply.type, error: { code: 'ERR_CLUSTER2_HANDLER_FAILED', message } });
      }
    }
  }

  /** The error that replaces an answer over `maxMessageSize`, for the asker and its targets. */
  #answerTooLarge(pid: number, request: ParsedRequest, reply: ReplyMessage): ReplyMessage {
    this.#refused.answersTooLarge++;
    const error = tooLarge(`the answer to "${request.event}"`, measureWholeSize(reply), this.#maxMessageSize);
    this.#throttle.report(`${pid}:answer-too-large`, pid, `refused to send ${error.message}`, `oversized answers to worker ${pid}`);
    return { ...pickFields(request.message, request.matches), type: reply.type, error: serializeError(error) };
  }

  #trySend(pid: number, message: object): boolean {
    try {
      this.#send(pid, message);
      return true;
    } catch (error) {
      this.#warn(`could not send a delegation message to worker ${pid}: ${errorMessage(error)}`, pid);
      return false;
    }
  }
}

function invalid(message: string): Cluster2Error {
  return new Cluster2Error('ERR_CLUSTER2_INVALID_ARGUMENT', message);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
