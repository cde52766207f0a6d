import net from 'node:net';
import { Cluster2Error } from '../errors.js';

/**
 * Finds the servers an unmodified app creates. From the constructor on, every net.Server (http,
 * https, tls, net, and whatever Express, Fastify, Koa, NestJS or Next.js build on them) that calls
 * listen() is handed to `adopt` before its listen() runs, so its first connection is already
 * counted and its drain is cluster2's.
 *
 * It patches net.Server.prototype.listen for the life of the process: a worker runs one app, and
 * a server the app creates late (an admin port opened after a database connects) is adopted too.
 */
export class ServerAdoption {
  readonly #adopted: net.Server[] = [];
  /** Adopted servers whose listen() has not yet succeeded or failed. */
  readonly #pending = new Set<net.Server>();
  #listeningCount = 0;
  #settled: (() => void) | undefined;

  readonly #report: (message: string) => void;

  /** `report` tells the master (a warning) why a server could not listen. */
  constructor(adopt: (server: net.Server) => void, report: (message: string) => void) {
    this.#report = report;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the app's server as `this`
    const original = net.Server.prototype.listen;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the patched method's own `this` is the app's server
    const adoption = this;
    net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]) {
      if (!adoption.#adopted.includes(this)) {
        adoption.#adopted.push(this);
        adopt(this);
        adoption.#watch(this);
      }
      return original.apply(this, args as Parameters<typeof original>);
    } as typeof original;
  }

  /** The adopted servers, in the order they first called listen(). */
  get servers(): readonly net.Server[] {
    return this.#adopted;
  }

  /**
   * Resolves once a server listens and every server that called listen() by then has listened or
   * failed (an app's http and https servers, or its public and admin ports, started side by side).
   * A server the app starts later is adopted too, without being waited for. Rejects after
   * `timeoutMs` with what the app did instead.
   */
  whenListening(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const why = this.#adopted.length === 0 ? 'it created no server that called listen()' : 'its servers called listen() but none was listening';
        reject(new Cluster2Error('ERR_CLUSTER2_FACTORY_FAILED', `the app did not listen within ${timeoutMs} ms (option startTimeout): ${why}`));
      }, timeoutMs);
      timer.unref();
      this.#settled = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  #watch(server: net.Server): void {
    this.#pending.add(server);
    server.once('listening', () => {
      this.#listeningCount++;
      this.#settle(server);
    });
    server.on('error', (error: NodeJS.ErrnoException) => {
      if (server.listening) return;
      this.#settle(server);
      // Said before the app's own handling, which is usually to crash (its stack trace would push
      // a line of stderr out of the tail the master reports).
      this.#report(`the app's server could not listen: ${describeListenError(error)}`);
      // Nobody else handles it: behave as if this listener were not here (an unhandled 'error' throws).
      if (server.listenerCount('error') === 1) throw error;
    });
  }

  #settle(server: net.Server): void {
    this.#pending.delete(server);
    // A turn later: a listen() the app calls right after this one's callback is waited for too.
    setImmediate(() => {
      if (this.#listeningCount > 0 && this.#pending.size === 0) this.#settled?.();
    });
  }
}

function describeListenError(error: NodeJS.ErrnoException): string {
  const { code, message } = error;
  const port = (error as { port?: number }).port;
  if (code === 'EADDRINUSE') return `${message} (port ${port ?? '?'} is held by another process, or the app listens on it twice)`;
  if (code === 'EACCES') return `${message} (ports below 1024 need privileges)`;
  return message;
}
