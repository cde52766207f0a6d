// The reliability suite's load driver: closed-loop lanes of four kinds against 127.0.0.1 only,
// bounded in count and time, recording every request's outcome and every socket's ending.
//
//   undici          keep-alive, an undici Pool (one connection per lane)
//   node-keepalive  keep-alive, a node:http Agent
//   fresh           a new connection per request (Connection: close)
//   slow            keep-alive node:http, GET /slow?ms=<slowMs> (headers first, body after slowMs)
//
// A request succeeds when it gets a 200 whose body is `ok <pid>` with the pid of its
// x-worker-pid header. Anything else is a failure, recorded with its status or error code.
import http from 'node:http';
import net from 'node:net';
import { Pool, buildConnector } from 'undici';

export type Lane = 'undici' | 'node-keepalive' | 'fresh' | 'slow';

export interface Outcome {
  id: number;
  lane: Lane;
  start: number;
  end: number;
  ok: boolean;
  status?: number;
  /** Error code (ECONNRESET, UND_ERR_SOCKET, ECONNREFUSED, TIMEOUT, …) when the request failed without an answer. */
  error?: string;
  /** The worker that answered (x-worker-pid), when the headers arrived. */
  pid?: number;
  /** When the response headers arrived (the slow lane gets them before its body). */
  headersAt?: number;
  /** node:http lanes: the worker a reused keep-alive socket was known to reach before this request. */
  socketPid?: number;
}

export interface SocketRecord {
  id: number;
  lane: Lane;
  openedAt: number;
  /** When the server's FIN arrived ('end'). */
  endAt?: number;
  closedAt?: number;
  hadError?: boolean;
  error?: string;
  /** The worker it last reached (node:http lanes). */
  pid?: number;
}

export interface LoadOptions {
  port: number;
  lanes?: Partial<Record<Lane, number>>;
  /** Duration of the slow lane's requests, ms. @default 500 */
  slowMs?: number;
  /** Stop issuing after this many requests. @default 200000 */
  maxRequests?: number;
  /** Stop issuing after this long, ms. @default 60000 */
  maxDuration?: number;
  /** A request with no answer for this long fails with TIMEOUT, ms. @default 10000 */
  requestTimeout?: number;
  /** Each lane starts a request at most every `pace` ms (0: back to back). @default 0 */
  pace?: number;
}

export const DEFAULT_LANES: Record<Lane, number> = { undici: 4, 'node-keepalive': 4, fresh: 3, slow: 2 };

const kRecord = Symbol('socketRecord');
type Tracked = net.Socket & { [kRecord]?: SocketRecord };

export class LoadDriver {
  readonly outcomes: Outcome[] = [];
  readonly sockets: SocketRecord[] = [];
  readonly #options: Required<Omit<LoadOptions, 'lanes'>> & { lanes: Record<Lane, number> };
  readonly #pending = new Set<Outcome>();
  #issuing = false;
  #startedAt = 0;
  #ids = 0;
  #loops: Promise<void>[] = [];
  readonly #pool: Pool;
  readonly #keepAliveAgent: http.Agent;
  readonly #slowAgent: http.Agent;
  readonly #freshAgent: http.Agent;

  constructor(options: LoadOptions) {
    this.#options = {
      slowMs: 500,
      maxRequests: 200_000,
      maxDuration: 60_000,
      requestTimeout: 10_000,
      pace: 0,
      ...options,
      lanes: { ...DEFAULT_LANES, ...options.lanes },
    };
    const origin = `http://127.0.0.1:${options.port}`;
    const connector = buildConnector({});
    this.#pool = new Pool(origin, {
      connections: Math.max(1, this.#options.lanes.undici),
      pipelining: 1,
      connect: (opts, callback) =>
        connector(opts, (...args) => {
          if (args[1]) this.#track(args[1], 'undici');
          callback(...args);
        }),
    });
    this.#keepAliveAgent = this.#agent('node-keepalive', this.#options.lanes['node-keepalive']);
    this.#slowAgent = this.#agent('slow', this.#options.lanes.slow);
    // keepAlive: false sends Connection: close and opens a new socket for every request.
    this.#freshAgent = this.#agent('fresh', this.#options.lanes.fresh, false);
  }

  /** Starts every lane. */
  start(): this {
    this.#issuing = true;
    this.#startedAt = Date.now();
    const { lanes } = this.#options;
    for (const lane of Object.keys(lanes) as Lane[]) {
      for (let i = 0; i < lanes[lane]; i++) this.#loops.push(this.#loop(lane));
    }
    return this;
  }

  /** Stops issuing new requests and resolves once those in flight have settled; keep-alive sockets stay open. */
  async quiesce(): Promise<void> {
    this.#issuing = false;
    await Promise.all(this.#loops);
  }

  /**
   * Sockets that were reset so far (check before stop(), which closes the rest): an ECONNRESET or
   * EPIPE, or any error on a socket that never received the server's FIN. undici destroys a socket
   * with an error of its own in two clean cases, which do not count: after a `Connection: close`
   * answer (UND_ERR_INFO), and when the server's FIN arrives while it is idle (UND_ERR_SOCKET
   * "other side closed", after 'end').
   */
  brokenSockets(): SocketRecord[] {
    return this.sockets.filter((s) => {
      if (s.error === 'ECONNRESET' || s.error === 'EPIPE') return true;
      if (s.error === 'UND_ERR_INFO') return false;
      return (s.error !== undefined || s.hadError === true) && s.endAt === undefined;
    });
  }

  /** Stops issuing, waits for what is in flight, then closes every client. */
  async stop(): Promise<Outcome[]> {
    await this.quiesce();
    this.#keepAliveAgent.destroy();
    this.#slowAgent.destroy();
    this.#freshAgent.destroy();
    await this.#pool.close().catch(() => {});
    return this.outcomes;
  }

  get issuing(): boolean {
    return this.#issuing;
  }

  /** Requests sent and not yet settled. */
  pending(): Outcome[] {
    return [...this.#pending];
  }

  /** Waits until at least `count` requests have settled. */
  async settled(count: number, timeout = 20_000): Promise<void> {
    const deadline = Date.now() + timeout;
    while (this.outcomes.length < count) {
      if (Date.now() > deadline) throw new Error(`load: only ${this.outcomes.length} of ${count} requests settled within ${timeout} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async #loop(lane: Lane): Promise<void> {
    while (this.#issuing) {
      if (this.#ids >= this.#options.maxRequests || Date.now() - this.#startedAt >= this.#options.maxDuration) {
        this.#issuing = false;
        break;
      }
      const lastStart = Date.now();
      const outcome: Outcome = { id: ++this.#ids, lane, start: lastStart, end: 0, ok: false };
      this.#pending.add(outcome);
      try {
        if (lane === 'undici') await this.#undici(outcome);
        else await this.#node(outcome);
      } catch (error) {
        outcome.error = errorCode(error);
      }
      outcome.end = Date.now();
      this.#pending.delete(outcome);
      this.outcomes.push(outcome);
      const wait = lastStart + this.#options.pace - Date.now();
      if (wait > 0 && this.#issuing) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  async #undici(outcome: Outcome): Promise<void> {
    const timeout = this.#options.requestTimeout;
    const { statusCode, headers, body } = await this.#pool.request({ path: '/', method: 'GET', headersTimeout: timeout, bodyTimeout: timeout });
    outcome.headersAt = Date.now();
    outcome.status = statusCode;
    outcome.pid = Number(headers['x-worker-pid']) || undefined;
    const text = await body.text();
    outcome.ok = statusCode === 200 && outcome.pid !== undefined && text === `ok ${outcome.pid}`;
  }

  #node(outcome: Outcome): Promise<void> {
    const { lane } = outcome;
    const agent = lane === 'fresh' ? this.#freshAgent : lane === 'slow' ? this.#slowAgent : this.#keepAliveAgent;
    const path = lane === 'slow' ? `/slow?ms=${this.#options.slowMs}` : '/';
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: this.#options.port,
        path,
        agent,
      });
      req.setTimeout(this.#options.requestTimeout, () => req.destroy(Object.assign(new Error('no answer in time'), { code: 'TIMEOUT' })));
      req.once('socket', (socket: Tracked) => {
        outcome.socketPid = socket[kRecord]?.pid;
      });
      req.once('response', (res) => {
        outcome.headersAt = Date.now();
        outcome.status = res.statusCode;
        outcome.pid = Number(res.headers['x-worker-pid']) || undefined;
        const socket: Tracked | null = req.socket;
        const record = socket?.[kRecord];
        if (record && outcome.pid) record.pid = outcome.pid;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.once('end', () => {
          outcome.ok = res.statusCode === 200 && outcome.pid !== undefined && text === `ok ${outcome.pid}`;
          resolve();
        });
        res.once('aborted', () => reject(Object.assign(new Error('response aborted'), { code: 'ECONNRESET' })));
        res.once('error', reject);
      });
      req.once('error', reject);
      req.end();
    });
  }

  #agent(lane: Lane, maxSockets: number, keepAlive = true): http.Agent {
    const agent = new http.Agent({ keepAlive, maxSockets: Math.max(1, maxSockets) });
    const track = (socket: net.Socket) => this.#track(socket, lane);
    (agent as unknown as { createConnection: typeof net.createConnection }).createConnection = ((options: net.NetConnectOpts) =>
      track(net.createConnection(options))) as typeof net.createConnection;
    return agent;
  }

  #track(socket: net.Socket, lane: Lane): net.Socket {
    const record: SocketRecord = { id: this.sockets.length + 1, lane, openedAt: Date.now() };
    (socket as Tracked)[kRecord] = record;
    this.sockets.push(record);
    socket.once('end', () => {
      record.endAt = Date.now();
    });
    socket.once('error', (error) => {
      record.error = errorCode(error);
    });
    socket.once('close', (hadError) => {
      record.closedAt = Date.now();
      record.hadError = hadError;
    });
    return socket;
  }
}

export function errorCode(error: unknown): string {
  const e = error as { code?: string; cause?: { code?: string }; message?: string };
  return e?.code ?? e?.cause?.code ?? e?.message ?? String(error);
}

/** Counts for a set of outcomes: failures by status or error code, and how many were resets. */
export function tally(outcomes: Outcome[]): { sent: number; succeeded: number; failed: number; resets: number; byKind: Record<string, number> } {
  const byKind: Record<string, number> = {};
  let succeeded = 0;
  let resets = 0;
  for (const o of outcomes) {
    if (o.ok) {
      succeeded++;
      continue;
    }
    const kind = o.error ?? `HTTP ${o.status}`;
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    if (o.error === 'ECONNRESET' || o.error === 'UND_ERR_SOCKET' || o.error === 'EPIPE') resets++;
  }
  return { sent: outcomes.length, succeeded, failed: outcomes.length - succeeded, resets, byKind };
}

/** Failed outcomes, compacted for an assertion message. */
export function describeFailures(outcomes: Outcome[], limit = 20): string[] {
  return outcomes
    .filter((o) => !o.ok)
    .slice(0, limit)
    .map((o) => `#${o.id} ${o.lane} ${o.error ?? `HTTP ${o.status}`} pid=${o.pid ?? '?'} socketPid=${o.socketPid ?? '?'} start=${o.start} end=${o.end}`);
}
