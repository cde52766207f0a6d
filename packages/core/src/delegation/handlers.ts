import { isDeepStrictEqual } from 'node:util';
import { serializeError, type SerializedError } from '../errors.js';
import type { DelegationHandler, HandlerContext } from './types.js';

/** How a handler run ended, in a form that can cross IPC. */
export type Outcome = { result: unknown } | { error: SerializedError };

/** Called once with the outcome of the run a request was attached to. */
export type Settle = (outcome: Outcome) => void;

interface Keyed {
  payload: unknown;
}

interface Flight extends Keyed {
  waiters: Set<Settle>;
}

interface Cached extends Keyed {
  result: unknown;
  timer: NodeJS.Timeout;
}

interface Entry {
  handler: DelegationHandler;
  ttl: number;
  /** Runs still going, bucketed by a payload key; within a bucket the payload is compared deeply. */
  flights: Map<string, Flight[]>;
  cache: Map<string, Cached[]>;
}

const noop = (): void => {};

/**
 * The master's typed handlers, one per event, with coalescing: a request whose event and payload
 * deep-equal those of a run still going joins that run instead of starting another, and with a
 * `ttl` a finished run's result answers identical requests for that long.
 */
export class HandlerTable {
  readonly #entries = new Map<string, Entry>();

  has(event: string): boolean {
    return this.#entries.has(event);
  }

  /** Registers `handler`; the returned function unregisters it (and only it) and drops its cache. */
  register(event: string, handler: DelegationHandler, ttl: number): () => void {
    const entry: Entry = { handler, ttl, flights: new Map(), cache: new Map() };
    this.#entries.set(event, entry);
    return () => {
      if (this.#entries.get(event) !== entry) return;
      this.#entries.delete(event);
      dropCache(entry);
    };
  }

  /**
   * Attaches `settle` to a run of the handler for `payload`: the cached result, a run already going,
   * or a new run. Returns the function that detaches it again (timeout, worker exit); `settle` may be
   * called before `run` returns (cache hit).
   */
  run(event: string, payload: unknown, context: HandlerContext, settle: Settle): () => void {
    const entry = this.#entries.get(event);
    if (entry === undefined) throw new Error(`no handler for "${event}"`);
    const key = payloadKey(payload);
    const cached = find(entry.cache, key, payload);
    if (cached !== undefined) {
      settle({ result: cached.result });
      return noop;
    }
    const flight = find(entry.flights, key, payload) ?? this.#start(event, entry, key, payload, context);
    flight.waiters.add(settle);
    return () => {
      flight.waiters.delete(settle);
      // Nobody waits any more: let the next identical request start afresh rather than join a run
      // that may hang forever. The abandoned run still finishes (and may fill the cache).
      if (flight.waiters.size === 0) remove(entry.flights, key, flight);
    };
  }

  /** Unregisters every handler and drops every cache timer. */
  clear(): void {
    for (const entry of this.#entries.values()) dropCache(entry);
    this.#entries.clear();
  }

  #start(event: string, entry: Entry, key: string, payload: unknown, context: HandlerContext): Flight {
    const flight: Flight = { payload, waiters: new Set() };
    add(entry.flights, key, flight);
    // Deferred so a handler that throws synchronously is reported like one that rejects.
    Promise.resolve()
      .then(() => entry.handler(payload, context))
      .then(
        (result) => this.#finish(event, entry, key, flight, { result }),
        (error: unknown) => this.#finish(event, entry, key, flight, { error: serializeError(error) }),
      );
    return flight;
  }

  #finish(event: string, entry: Entry, key: string, flight: Flight, outcome: Outcome): void {
    remove(entry.flights, key, flight);
    if ('result' in outcome && entry.ttl > 0 && this.#entries.get(event) === entry) {
      cache(entry, key, flight.payload, outcome.result);
    }
    const waiters = [...flight.waiters];
    flight.waiters.clear();
    for (const settle of waiters) settle(outcome);
  }
}

function cache(entry: Entry, key: string, payload: unknown, result: unknown): void {
  const cached: Cached = { payload, result, timer: setTimeout(() => remove(entry.cache, key, cached), entry.ttl) };
  // A cache entry is no reason to keep the process alive.
  cached.timer.unref();
  add(entry.cache, key, cached);
}

function dropCache(entry: Entry): void {
  for (const bucket of entry.cache.values()) for (const cached of bucket) clearTimeout(cached.timer);
  entry.cache.clear();
}

/**
 * A stable key for a payload: JSON with sorted object keys, so `{a, b}` and `{b, a}` share a bucket.
 * Values JSON cannot tell apart (Map, Set, …, possible in-process) may share a key; `find` compares
 * deeply inside the bucket, so they never share a result.
 */
export function payloadKey(payload: unknown): string {
  try {
    return JSON.stringify(payload, sortKeys) ?? 'undefined';
  } catch {
    // Cyclic payloads (possible in-process): one bucket, told apart by the deep comparison.
    return '\u0000unkeyable';
  }
}

function sortKeys(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = (value as Record<string, unknown>)[key];
  return sorted;
}

function find<T extends Keyed>(map: Map<string, T[]>, key: string, payload: unknown): T | undefined {
  return map.get(key)?.find((item) => isDeepStrictEqual(item.payload, payload));
}

function add<T>(map: Map<string, T[]>, key: string, item: T): void {
  const bucket = map.get(key);
  if (bucket === undefined) map.set(key, [item]);
  else bucket.push(item);
}

function remove<T>(map: Map<string, T[]>, key: string, item: T): void {
  const bucket = map.get(key);
  if (bucket === undefined) return;
  const index = bucket.indexOf(item);
  if (index !== -1) bucket.splice(index, 1);
  if (bucket.length === 0) map.delete(key);
}
