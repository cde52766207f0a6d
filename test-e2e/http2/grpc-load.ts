// The gRPC load driver for the HTTP/2 suite: real @grpc/grpc-js clients against 127.0.0.1, each
// on a channel (and so a connection) of its own. Each client runs unary calls in a closed loop,
// and keeps one server-streaming call open, calling it again whenever the server ends it.
//
// `retries: false` sets 'grpc.enable_retries': 0, which also turns off grpc-js's transparent
// retry: a call its HTTP/2 layer refused (REFUSED_STREAM, "Stream refused by server") fails
// instead of going out again on a new connection.
import grpc from '@grpc/grpc-js';
import { DRAINING_MESSAGE, testService } from './fixtures/grpc-service.mjs';

/**
 * grpc-js's status for a call whose stream its HTTP/2 layer refused (REFUSED_STREAM): never
 * processed by the server. Up to Node 24 grpc-js says "Stream refused by server"; Node 26's
 * node:http2 reports the refusal as a write error naming the code.
 */
function isRefused(why: string): boolean {
  return why === 'UNAVAILABLE Stream refused by server' || /^UNAVAILABLE Write error: .*NGHTTP2_REFUSED_STREAM$/.test(why);
}

const TestClient = grpc.makeGenericClientConstructor(testService, 'Test');
type Client = InstanceType<typeof TestClient> & {
  whoami(
    request: { id: string },
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, reply?: { pid: number }) => void,
  ): grpc.ClientUnaryCall;
  ticks(request: object): grpc.ClientReadableStream<{ pid: number; tick: number }>;
};

/** One unary call that succeeded: its id, the worker that answered and when the call started. */
export interface UnaryReply {
  id: string;
  pid: number;
  startedAt: number;
}

/** One unary call that failed: its id and `<status name> <details>`. */
export interface UnaryFailure {
  id: string;
  why: string;
}

/** How a server-streaming call ended. */
export interface StreamEnd {
  code: grpc.status;
  details: string;
  /** Messages received before it ended. */
  ticks: number;
  pid: number | undefined;
}

export interface GrpcLoadOptions {
  port: number;
  clients: number;
  /** Unary calls in flight per client. @default 1 */
  concurrency?: number;
  /** A unary call with no answer after this long fails (DEADLINE_EXCEEDED), ms. @default 10000 */
  deadline?: number;
  /** false: 'grpc.enable_retries': 0 (no retry of any kind). @default true (grpc-js's defaults) */
  retries?: boolean;
}

export class GrpcLoad {
  readonly replies: UnaryReply[] = [];
  readonly unaryFailures: UnaryFailure[] = [];
  readonly streamEnds: StreamEnd[] = [];
  readonly #options: Required<GrpcLoadOptions>;
  readonly #clients: Client[] = [];
  readonly #loops: Promise<void>[] = [];
  readonly #open = new Set<grpc.ClientReadableStream<unknown>>();
  #stopped = false;
  #calls = 0;

  /** `name` prefixes the id of every unary call this driver makes. */
  constructor(
    readonly name: string,
    options: GrpcLoadOptions,
  ) {
    this.#options = { concurrency: 1, deadline: 10_000, retries: true, ...options };
  }

  start(): this {
    // A local subchannel pool: each client its own connection (grpc-js shares one between channels to the same target).
    const channelOptions: grpc.ChannelOptions = { 'grpc.use_local_subchannel_pool': 1, ...(this.#options.retries ? {} : { 'grpc.enable_retries': 0 }) };
    for (let i = 0; i < this.#options.clients; i++) {
      const client = new TestClient(`127.0.0.1:${this.#options.port}`, grpc.credentials.createInsecure(), channelOptions) as Client;
      this.#clients.push(client);
      for (let lane = 0; lane < this.#options.concurrency; lane++) this.#loops.push(this.#unaryLoop(client));
      this.#loops.push(this.#streamLoop(client));
    }
    return this;
  }

  /** Ends every loop (unary calls in flight finish; open streams are cancelled) and closes the clients. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const call of this.#open) call.cancel();
    await Promise.all(this.#loops);
    for (const client of this.#clients) client.close();
  }

  get unaryFailed(): number {
    return this.unaryFailures.length;
  }

  /** Unary failures other than REFUSED_STREAM (calls the server may have processed). */
  processedFailures(): UnaryFailure[] {
    return this.unaryFailures.filter((failure) => !isRefused(failure.why));
  }

  get unaryTotal(): number {
    return this.replies.length + this.unaryFailed;
  }

  /** Workers that answered unary calls started at `since` (ms since epoch) or later. */
  pidsSince(since: number): Set<number> {
    return new Set(this.replies.filter((reply) => reply.startedAt >= since).map((reply) => reply.pid));
  }

  /** Stream ends that were not the server's drain (UNAVAILABLE "server draining") nor the driver's own cancel. */
  unexpectedStreamEnds(): StreamEnd[] {
    return this.streamEnds.filter(
      (end) => !(end.code === grpc.status.UNAVAILABLE && end.details === DRAINING_MESSAGE) && !(end.code === grpc.status.CANCELLED && this.#stopped),
    );
  }

  /** Streams the server ended because it drained. */
  drainedStreams(): StreamEnd[] {
    return this.streamEnds.filter((end) => end.code === grpc.status.UNAVAILABLE && end.details === DRAINING_MESSAGE);
  }

  async #unaryLoop(client: Client): Promise<void> {
    while (!this.#stopped) await this.#unary(client);
  }

  #unary(client: Client): Promise<void> {
    const startedAt = Date.now();
    const id = `${this.name}-${++this.#calls}`;
    return new Promise((resolve) => {
      client.whoami({ id }, { deadline: startedAt + this.#options.deadline }, (error, reply) => {
        if (error === null && reply !== undefined && Number.isInteger(reply.pid)) this.replies.push({ id, pid: reply.pid, startedAt });
        else this.unaryFailures.push({ id, why: error ? `${grpc.status[error.code]} ${error.details}` : `reply ${JSON.stringify(reply)}` });
        resolve();
      });
    });
  }

  async #streamLoop(client: Client): Promise<void> {
    while (!this.#stopped) await this.#stream(client);
  }

  /** One Ticks call, until it ends. */
  #stream(client: Client): Promise<void> {
    return new Promise((resolve) => {
      const call = client.ticks({});
      this.#open.add(call);
      const end: StreamEnd = { code: grpc.status.OK, details: '', ticks: 0, pid: undefined };
      call.on('data', (message: { pid: number }) => {
        end.ticks++;
        end.pid = message.pid;
      });
      call.on('error', () => {});
      call.on('status', (status: grpc.StatusObject) => {
        this.#open.delete(call);
        end.code = status.code;
        end.details = status.details;
        this.streamEnds.push(end);
        resolve();
      });
    });
  }
}
