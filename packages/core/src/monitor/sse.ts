import type { IncomingMessage, ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import { HttpError } from './http-util.js';
import type { LifecycleEvent, LogRecord } from '../status.js';
import type { MonitorSource } from './source.js';

const debug = debuglog('cluster2');

/** Timings of the event stream; the defaults are the documented ones (tests shorten them). */
export interface SseTimings {
  /** Comment line sent to every client this often, so proxies keep the stream open, ms. @default 15000 */
  keepAliveMs?: number;
  /** At most one `status` event per this interval, ms. @default 1000 */
  minStatusIntervalMs?: number;
  /** Streams open at once (`limits.eventStreams`); more are answered 503. @default 32 */
  maxClients?: number;
  /** A stream is ended this long after it opened (`limits.eventStreamLifetime`), ms. @default 300000 */
  lifetimeMs?: number;
}

/** An ended stream's socket is cut this long after its end if the client has not taken it, ms. */
const CLOSE_GRACE_MS = 1000;

/** EventSource reconnects this long after a stream ends (the `retry:` field), ms. */
const RECONNECT_MS = 3000;

/** Captured lines sent to each stream per window at most; the rest are counted in one `logs-skipped` event. */
export const MAX_LOG_RECORDS_PER_WINDOW = 200;
/** The window of that budget, ms. */
export const LOG_WINDOW_MS = 100;

/** A client that stops reading is dropped once this much is queued for it, bytes. */
const MAX_BACKLOG_BYTES = 1024 * 1024;

/**
 * Fans the source's events out to every `GET /api/events` client. It listens to the source
 * only while at least one client is connected, so a monitor nobody watches costs nothing and
 * a departed client leaves no listener behind.
 */
export class SseHub {
  readonly #source: MonitorSource;
  readonly #keepAliveMs: number;
  readonly #minStatusIntervalMs: number;
  readonly #maxClients: number;
  readonly #lifetimeMs: number;
  /** Each open stream and the timer that ends it once its lifetime is over. */
  readonly #clients = new Map<ServerResponse, NodeJS.Timeout>();
  #keepAlive: NodeJS.Timeout | undefined;
  #pendingStatus: NodeJS.Timeout | undefined;
  #lastStatusAt = 0;
  /** The log budget: every stream gets the same records, so one window serves them all. */
  #logWindowStart = 0;
  #logsSentInWindow = 0;
  #logsSkipped = 0;
  #pendingSkipped: NodeJS.Timeout | undefined;

  constructor(source: MonitorSource, timings: SseTimings = {}) {
    this.#source = source;
    this.#keepAliveMs = timings.keepAliveMs ?? 15_000;
    this.#minStatusIntervalMs = timings.minStatusIntervalMs ?? 1_000;
    this.#maxClients = timings.maxClients ?? 32;
    this.#lifetimeMs = timings.lifetimeMs ?? 300_000;
  }

  /** Clients connected now. */
  get size(): number {
    return this.#clients.size;
  }

  /** Turns `res` into an event stream: headers, the full status, then live events. */
  add(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'HEAD' && this.#clients.size >= this.#maxClients) {
      // Each stream holds a socket of the master's for as long as the client likes: bound them.
      this.#source.countRefused?.('eventStreams');
      throw new HttpError(503, 'TOO_MANY_STREAMS', `${this.#maxClients} event streams are open already (limits.eventStreams); retry later`, {
        'retry-after': String(Math.ceil(RECONNECT_MS / 1000)),
        connection: 'close',
      });
    }
    // Read first: if status() throws, the router can still answer 500 before headers go out.
    const initial = this.#source.status();
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no', // nginx would otherwise buffer the stream
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.write(`retry: ${RECONNECT_MS}\n\n`);
    this.#send(res, frame('status', initial));
    if (this.#clients.size === 0) this.#subscribe();
    // Ended, not cut: an EventSource reconnects by itself and gets a fresh status; a client that
    // went away without closing (or never reads) gives its socket back.
    const expire = setTimeout(() => {
      this.#remove(res);
      res.end();
      // The socket too (the stream went out as keep-alive); one that will not take the end is cut.
      const socket = res.socket;
      socket?.end();
      setTimeout(() => socket?.destroy(), CLOSE_GRACE_MS).unref();
    }, this.#lifetimeMs).unref();
    this.#clients.set(res, expire);
    res.on('close', () => this.#remove(res));
  }

  /** Ends every stream (the server is closing). */
  closeAll(): void {
    for (const res of [...this.#clients.keys()]) {
      res.end();
      this.#remove(res);
    }
  }

  readonly #onLifecycle = (event: LifecycleEvent): void => {
    this.#broadcast('lifecycle', event);
    // A lifecycle change (fork, death, ECV flip) alters the table: show it without waiting for a heartbeat.
    this.#scheduleStatus();
  };

  readonly #onHeartbeat = (): void => this.#scheduleStatus();

  /**
   * Relays a batch of captured lines within the budget. A chatty app can print far faster than a
   * browser can render: past the budget a stream gets how many lines it missed, not the lines.
   */
  readonly #onLogs = (records: LogRecord[]): void => {
    if (!Array.isArray(records) || records.length === 0) return;
    const now = Date.now();
    if (now - this.#logWindowStart >= LOG_WINDOW_MS) {
      this.#flushSkipped();
      this.#logWindowStart = now;
      this.#logsSentInWindow = 0;
    }
    const room = Math.max(0, MAX_LOG_RECORDS_PER_WINDOW - this.#logsSentInWindow);
    const sent = records.length <= room ? records : records.slice(0, room);
    if (sent.length > 0) {
      this.#logsSentInWindow += sent.length;
      this.#broadcast('logs', sent);
    }
    if (sent.length < records.length) {
      this.#logsSkipped += records.length - sent.length;
      // One event per window, sent when it closes, however many batches overflowed it.
      this.#pendingSkipped ??= setTimeout(() => this.#flushSkipped(), this.#logWindowStart + LOG_WINDOW_MS - now).unref();
    }
  };

  #flushSkipped(): void {
    clearTimeout(this.#pendingSkipped);
    this.#pendingSkipped = undefined;
    if (this.#logsSkipped === 0) return;
    const skipped = this.#logsSkipped;
    this.#logsSkipped = 0;
    this.#broadcast('logs-skipped', { skipped });
  }

  #subscribe(): void {
    this.#source.on('lifecycle', this.#onLifecycle);
    this.#source.on('heartbeat', this.#onHeartbeat);
    this.#source.on('logs', this.#onLogs);
    this.#keepAlive = setInterval(() => this.#ping(), this.#keepAliveMs).unref();
  }

  #unsubscribe(): void {
    this.#source.off('lifecycle', this.#onLifecycle);
    this.#source.off('heartbeat', this.#onHeartbeat);
    this.#source.off('logs', this.#onLogs);
    clearInterval(this.#keepAlive);
    clearTimeout(this.#pendingStatus);
    clearTimeout(this.#pendingSkipped);
    this.#keepAlive = undefined;
    this.#pendingStatus = undefined;
    this.#pendingSkipped = undefined;
    this.#logsSkipped = 0;
  }

  #remove(res: ServerResponse): void {
    const expire = this.#clients.get(res);
    if (expire === undefined) return;
    clearTimeout(expire);
    this.#clients.delete(res);
    if (this.#clients.size === 0) this.#unsubscribe();
  }

  /** Sends status now, or once the throttle interval has passed (one trailing send for a burst). */
  #scheduleStatus(): void {
    if (this.#pendingStatus !== undefined) return;
    const wait = this.#lastStatusAt + this.#minStatusIntervalMs - Date.now();
    if (wait <= 0) {
      this.#sendStatus();
      return;
    }
    this.#pendingStatus = setTimeout(() => {
      this.#pendingStatus = undefined;
      this.#sendStatus();
    }, wait).unref();
  }

  #sendStatus(): void {
    this.#lastStatusAt = Date.now();
    try {
      this.#broadcast('status', this.#source.status());
    } catch (error) {
      // A failing status() must not take the monitor down; the next heartbeat retries.
      debug('monitor: status() failed: %s', (error as Error).message);
    }
  }

  #broadcast(event: string, data: unknown): void {
    const text = frame(event, data);
    for (const res of [...this.#clients.keys()]) this.#send(res, text);
  }

  #ping(): void {
    for (const res of [...this.#clients.keys()]) this.#send(res, `: ping ${Date.now()}\n\n`);
  }

  #send(res: ServerResponse, text: string): void {
    if (res.writableLength > MAX_BACKLOG_BYTES) {
      debug('monitor: dropping an event-stream client that stopped reading');
      res.destroy();
      this.#remove(res);
      return;
    }
    res.write(text);
  }
}

/** One SSE frame; JSON.stringify escapes newlines, so `data` stays on one line. */
function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
