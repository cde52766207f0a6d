import http, { STATUS_CODES } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { debuglog } from 'node:util';
import type { ControlAccess } from '../access.js';
import { createMonitorMetrics } from './metrics.js';
import { dispatch, pathOf, type MonitorContext } from './routes.js';
import type { MonitorSource } from './source.js';
import { SseHub, type SseTimings } from './sse.js';

const debug = debuglog('cluster2');

/** How the master starts its monitor. */
export interface MonitorOptions {
  /** What the monitor shows and controls (the master's supervisor). */
  source: MonitorSource;
  /** Address to bind (`monHost`). */
  host: string;
  /** Port to bind (`monPort`); 0 picks a free one. */
  port: number;
  /** Bearer token every route needs (`monToken`); without it control is loopback-only and reads are open. */
  token?: string;
  /** Directory of the log files (`logs.dir`), listed and served by the viewer; nothing outside it is served. Undefined: no files. */
  logsDir: string | undefined;
  /** Directory holding the app's package.json, for `/api/deps`. @default process.cwd() */
  appRoot?: string;
  /** Event-stream timings and bounds (keep-alive comment, status throttle, streams, lifetime). */
  sse?: SseTimings;
  /** Connections held at once (`limits.monitorConnections`); more are closed on accept. @default 64 */
  maxConnections?: number;
}

/**
 * What the monitor takes from core's entry module instead of importing it. A module that both
 * import would be bundled into a shared file of its own, one more ES module that every worker
 * loads at start-up (~1 ms of respawn and reload time through Node 20's loader).
 */
export interface MonitorCore {
  access: ControlAccess;
  /** The error listen() rejects with when the monitor port is taken (a Cluster2Error). */
  portInUse(message: string, cause: Error): Error;
}

/** A running monitor server. */
export interface MonitorServer {
  /** The address actually bound (the real port when `port` was 0). */
  readonly address: { host: string; port: number };
  /** Ends event streams and idle sockets, stops listening; resolves once the server is closed. */
  close(): Promise<void>;
}

/** In-flight requests get this long after close() before their sockets are cut, ms. */
const CLOSE_GRACE_MS = 1000;

/**
 * Starts the monitor (dashboard, `/api/*`, `/metrics`) on `host:port`. Rejects with
 * ERR_CLUSTER2_PORT_IN_USE when the port is taken.
 */
export async function startMonitor(options: MonitorOptions, core: MonitorCore): Promise<MonitorServer> {
  const sse = new SseHub(options.source, options.sse);
  const ctx: MonitorContext = {
    source: options.source,
    token: options.token,
    access: core.access,
    logsDir: options.logsDir === undefined ? undefined : path.resolve(options.logsDir),
    appRoot: path.resolve(options.appRoot ?? process.cwd()),
    metrics: await createMonitorMetrics(options.source),
    sse,
  };
  const server = http.createServer((req, res) => {
    responses.set(req.socket, res);
    res.once('close', () => responses.get(req.socket) === res && responses.delete(req.socket));
    dispatch(ctx, req, res).catch((error: Error) => {
      // dispatch answers every error itself; reaching here means even that failed.
      debug('monitor: could not answer %s %s: %s', req.method, pathOf(req.url), error.message);
      res.destroy();
    });
  });
  // Bound slow clients; an event stream is unaffected (these cover receiving the request only).
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;
  server.on('clientError', answerClientError);
  // Every connection holds one of the master's descriptors, which it needs to fork and to hand
  // connections to workers: past the bound node closes new ones on accept ('drop').
  server.maxConnections = options.maxConnections ?? 64;
  server.on('drop', () => options.source.countRefused?.('monitorConnections'));
  await listen(server, options.host, options.port, core);
  // After listening, 'error' means a failed accept (EMFILE, ENFILE): libuv keeps the listener
  // polling and accepts again once descriptors free up. Without a listener it would kill the master.
  server.on('error', (error: NodeJS.ErrnoException) => {
    debug('monitor: accept failed: %s', error.message);
    options.source.countAcceptError?.('monitor', error);
  });
  const bound = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    address: { host: bound.address, port: bound.port },
    close: () => (closing ??= closeServer(server, sse)),
  };
}

function listen(server: http.Server, host: string, port: number, core: MonitorCore): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (error.code === 'EADDRINUSE') {
        reject(core.portInUse(`monitor port ${host}:${port} is already in use`, error));
      } else {
        reject(error);
      }
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError).once('listening', onListening);
    server.listen(port, host);
  });
}

function closeServer(server: http.Server, sse: SseHub): Promise<void> {
  return new Promise((resolve) => {
    sse.closeAll();
    const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/**
 * The response in flight on each socket. A parser error behind one that has begun writing (a
 * pipelined request) is answered by closing the socket, since raw bytes mid-response would
 * corrupt it; otherwise, an idle keep-alive socket included, the error gets its answer, as node's
 * own handler does.
 */
const responses = new WeakMap<Socket, http.ServerResponse>();

/**
 * Malformed requests the HTTP parser rejects get a JSON 400 (431 for headers over 16 KiB or, from
 * Node 22, over `maxHeadersCount`) instead of Node's bare answer.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable || responses.get(socket)?.headersSent) {
    socket.destroy();
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  // An answer to HEAD carries no body: its client would read the JSON as garbage after the
  // answer and fail. The parser's packet shows the method when it holds the request line; when
  // it does not, leave the body out rather than guess.
  const packet = (error as { rawPacket?: unknown }).rawPacket;
  const line = Buffer.isBuffer(packet) ? packet.subarray(0, 8).toString('latin1') : '';
  const json = /^[A-Z]+ /.test(line) && !line.startsWith('HEAD ');
  const body = json
    ? JSON.stringify({
        error: { code: status === 400 ? 'BAD_REQUEST' : status === 431 ? 'HEADERS_TOO_LARGE' : 'REQUEST_TIMEOUT', message: STATUS_CODES[status] },
      })
    : '';
  debug('monitor: client error %s', error.code);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${json ? 'content-type: application/json; charset=utf-8\r\n' : ''}` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
