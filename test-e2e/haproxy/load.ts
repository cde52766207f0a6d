// Continuous, bounded load through HAProxy: a fixed number of keep-alive loops (one shared
// http.Agent with keepAlive) and of Connection: close loops (agent: false), each sending one request
// after another until stopped, a duration cap or a count cap. Every request's outcome is recorded.
import http from 'node:http';

export interface Outcome {
  /** When the request was sent and when its outcome was known (ms since epoch). */
  start: number;
  end: number;
  keepAlive: boolean;
  status?: number;
  /** Which cluster2 instance answered (x-instance). */
  instance?: string;
  /** Client-side error code (ECONNRESET, …) when there was no complete answer. */
  error?: string;
}

export interface LoadOptions {
  port: number;
  path?: string;
  keepAliveLoops?: number;
  closeLoops?: number;
  /** Hard caps, so a stuck test cannot load the machine forever. */
  maxDurationMs?: number;
  maxRequests?: number;
}

export interface Summary {
  sent: number;
  succeeded: number;
  failed: number;
  byInstance: Record<string, number>;
  failures: Record<string, number>;
}

export class Load {
  readonly outcomes: Outcome[] = [];
  readonly #agent = new http.Agent({ keepAlive: true });
  readonly #options: Required<LoadOptions>;
  readonly #done: Promise<void>;
  #stopped = false;

  constructor(options: LoadOptions) {
    this.#options = { path: '/?ms=5', keepAliveLoops: 8, closeLoops: 8, maxDurationMs: 30_000, maxRequests: 200_000, ...options };
    const until = Date.now() + this.#options.maxDurationMs;
    const loops = [
      ...Array.from({ length: this.#options.keepAliveLoops }, () => this.#loop(true, until)),
      ...Array.from({ length: this.#options.closeLoops }, () => this.#loop(false, until)),
    ];
    this.#done = Promise.all(loops).then(() => this.#agent.destroy());
  }

  async #loop(keepAlive: boolean, until: number): Promise<void> {
    while (!this.#stopped && Date.now() < until && this.outcomes.length < this.#options.maxRequests) {
      this.outcomes.push(await this.#one(keepAlive));
    }
  }

  #one(keepAlive: boolean): Promise<Outcome> {
    const start = Date.now();
    return new Promise((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: this.#options.port, path: this.#options.path, agent: keepAlive ? this.#agent : false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ start, end: Date.now(), keepAlive, status: res.statusCode, instance: res.headers['x-instance'] as string | undefined }));
        res.on('error', (error: NodeJS.ErrnoException) =>
          resolve({ start, end: Date.now(), keepAlive, status: res.statusCode, error: error.code ?? error.message }),
        );
      });
      req.setTimeout(10_000, () => req.destroy(Object.assign(new Error('client timeout'), { code: 'TIMEOUT' })));
      req.on('error', (error: NodeJS.ErrnoException) => resolve({ start, end: Date.now(), keepAlive, error: error.code ?? error.message }));
      req.end();
    });
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
  return o.status === 200 && o.error === undefined && (o.instance === 'A' || o.instance === 'B');
}

export function summarize(outcomes: Outcome[]): Summary {
  const byInstance: Record<string, number> = {};
  const failures: Record<string, number> = {};
  let ok = 0;
  for (const o of outcomes) {
    if (succeeded(o)) {
      ok++;
      byInstance[o.instance!] = (byInstance[o.instance!] ?? 0) + 1;
    } else {
      const key = `${o.keepAlive ? 'keep-alive' : 'close'} ${o.status ?? '-'} ${o.error ?? ''}`.trim();
      failures[key] = (failures[key] ?? 0) + 1;
    }
  }
  return { sent: outcomes.length, succeeded: ok, failed: outcomes.length - ok, byInstance, failures };
}
