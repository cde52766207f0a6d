// Load drivers for the HTTP/2 suite, against 127.0.0.1 only and bounded in time: closed-loop
// streams over node:http2 client sessions that move to a new session when told to go away (as
// browsers, curl and gRPC do), and an HTTP/1.1 keep-alive loop for a TLS server's other clients.
//
// A stream succeeds when it gets a 200 whose body starts with `ok `. A stream the server refused
// (REFUSED_STREAM: it was never processed) is retried and counted apart; a request the client
// could not send because its session was already going away is retried on the next session.
// Anything else is a failure, recorded with its status and reset code.
import http2 from 'node:http2';
import https from 'node:https';

/** One client session, as the driver saw it. */
export interface SessionRecord {
  /** The server's SETTINGS arrived: a worker's HTTP/2 stack took the connection. */
  taken: boolean;
  /** The server said GOAWAY. */
  goaway: boolean;
  /** The connection closed: with `goaway` false, it closed without one (what draining must never do). */
  closed: boolean;
  /** Closed by the driver's own stop(). */
  closedByClient: boolean;
  /** Workers that answered its streams (x-worker-pid). */
  pids: Set<number>;
  error?: string;
}

export interface H2LoadOptions {
  /** `http://127.0.0.1:<port>` (h2c) or `https://…` (TLS; the certificate is not verified). */
  origin: string;
  sessions: number;
  /** Concurrent request loops per session. */
  streams: number;
  path?: string;
  /** A stream with no end for this long fails, ms. @default 10000 */
  streamTimeout?: number;
}

export class H2Load {
  ok = 0;
  failed = 0;
  refused = 0;
  /** Requests the client did not send (its session was going away) and sent again on a new one. */
  notSent = 0;
  readonly failures: string[] = [];
  readonly sessions: SessionRecord[] = [];
  readonly #options: Required<H2LoadOptions>;
  readonly #current: ({ session: http2.ClientHttp2Session; record: SessionRecord } | undefined)[];
  readonly #loops: Promise<void>[] = [];
  #stopped = false;

  constructor(options: H2LoadOptions) {
    this.#options = { path: '/', streamTimeout: 10_000, ...options };
    this.#current = new Array(options.sessions).fill(undefined);
  }

  /** Starts every loop; the load runs until stop(). */
  start(): this {
    for (let slot = 0; slot < this.#options.sessions; slot++) {
      for (let i = 0; i < this.#options.streams; i++) this.#loops.push(this.#loop(slot));
    }
    return this;
  }

  /** Ends every loop (each finishes its stream in flight) and closes the sessions. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
    for (const entry of this.#current) {
      if (entry === undefined || entry.session.closed) continue;
      entry.record.closedByClient = true;
      entry.session.close();
    }
  }

  /** Workers that answered streams of sessions opened from index `from` on. */
  pidsFrom(from: number): Set<number> {
    return new Set(this.sessions.slice(from).flatMap((record) => [...record.pids]));
  }

  /** Sessions whose connection closed without a GOAWAY from the server (the driver's own closes aside). */
  closedWithoutGoaway(): SessionRecord[] {
    return this.sessions.filter((record) => record.closed && !record.goaway && !record.closedByClient);
  }

  get total(): number {
    return this.ok + this.failed;
  }

  async #loop(slot: number): Promise<void> {
    while (!this.#stopped) await this.#one(this.#sessionFor(slot));
  }

  #sessionFor(slot: number): { session: http2.ClientHttp2Session; record: SessionRecord } {
    const entry = this.#current[slot];
    if (entry !== undefined && !entry.session.closed && !entry.session.destroyed && !entry.record.goaway) return entry;
    const session = http2.connect(this.#options.origin, { rejectUnauthorized: false });
    const record = watch(session);
    this.sessions.push(record);
    const fresh = { session, record };
    this.#current[slot] = fresh;
    return fresh;
  }

  #one({ session, record }: { session: http2.ClientHttp2Session; record: SessionRecord }): Promise<void> {
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request({ ':path': this.#options.path }, { endStream: true });
    } catch {
      // ERR_HTTP2_GOAWAY_SESSION / ERR_HTTP2_INVALID_SESSION: the session is going away; nothing was sent.
      this.notSent++;
      record.goaway ||= session.closed;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let status: number | undefined;
      let pid: number | undefined;
      let body = '';
      let ended = false;
      stream.setTimeout(this.#options.streamTimeout, () => stream.close(http2.constants.NGHTTP2_CANCEL));
      stream.on('response', (headers) => {
        status = Number(headers[':status']);
        pid = Number(headers['x-worker-pid']);
      });
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        body += chunk;
      });
      stream.on('end', () => {
        ended = true;
      });
      stream.on('error', () => {});
      stream.on('close', () => {
        if (ended && status === 200 && body.startsWith('ok ')) {
          this.ok++;
          record.pids.add(pid!);
        } else if (status === undefined && stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) {
          this.refused++;
        } else {
          this.failed++;
          if (this.failures.length < 20) this.failures.push(`status ${status} rst ${stream.rstCode} ended ${ended} body ${JSON.stringify(body.slice(0, 40))}`);
        }
        resolve();
      });
    });
  }
}

/** Closed-loop HTTP/1.1 keep-alive requests over TLS (one agent socket per lane). */
export class Http1KeepAliveLoad {
  ok = 0;
  failed = 0;
  readonly failures: string[] = [];
  readonly pids = new Set<number>();
  readonly #agent: https.Agent;
  readonly #loops: Promise<void>[] = [];
  #stopped = false;

  constructor(
    readonly port: number,
    readonly lanes: number,
  ) {
    this.#agent = new https.Agent({ keepAlive: true, maxSockets: lanes, rejectUnauthorized: false });
  }

  start(): this {
    for (let i = 0; i < this.lanes; i++) this.#loops.push(this.#loop());
    return this;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
    this.#agent.destroy();
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) await this.#one();
  }

  #one(): Promise<void> {
    return new Promise((resolve) => {
      const req = https.get({ host: '127.0.0.1', port: this.port, path: '/', agent: this.#agent, timeout: 10_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          if (res.statusCode === 200 && body.startsWith('ok ') && res.httpVersion === '1.1') {
            this.ok++;
            this.pids.add(Number(res.headers['x-worker-pid']));
          } else this.#fail(`status ${res.statusCode} http ${res.httpVersion} body ${JSON.stringify(body.slice(0, 40))}`);
          resolve();
        });
        res.on('error', (error) => {
          this.#fail(error.message);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('TIMEOUT')));
      req.on('error', (error: NodeJS.ErrnoException) => {
        this.#fail(error.code ?? error.message);
        resolve();
      });
    });
  }

  #fail(what: string): void {
    this.failed++;
    if (this.failures.length < 20) this.failures.push(what);
  }
}

/** A client session watched for the server's GOAWAY and its close. */
export interface WatchedSession {
  session: http2.ClientHttp2Session;
  record: SessionRecord;
}

/** Opens a session to `origin` and resolves once it is connected. */
export function openSession(origin: string): Promise<WatchedSession> {
  const session = http2.connect(origin, { rejectUnauthorized: false });
  const record = watch(session);
  return new Promise((resolve, reject) => {
    session.once('connect', () => resolve({ session, record }));
    session.once('error', reject);
  });
}

/** Records what the server does to `session`: GOAWAY, close, errors. */
function watch(session: http2.ClientHttp2Session): SessionRecord {
  const record: SessionRecord = { taken: false, goaway: false, closed: false, closedByClient: false, pids: new Set() };
  session.once('remoteSettings', () => {
    record.taken = true;
  });
  session.on('goaway', () => {
    record.goaway = true;
  });
  session.on('close', () => {
    record.closed = true;
  });
  session.on('error', (error: NodeJS.ErrnoException) => {
    record.error = error.code ?? error.message;
  });
  return record;
}

export interface StreamAnswer {
  status: number | undefined;
  headers: http2.IncomingHttpHeaders;
  body: string;
  /** The stream's RST_STREAM code (0: it ended normally). */
  rstCode: number | undefined;
}

/** One request on `session`; resolves when its stream closes, however it closes. */
export function get(
  session: http2.ClientHttp2Session,
  path: string,
  method = 'GET',
  timeout = 10_000,
  headers: http2.OutgoingHttpHeaders = {},
): Promise<StreamAnswer> {
  return new Promise((resolve, reject) => {
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request({ ':path': path, ':method': method, ...headers }, { endStream: true });
    } catch (error) {
      return reject(error instanceof Error ? error : new Error(String(error)));
    }
    const answer: StreamAnswer = { status: undefined, headers: {}, body: '', rstCode: undefined };
    stream.setTimeout(timeout, () => stream.close(http2.constants.NGHTTP2_CANCEL));
    stream.on('response', (headers) => {
      answer.headers = headers;
      answer.status = Number(headers[':status']);
    });
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      answer.body += chunk;
    });
    stream.on('error', () => {});
    stream.on('close', () => {
      answer.rstCode = stream.rstCode;
      resolve(answer);
    });
  });
}

/** One GET over a fresh h2c session, closed afterwards. */
export async function h2Get(port: number, path: string): Promise<StreamAnswer> {
  const { session } = await openSession(`http://127.0.0.1:${port}`);
  try {
    return await get(session, path);
  } finally {
    session.close();
  }
}
