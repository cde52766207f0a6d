import { Cluster2Error, type SerializedError } from '../errors.js';
import { formatBytes } from '../ipc/size.js';

/**
 * The delegation wire format. Requests are the cluster2 0.4 format, sent raw with `process.send`
 * (no `{ cluster2: 1 }` envelope), so 0.4 worker code keeps working unchanged:
 * `{ type: 'delegate', delegate, expect?, matches?, timeout? | timeOut?, notification?, targets?, …fields }`.
 * Answers go back raw too, as `{ …answer, type: <expect> }`.
 */

/** `type` of every delegation request. */
export const DELEGATE_TYPE = 'delegate';
/**
 * `expect` of the typed sugar: `delegate()` asks with `matches: ['requestId']` and is answered with
 * `{ type: REPLY_TYPE, requestId, result }` or `{ type: REPLY_TYPE, requestId, error }`.
 */
export const REPLY_TYPE = 'cluster2:reply';
/** Worker → master: `{ type: SUBSCRIBE_TYPE, event }`, sent when a worker's first listener for `event` is added. */
export const SUBSCRIBE_TYPE = 'cluster2:subscribe';
/** Worker → master: `{ type: UNSUBSCRIBE_TYPE, event }`, sent when its last listener for `event` is removed. */
export const UNSUBSCRIBE_TYPE = 'cluster2:unsubscribe';
/** Master → worker: `{ type: NOTIFY_TYPE, event, data }`, what `notify()` sends to each subscribed worker. */
export const NOTIFY_TYPE = 'cluster2:notify';
/** How long a request waits for its answer when it names no `timeout`. @default 10000 ms */
export const DEFAULT_DELEGATE_TIMEOUT = 10_000;
/** setTimeout fires at once past this, so longer timeouts are refused rather than silently broken. */
export const MAX_DELEGATE_TIMEOUT = 2 ** 31 - 1;
/** EventEmitter gives these names special meaning; a worker may never make the master emit or listen to them. */
export const ALWAYS_RESERVED = Object.freeze(['error', 'newListener', 'removeListener']);

/** A delegation request as it travels. */
export interface DelegateRequest {
  type: typeof DELEGATE_TYPE;
  /** The event the master emits (or the typed handler it runs). */
  delegate: string;
  /** The event the master's answer is emitted as, and the `type` the worker receives it with. */
  expect?: string;
  /** Fields an answer must share (deep-equal) with the request to be delivered. */
  matches?: string[];
  /** ms. @default 10000 */
  timeout?: number;
  /** 0.4 spelling of `timeout`; `timeout` wins when both are present. */
  timeOut?: number;
  /** Keep delivering later matching answers (until the asking worker exits). @default false */
  notification?: boolean;
  /** Other worker pids that receive the answer too. */
  targets?: number[];
  [field: string]: unknown;
}

/** A request after validation, with its defaults applied. */
export interface ParsedRequest {
  message: DelegateRequest;
  event: string;
  expect: string | undefined;
  matches: string[];
  /** ms */
  timeout: number;
  notification: boolean;
  targets: number[];
}

/** An answer on the wire: the answer's fields plus `type: expect`; typed replies carry `result` or `error`. */
export interface ReplyMessage {
  type: string;
  result?: unknown;
  error?: SerializedError;
  [field: string]: unknown;
}

/** `ERR_CLUSTER2_MESSAGE_TOO_LARGE` for `what` (e.g. `delegate("event")`), naming its size and the limit. */
export function tooLarge(what: string, size: number, limit: number): Cluster2Error {
  return new Cluster2Error(
    'ERR_CLUSTER2_MESSAGE_TOO_LARGE',
    `${what}: the message is about ${formatBytes(size)}, more than maxMessageSize (${formatBytes(limit)}); send a reference (a key, a path) instead of the data, or raise maxMessageSize`,
  );
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates a `type: 'delegate'` message. Returns what is wrong with it as a string, so the router
 * can warn and drop it: a malformed message from one worker must never throw in the master.
 */
export function parseRequest(message: Record<string, unknown>, reserved: ReadonlySet<string>): ParsedRequest | string {
  // 0.4 clients may send explicit nulls for options they leave out.
  const expect = message.expect ?? undefined;
  const matches = message.matches ?? undefined;
  const notification = message.notification ?? undefined;
  const targets = message.targets ?? undefined;
  const timeout = message.timeout ?? message.timeOut ?? undefined;
  const event = message.delegate;
  if (typeof event !== 'string' || event === '') return `"delegate" must be a non-empty string, got ${describe(event)}`;
  if (reserved.has(event)) return `"delegate" may not name the reserved event "${event}"`;
  if (expect !== undefined && (typeof expect !== 'string' || expect === '')) return `"expect" must be a non-empty string, got ${describe(expect)}`;
  // Listening for the event it emits, the request would answer itself.
  if (expect === event) return `"expect" must differ from "delegate" ("${event}")`;
  if (expect !== undefined && reserved.has(expect)) return `"expect" may not name the reserved event "${expect}"`;
  if (matches !== undefined && !isStringArray(matches)) return `"matches" must be an array of field names, got ${describe(matches)}`;
  if (notification !== undefined && typeof notification !== 'boolean') return `"notification" must be a boolean, got ${describe(notification)}`;
  if (targets !== undefined && !isPidArray(targets)) return `"targets" must be an array of pids, got ${describe(targets)}`;
  if (timeout !== undefined && !isValidTimeout(timeout)) return `"timeout" must be a number of ms from 1 to ${MAX_DELEGATE_TIMEOUT}, got ${describe(timeout)}`;
  return {
    message: message as DelegateRequest,
    event,
    expect,
    matches: matches ?? [],
    timeout: timeout ?? DEFAULT_DELEGATE_TIMEOUT,
    notification: notification ?? false,
    targets: targets ?? [],
  };
}

export function isValidTimeout(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 1 && value <= MAX_DELEGATE_TIMEOUT;
}

/** The request's own values of its `matches` fields, copied onto every answer so the worker can pair them. */
export function pickFields(source: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const field of fields) if (field in source) picked[field] = source[field];
  return picked;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isPidArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((item) => Number.isSafeInteger(item) && (item as number) > 0);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : typeof value;
}
