// Bounded load through nginx: GET and POST loops over one undici Pool, most on keep-alive
// connections (one request per connection at a time), a few opening a new connection per request,
// each sending one request after another until stopped or a duration or count cap. undici does not retry: every failure nginx passes on is recorded.
import { Pool } from 'undici';

export interface Outcome {
  method: 'GET' | 'POST';
  /** false: a new connection to nginx for this request (Connection: close). */
  keepAlive: boolean;
  start: number;
  end: number;
  status?: number;
  /** Which cluster2 instance answered (x-instance). */
  instance?: string;
  /** The body length the app received (x-body-length): a POST must arrive whole. */
  bodyLength?: number;
  /** Client-side error code when there was no complete answer (UND_ERR_SOCKET, ECONNRESET, …). */
  error?: string;
}

export interface Summary {
  sent: number;
  succeeded: number;
  failed: number;
  byMethod: Record<string, number>;
  byInstance: Record<string, number>;
  failures: Record<string, number>;
}

/** A POST body of 2 KiB: nginx buffers it and sends it whole, so a retry could resend it. */
export const POST_BODY = 'x'.repeat(2048);

export interface LoadOptions {
  port: number;
  /** Keep-alive loops of each method. */
  getLoops?: number;
  postLoops?: number;
  /** Loops of each method that open a new connection for every request. */
  closeLoops?: number;
  maxDurationMs?: number;
  maxRequests?: number;
}

export class Load {
  readonly outcomes: Outcome[] = [];
  readonly #pool: Pool;
  readonly #done: Promise<void>;
  readonly #maxRequests: number;
  #stopped = false;

  constructor({ port, getLoops = 4, postLoops = 4, closeLoops = 1, maxDurationMs = 60_000, maxRequests = 200_000 }: LoadOptions) {
    this.#maxRequests = maxRequests;
    this.#pool = new Pool(`http://127.0.0.1:${port}`, { connections: getLoops + postLoops + 2 * closeLoops, pipelining: 1 });
    const until = Date.now() + maxDurationMs;
    const loops = [
      ...Array.from({ length: getLoops }, () => this.#loop('GET', true, until)),
      ...Array.from({ length: postLoops }, () => this.#loop('POST', true, until)),
      ...Array.from({ length: closeLoops }, () => this.#loop('GET', false, until)),
      ...Array.from({ length: closeLoops }, () => this.#loop('POST', false, until)),
    ];
    this.#done = Promise.all(loops).then(() => this.#pool.close());
  }

  async #loop(method: 'GET' | 'POST', keepAlive: boolean, until: number): Promise<void> {
    while (!this.#stopped && Date.now() < until && this.outcomes.length < this.#maxRequests) {
      this.outcomes.push(await this.#one(method, keepAlive));
    }
  }

  async #one(method: 'GET' | 'POST', keepAlive: boolean): Promise<Outcome> {
    const start = Date.now();
    try {
      const res = await this.#pool.request({
        path: '/?ms=5',
        method,
        body: method === 'POST' ? POST_BODY : undefined,
        headers: method === 'POST' ? { 'content-type': 'text/plain' } : {},
        // reset: send Connection: close, and use the connection for this request only.
        reset: !keepAlive,
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      await res.body.text();
      const length = res.headers['x-body-length'];
      return {
        method,
        keepAlive,
        start,
        end: Date.now(),
        status: res.statusCode,
        instance: res.headers['x-instance'] as string | undefined,
        bodyLength: length === undefined ? undefined : Number(length),
      };
    } catch (error) {
      return { method, keepAlive, start, end: Date.now(), error: (error as NodeJS.ErrnoException).code ?? (error as Error).message };
    }
  }

  /** Requests sent after `time` (ms since epoch). */
  since(time: number): Outcome[] {
    return this.outcomes.filter((o) => o.start > time);
  }

  /** Stops every loop after its current request; resolves once all have finished. */
  async stop(): Promise<Summary> {
    this.#stopped = true;
    await this.#done;
    return summarize(this.outcomes);
  }
}

export function succeeded(o: Outcome): boolean {
  const intact = o.method === 'GET' ? o.bodyLength === 0 : o.bodyLength === POST_BODY.length;
  return o.status === 200 && o.error === undefined && (o.instance === 'A' || o.instance === 'B') && intact;
}

export function summarize(outcomes: Outcome[]): Summary {
  const byMethod: Record<string, number> = {};
  const byInstance: Record<string, number> = {};
  const failures: Record<string, number> = {};
  let ok = 0;
  for (const o of outcomes) {
    byMethod[o.method] = (byMethod[o.method] ?? 0) + 1;
    if (succeeded(o)) {
      ok++;
      byInstance[o.instance!] = (byInstance[o.instance!] ?? 0) + 1;
    } else {
      const key = `${o.keepAlive ? 'keep-alive' : 'close'} ${o.method} ${o.status ?? '-'} ${o.error ?? ''}`.trim();
      failures[key] = (failures[key] ?? 0) + 1;
    }
  }
  return { sent: outcomes.length, succeeded: ok, failed: outcomes.length - ok, byMethod, byInstance, failures };
}
