import http from 'node:http';
import type http2 from 'node:http2';
import type tls from 'node:tls';
import net from 'node:net';
import { Http2Sessions, isHttp2Server, type StreamInterceptor } from './http2-sessions.js';
import type { TrafficCounters } from './stats.js';
import { TlsHandshakes } from './tls-handshakes.js';

/** Answers a request before the app sees it (ECV), over HTTP/1.1 or HTTP/2; each returns true when it did. */
export interface RequestInterceptor {
  http1(req: http.IncomingMessage, res: http.ServerResponse): boolean;
  http2: StreamInterceptor;
}

export interface TrafficOptions {
  /** Idle socket timeout, ms. */
  timeout: number;
  /** While draining, end a socket idle this long, ms. */
  idleGrace: number;
  /** Called with the number of connections accepted so far. */
  onConnection(total: number): void;
  /** Called with the number of requests received so far. */
  onRequest(total: number): void;
  /** Called for each connection (socket or HTTP/2 session) closed at `timeout`; the heartbeat counts them (`idleCloses`). */
  onIdleTimeout(peer: { remoteAddress?: string | undefined; remotePort?: number | undefined }): void;
}

interface SocketState {
  /**
   * Responses not yet closed (requests in flight), oldest first: more than one only when the
   * client pipelines; TCP sockets have none. Listed per socket rather than in one Set: a Set add
   * and delete per request measured 0.5–0.8 µs of CPU, 3–5 % of a hello world (single process,
   * server and wrk pinned to one core each).
   */
  responses: http.ServerResponse[];
  /** ms since epoch when the socket last became idle (accepted, last response done, last data). */
  idleSince: number;
  graceTimer: NodeJS.Timeout | undefined;
  /**
   * Handed to an 'upgrade' listener (or answered 101): no longer HTTP. The WebSocket library
   * keeps it alive with its own pings, so the idle timeout and the drain's grace leave it alone;
   * the app closes it in 'draining', or the drain destroys it at `shutdownTimeout`.
   */
  upgraded: boolean;
}

const kState = Symbol('cluster2.socketState');
type TrackedSocket = net.Socket & { [kState]: SocketState };
/**
 * A response knows its socket through its request: `res.socket` is null once the response is done,
 * and a property of our own on every response would cost a hidden-class transition per request.
 */
type TrackedResponse = http.ServerResponse & { req: http.IncomingMessage & { socket: TrackedSocket } };

/**
 * A tls.Server (https.Server among them), told by its TLS-only methods rather than `instanceof`:
 * importing node:https or node:tls in every worker would cost each start a few ms of module loading
 * (respawn and reload time) for apps that never serve TLS.
 */
function isTlsServer(server: net.Server): server is tls.Server {
  const candidate = server as Partial<tls.Server>;
  return typeof candidate.addContext === 'function' && typeof candidate.setSecureContext === 'function';
}

export function isHttpServer(server: net.Server): server is http.Server {
  // An Http2SecureServer has closeIdleConnections too (for its HTTP/1.1 clients) but is no http.Server.
  if (isHttp2Server(server)) return false;
  // https.Server is a tls.Server carrying node:http's request machinery (closeIdleConnections among it).
  return server instanceof http.Server || (isTlsServer(server) && typeof (server as { closeIdleConnections?: unknown }).closeIdleConnections === 'function');
}

/** A server whose requests core can answer ECV on: node:http, node:https or node:http2. */
export function servesHttp(server: net.Server): boolean {
  return isHttpServer(server) || isHttp2Server(server);
}

/**
 * Tracks every socket and request of a worker's servers: counts for the heartbeat, the idle
 * timeout, and the graceful drain that ends idle keep-alive sockets with FIN after a grace
 * instead of resetting them. HTTP/2 sessions are tracked by Http2Sessions, which ends them with GOAWAY.
 */
export class Traffic {
  readonly #options: TrafficOptions;
  readonly #servers: net.Server[] = [];
  readonly #sockets = new Set<TrackedSocket>();
  readonly #http2: Http2Sessions;
  readonly #handshakes: TlsHandshakes;
  readonly #sweep: NodeJS.Timeout;
  #totalConnections = 0;
  #requests = 0;
  #idleCloses = 0;
  #drainStartedAt: number | undefined;
  #onEmpty: (() => void) | undefined;
  /**
   * One listener shared by every response (`this` is the response): a closure per request, or
   * `once()`'s wrapper, measured at about 2 µs of CPU per request, some 15 % of a hello world.
   */
  readonly #onResponseClose: (this: TrackedResponse) => void;

  constructor(options: TrafficOptions) {
    this.#options = options;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the listener's own `this` is the response, so the Traffic it reports to is named
    const traffic = this;
    this.#onResponseClose = function () {
      traffic.#responseClosed(this);
    };
    this.#http2 = new Http2Sessions({
      timeout: options.timeout,
      idleGrace: options.idleGrace,
      onSession: () => this.#connected(),
      onStream: () => this.#requested(),
      onIdleTimeout: (session) => {
        this.#idleCloses++;
        this.#options.onIdleTimeout(session.socket);
      },
      onEmpty: () => this.#checkEmpty(),
    });
    this.#handshakes = new TlsHandshakes(options.idleGrace, () => this.#checkEmpty());
    // One sweep for the idle timeout instead of a timer per socket keeps the request path cheap.
    const every = Math.min(1000, Math.max(10, Math.floor(options.timeout / 4)));
    this.#sweep = setInterval(() => this.#endIdleSockets(), every).unref();
  }

  get draining(): boolean {
    return this.#drainStartedAt !== undefined;
  }

  /** Read once per heartbeat: in-flight requests are summed here rather than counted per request. */
  counters(): TrafficCounters {
    let inFlight = 0;
    let upgraded = 0;
    for (const socket of this.#sockets) {
      const state = socket[kState];
      inFlight += state.responses.length;
      if (state.upgraded) upgraded++;
    }
    return {
      connections: this.#sockets.size + this.#http2.size,
      totalConnections: this.#totalConnections,
      requests: this.#requests,
      inFlight: inFlight + this.#http2.openStreams(),
      upgraded,
      idleCloses: this.#idleCloses,
    };
  }

  /** Tracks `server`; requests the interceptor claims are answered before the app's own 'request' listeners run. */
  attach(server: net.Server, interceptor?: RequestInterceptor): void {
    this.#servers.push(server);
    if (isHttp2Server(server)) return this.#attachHttp2(server, interceptor);
    const connectionEvent = isTlsServer(server) ? 'secureConnection' : 'connection';
    server.on(connectionEvent, (socket: net.Socket) => this.#track(socket, isHttpServer(server)));
    // After the listener above: a connection is tracked as a socket before it stops being a handshake.
    if (isTlsServer(server)) this.#handshakes.attach(server);
    if (!isHttpServer(server)) return;
    // Without a 'timeout' listener node:http destroys sockets on its own timers; ours decide.
    server.on('timeout', () => {});
    this.#watchUpgrades(server);
    this.#interceptRequests(server, interceptor);
  }

  /** Puts accounting and ECV before the app's 'request' listeners. */
  #interceptRequests(server: net.Server, interceptor: RequestInterceptor | undefined): void {
    const appListeners = server.listeners('request') as ((...args: unknown[]) => void)[];
    server.removeAllListeners('request');
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      // node:http2's compatibility requests were counted (and ECV answered) as streams.
      if (req.httpVersionMajor === 2) {
        for (const listener of appListeners) listener.call(server, req, res);
        return;
      }
      this.#onRequest(req, res);
      if (interceptor?.http1(req, res)) return;
      for (const listener of appListeners) listener.call(server, req, res);
    });
  }

  /**
   * HTTP/2 connections are tracked as sessions, not sockets: ending a session's socket ourselves is
   * what fails its streams. With `allowHTTP1`, a TLS connection that negotiated HTTP/1.1 is an
   * ordinary HTTP socket, tracked and drained as on an https.Server.
   */
  #attachHttp2(server: http2.Http2Server | http2.Http2SecureServer, interceptor: RequestInterceptor | undefined): void {
    this.#http2.attach(server, interceptor?.http2);
    if (!isTlsServer(server)) return;
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      if (socket.alpnProtocol !== 'h2') this.#track(socket, true);
    });
    this.#handshakes.attach(server);
    // Wrapping 'request' with no app listener would make node:http2 start its compatibility layer
    // for every stream (an app on the core 'stream' API, gRPC among them, would answer twice).
    if (server.listenerCount('request') > 0) this.#interceptRequests(server, interceptor);
  }

  /**
   * Stops accepting, then ends every socket once it is idle (FIN, after `idleGrace`) and
   * resolves when every server has closed and every socket is gone (upgraded ones included: the
   * app closes them, or the caller destroys them at its deadline). Responses written from now on carry
   * `Connection: close`.
   */
  drain(): Promise<void> {
    this.#drainStartedAt ??= Date.now();
    for (const socket of this.#sockets) {
      for (const res of socket[kState].responses) if (!res.headersSent) res.setHeader('connection', 'close');
    }
    const closed = this.#servers.map((server) => closeListener(server));
    for (const socket of this.#sockets) this.#scheduleGracefulEnd(socket);
    this.#http2.drain();
    this.#handshakes.drain();
    return Promise.all(closed).then(() => this.#allConnectionsClosed());
  }

  #allConnectionsClosed(): Promise<void> {
    if (this.#isEmpty()) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onEmpty = resolve;
    });
  }

  #isEmpty(): boolean {
    return this.#sockets.size === 0 && this.#http2.size === 0 && this.#handshakes.size === 0;
  }

  #checkEmpty(): void {
    if (this.#isEmpty()) this.#onEmpty?.();
  }

  /** Destroys whatever is still open (the drain ran out of time). */
  destroyAll(): void {
    for (const socket of this.#sockets) socket.destroy();
    this.#http2.destroyAll();
    this.#handshakes.destroyAll();
  }

  close(): void {
    clearInterval(this.#sweep);
  }

  /**
   * Marks the sockets node:http hands to the app's 'upgrade' listeners. Ours runs first, and only
   * while the app has one of its own: node:http answers an upgrade nobody listens for as a plain
   * request, and a listener of ours alone would leave such a client hanging instead.
   */
  #watchUpgrades(server: http.Server): void {
    // node:http emits no 'request' for an upgrade: it is counted here (but never in flight).
    const onUpgrade = (req: http.IncomingMessage, socket: net.Socket) => {
      this.#upgraded(socket as TrackedSocket);
      this.#requested();
    };
    const install = () => {
      if (!server.listeners('upgrade').includes(onUpgrade)) server.prependListener('upgrade', onUpgrade);
    };
    if (server.listenerCount('upgrade') > 0) install();
    server.on('newListener', (event: string | symbol, listener: unknown) => {
      if (event === 'upgrade' && listener !== onUpgrade) install();
    });
    server.on('removeListener', (event: string | symbol, listener: unknown) => {
      if (event === 'upgrade' && listener !== onUpgrade && server.listenerCount('upgrade') === 1) server.removeListener('upgrade', onUpgrade);
    });
  }

  #upgraded(socket: TrackedSocket): void {
    const state = socket[kState];
    if (!state || state.upgraded) return;
    state.upgraded = true;
    clearTimeout(state.graceTimer);
    state.graceTimer = undefined;
  }

  #track(raw: net.Socket, http: boolean): void {
    const socket = raw as TrackedSocket;
    socket[kState] = { responses: [], idleSince: Date.now(), graceTimer: undefined, upgraded: false };
    this.#sockets.add(socket);
    socket.once('close', () => {
      clearTimeout(socket[kState].graceTimer);
      this.#sockets.delete(socket);
      this.#checkEmpty();
    });
    if (!http) {
      socket.on('data', () => this.#markActive(socket));
    }
    this.#connected();
    if (this.draining) this.#scheduleGracefulEnd(socket);
  }

  #connected(): void {
    this.#totalConnections++;
    this.#options.onConnection(this.#totalConnections);
  }

  #requested(): void {
    this.#requests++;
    this.#options.onRequest(this.#requests);
  }

  #markActive(socket: TrackedSocket): void {
    const state = socket[kState];
    state.idleSince = Date.now();
    if (this.draining) this.#scheduleGracefulEnd(socket);
  }

  #onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const socket = req.socket as TrackedSocket;
    const state = socket[kState];
    if (state) {
      state.responses.push(res);
      if (state.graceTimer !== undefined) {
        clearTimeout(state.graceTimer);
        state.graceTimer = undefined;
      }
    }
    if (this.draining) res.setHeader('connection', 'close');
    // 'close' comes once per response, so `on` needs no `once` wrapper.
    res.on('close', this.#onResponseClose);
    this.#requested();
  }

  #responseClosed(res: TrackedResponse): void {
    const socket = res.req.socket;
    const state = socket[kState];
    if (!state) return;
    const { responses } = state;
    // Nearly always the first: responses close in request order (shift() allocates nothing, splice() does).
    if (responses[0] === res) responses.shift();
    else {
      const index = responses.indexOf(res);
      if (index !== -1) responses.splice(index, 1);
    }
    state.idleSince = Date.now();
    // A 101 written by a 'request' listener hands the socket over just as an 'upgrade' one does.
    if (res.statusCode === 101) this.#upgraded(socket);
    else if (this.draining) this.#scheduleGracefulEnd(socket);
  }

  #scheduleGracefulEnd(socket: TrackedSocket): void {
    const state = socket[kState];
    if (state.responses.length > 0 || state.upgraded || socket.destroyed) return;
    clearTimeout(state.graceTimer);
    const idleFrom = Math.max(state.idleSince, this.#drainStartedAt ?? 0);
    const wait = Math.max(0, idleFrom + this.#options.idleGrace - Date.now());
    state.graceTimer = setTimeout(() => {
      state.graceTimer = undefined;
      // A loop that was blocked runs its due timers before it reads the sockets that became
      // readable meanwhile: decide after the next poll, so that a request which already arrived
      // is answered (with `Connection: close`) instead of being cut by our FIN.
      const readBefore = socket.bytesRead;
      setImmediate(() => {
        if (state.responses.length > 0 || state.upgraded || socket.destroyed || socket.writableEnded) return;
        if (socket.bytesRead !== readBefore) {
          // Part of a request came in: the socket is busy, not idle.
          state.idleSince = Date.now();
          this.#scheduleGracefulEnd(socket);
        } else {
          socket.end();
        }
      });
    }, wait);
  }

  #endIdleSockets(): void {
    const now = Date.now();
    for (const socket of this.#sockets) {
      const state = socket[kState];
      if (state.responses.length === 0 && !state.upgraded && !socket.writableEnded && now - state.idleSince >= this.#options.timeout) {
        socket.end();
        this.#idleCloses++;
        this.#options.onIdleTimeout(socket);
      }
    }
    this.#http2.sweep(now);
  }
}

/**
 * Stops the listener without touching open sockets. http.Server#close() would also destroy
 * every idle keep-alive socket at once, the race that resets a client's next request; the drain
 * ends them itself, after a grace.
 */
function closeListener(server: net.Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    net.Server.prototype.close.call(server, () => resolve());
  });
}
