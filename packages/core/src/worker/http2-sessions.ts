import type http2 from 'node:http2';
import type net from 'node:net';

/** Answers a stream before the app sees it (ECV over HTTP/2); returns true when it did. */
export type StreamInterceptor = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean;

export interface Http2SessionsOptions {
  /** A session with no open stream for this long is closed (GOAWAY), ms. */
  timeout: number;
  /** While draining, a session that arrives and opens no stream is closed after this long, ms. */
  idleGrace: number;
  /** Called once per session (a connection). */
  onSession(): void;
  /** Called once per stream (a request). */
  onStream(): void;
  /** Called for each session closed at `timeout`. */
  onIdleTimeout(session: http2.ServerHttp2Session): void;
  /** Called whenever the last tracked session has closed. */
  onEmpty(): void;
}

interface SessionState {
  /** Streams opened and not yet closed: the session's requests in flight. */
  streams: number;
  /** Whether any stream was ever opened: a session without one may have its first on the way. */
  used: boolean;
  /** ms since epoch when the session last had no open stream. */
  idleSince: number;
  /** Told to go away (drain or idle timeout). */
  goingAway: boolean;
}

/**
 * An Http2Server or Http2SecureServer, told by its HTTP/2-only method rather than `instanceof`:
 * importing node:http2 in every worker would cost each start its module loading for apps that never serve HTTP/2.
 */
export function isHttp2Server(server: net.Server): server is http2.Http2Server | http2.Http2SecureServer {
  return typeof (server as Partial<http2.Http2Server>).updateSettings === 'function';
}

/**
 * The HTTP/2 half of a worker's traffic accounting. A session is one connection and each of its
 * streams one request. node:http2 owns the session's socket (ending it under the session is what
 * resets the client's streams), so sessions end the HTTP/2 way (RFC 9113 §6.8): `session.close()`
 * sends GOAWAY naming the last stream the worker took, those streams are served to the end, and
 * the session closes once none is open. A stream the client opened before it read the GOAWAY
 * is above that id: never processed, and the client knows it may retry it on a new connection
 * (clients report it as REFUSED_STREAM; gRPC and curl retry it themselves).
 *
 * RFC 9113 also describes a two-step close (a GOAWAY with the highest stream id, then the real one
 * a PING round trip later) that would serve those streams too. node:http2 cannot send it: any
 * GOAWAY it submits makes nghttp2 ignore new streams at once, so the first step would only delay
 * the client's news that its streams were not taken.
 */
export class Http2Sessions {
  readonly #options: Http2SessionsOptions;
  readonly #sessions = new Map<http2.ServerHttp2Session, SessionState>();
  #draining = false;

  constructor(options: Http2SessionsOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Streams open over every session. */
  openStreams(): number {
    let streams = 0;
    for (const state of this.#sessions.values()) streams += state.streams;
    return streams;
  }

  /** Tracks every session and stream of `server`; streams the interceptor claims never reach the app. */
  attach(server: http2.Http2Server | http2.Http2SecureServer, interceptor?: StreamInterceptor): void {
    server.on('session', (session: http2.ServerHttp2Session) => this.#track(session));
    // The server's 'stream' reaches the app's listeners (and node:http2's compatibility layer,
    // which makes the 'request' events) in turn; only wrapping emit answers ECV before all of them,
    // whichever API the app uses and whenever it adds its listeners.
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `this` inside emit is the server
    const sessions = this;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the server as `this`
    const emit = server.emit;
    server.emit = function (this: typeof server, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'stream') {
        const [stream, headers] = args as [http2.ServerHttp2Stream, http2.IncomingHttpHeaders];
        sessions.#opened(stream);
        if (interceptor?.(stream, headers)) return true;
      }
      return emit.call(this, event, ...args);
    } as typeof server.emit;
  }

  /** Tells every session to go away; the ones that come later are told as they arrive. */
  drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    for (const [session, state] of this.#sessions) {
      if (state.used) this.#goAway(session);
      else this.#goAwayAfterFirstStreams(session);
    }
  }

  /** Destroys every session still open (the drain ran out of time). */
  destroyAll(): void {
    for (const session of this.#sessions.keys()) session.destroy();
  }

  /** The idle timeout: a session with no open stream for `timeout` goes away. */
  sweep(now: number): void {
    for (const [session, state] of this.#sessions) {
      if (state.streams === 0 && !state.goingAway && now - state.idleSince >= this.#options.timeout) {
        this.#goAway(session);
        this.#options.onIdleTimeout(session);
      }
    }
  }

  #track(session: http2.ServerHttp2Session): void {
    const state: SessionState = { streams: 0, used: false, idleSince: Date.now(), goingAway: false };
    this.#sessions.set(session, state);
    session.once('close', () => {
      this.#sessions.delete(session);
      if (this.#sessions.size === 0) this.#options.onEmpty();
    });
    this.#options.onSession();
    // A connection handed over after the drain began (node:cluster's late hand-off).
    if (this.#draining) this.#goAwayAfterFirstStreams(session);
  }

  /**
   * A session that has opened no stream yet was just set up, and its client is likely sending the
   * first ones (it was told nothing yet): those are served, as an HTTP/1.1 socket's first request
   * is, and the GOAWAY follows them. They arrive in one read, whose 'stream' events all run before
   * setImmediate; a session that sends none within `idleGrace` gets its GOAWAY then.
   */
  #goAwayAfterFirstStreams(session: http2.ServerHttp2Session): void {
    const goAway = () => {
      clearTimeout(timer);
      session.off('stream', goAway);
      setImmediate(() => this.#goAway(session));
    };
    const timer = setTimeout(goAway, this.#options.idleGrace);
    session.once('stream', goAway);
  }

  #opened(stream: http2.ServerHttp2Stream): void {
    const state = stream.session && this.#sessions.get(stream.session as http2.ServerHttp2Session);
    this.#options.onStream();
    if (state === undefined) return;
    state.streams++;
    state.used = true;
    stream.once('close', () => {
      state.streams--;
      state.idleSince = Date.now();
    });
  }

  #goAway(session: http2.ServerHttp2Session): void {
    const state = this.#sessions.get(session);
    if (state === undefined || state.goingAway || session.closed || session.destroyed) return;
    state.goingAway = true;
    session.close();
  }
}
