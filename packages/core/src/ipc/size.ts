/** Default of the `maxMessageSize` option: 1 MiB. */
export const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024;

/**
 * About how many bytes `value` takes as the JSON text node's IPC sends it as: strings count by their
 * length plus quotes, keys likewise, other values by a small constant. Close enough for a limit
 * (escapes and multi-byte characters are undercounted), and cheaper than serialising a second time:
 * a 160–230 byte delegation request measured 0.3–0.8 µs, against 1.4–3.2 µs for the JSON.stringify
 * node's IPC does anyway.
 *
 * Stops as soon as the count passes `budget` and returns what it counted so far (a lower bound), so a
 * 50 MB message costs no more to refuse than a 1 MiB one, and a cyclic value (possible with
 * `serialization: 'advanced'` or in one process) cannot loop forever.
 */
export function measureSize(value: unknown, budget: number): number {
  const walker: Walker = { total: 0, budget, seen: undefined };
  add(walker, value);
  return walker.total;
}

/**
 * The whole size, for the error message once a value is known to be too large: each object is
 * counted once (a cycle cannot loop), at the cost of a Set the small-message path does without.
 */
export function measureWholeSize(value: unknown): number {
  const walker: Walker = { total: 0, budget: Number.POSITIVE_INFINITY, seen: new Set() };
  add(walker, value);
  return walker.total;
}

interface Walker {
  total: number;
  budget: number;
  seen: Set<object> | undefined;
}

function add(walker: Walker, value: unknown): void {
  if (walker.total > walker.budget) return;
  switch (typeof value) {
    case 'string':
      walker.total += value.length + 2;
      return;
    case 'number':
    case 'bigint':
      walker.total += 8;
      return;
    case 'boolean':
      walker.total += 5;
      return;
    case 'object':
      break;
    default:
      // undefined, functions and symbols are left out of JSON (or become null in arrays).
      walker.total += 4;
      return;
  }
  if (value === null) {
    walker.total += 4;
    return;
  }
  if (walker.seen !== undefined) {
    if (walker.seen.has(value)) return;
    walker.seen.add(value);
  }
  if (ArrayBuffer.isView(value)) {
    // A Buffer travels as {"type":"Buffer","data":[1,2,…]}: up to 4 bytes per byte.
    walker.total += value.byteLength * 4 + 2;
    return;
  }
  if (Array.isArray(value)) {
    walker.total += 2;
    for (const item of value) {
      walker.total += 1;
      add(walker, item);
      if (walker.total > walker.budget) return;
    }
    return;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    // Dates and the like: what JSON.stringify would write (no own fields walked).
    add(walker, (value as { toJSON(): unknown }).toJSON());
    return;
  }
  walker.total += 2;
  for (const key of Object.keys(value)) {
    walker.total += key.length + 4;
    add(walker, (value as Record<string, unknown>)[key]);
    if (walker.total > walker.budget) return;
  }
}

/** `1048576 bytes (1 MiB)`-style wording for error messages. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${bytes} bytes (${(bytes / (1024 * 1024)).toFixed(1)} MiB)`;
  if (bytes >= 1024) return `${bytes} bytes (${(bytes / 1024).toFixed(1)} KiB)`;
  return `${bytes} bytes`;
}

/** Longest message an entry (and the `warning` event) carries, in characters. */
export const MAX_EVENT_MESSAGE = 1024;

/**
 * Cuts `message` to {@link MAX_EVENT_MESSAGE} characters, saying how long it was: a worker's 5 MB
 * warning must not become a 5 MB IPC message, status document, SSE frame and log line.
 */
export function truncateMessage(message: string): string {
  if (typeof message !== 'string') message = String(message);
  // Cut already (a worker's warning is cut in the worker, at the master and by the event log).
  if (message.length <= MAX_EVENT_MESSAGE || (message.length <= MAX_EVENT_MESSAGE + 40 && TRUNCATED.test(message))) return message;
  return `${message.slice(0, MAX_EVENT_MESSAGE)}… (${message.length} characters, truncated)`;
}

const TRUNCATED = /… \(\d+ characters, truncated\)$/;
