import http from 'node:http';
import type { Http2Stream, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type net from 'node:net';
import os from 'node:os';
import { controlRequestOf, refuseControl, type ControlRequest } from '../access.js';
import type { ResolvedEcvOptions } from '../options.js';
import type { EcvHost } from './state.js';

/** Which ECV route a path names, relative to `ecv.path`. */
export type EcvRoute = 'status' | 'live' | 'enable' | 'disable';

/** An ECV answer, ready for any framework to write. */
export interface EcvAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * The request facts ECV needs, whatever the framework: the control guard's (peer address,
 * Authorization, Host, Origin, Sec-Fetch-Site) and these.
 */
export interface EcvRequest extends ControlRequest {
  method: string;
  /** Address and port the request arrived at. */
  localAddress: string | undefined;
  localPort: number | undefined;
  encrypted: boolean;
  /** Arrived over HTTP/2: the health check's request to the worker itself goes over HTTP/2 too (an h2c server speaks nothing else). */
  http2?: boolean;
}

const ROUTES: Record<string, EcvRoute> = { '': 'status', '/live': 'live', '/enable': 'enable', '/disable': 'disable' };

/** Maps a URL (path and query) to an ECV route, or undefined when it is not one. */
export function matchEcvRoute(url: string | undefined, basePath: string): EcvRoute | undefined {
  if (url === undefined || !url.startsWith(basePath)) return undefined;
  const end = url.search(/[?#]/);
  const pathname = end === -1 ? url : url.slice(0, end);
  return ROUTES[pathname.slice(basePath.length)];
}

function baseHeaders(): Record<string, string> {
  return { 'x-powered-by': 'Cluster2', 'cache-control': 'no-cache' };
}

function stripMapped(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function body(status: 'AVAILABLE' | 'DISABLED' | 'WARNING', req: EcvRequest): string {
  const serve = status === 'AVAILABLE';
  return `status=${status}&ServeTraffic=${serve}&ip=${stripMapped(req.localAddress)}&hostname=${os.hostname()}&port=${req.localPort ?? ''}&time=${new Date().toString()}`;
}

function plain(status: number, text = '', extra: Record<string, string> = {}): EcvAnswer {
  return { status, headers: { ...baseHeaders(), 'content-type': 'text/plain', ...extra }, body: text };
}

/** Answers one ECV request as the ECV table in docs/load-balancers.md says. Never throws. */
export async function answerEcv(route: EcvRoute, req: EcvRequest, host: EcvHost): Promise<EcvAnswer> {
  const method = req.method.toUpperCase();
  if (route === 'enable' || route === 'disable') {
    if (!host.options.control) return plain(404, 'Not Found');
    if (method !== 'POST') return plain(405, 'Method Not Allowed', { allow: 'POST' });
    // The monitor's guard, exactly (core's access.ts): token, or loopback without cross-origin or rebinding signs.
    const refusal = refuseControl(req, host.monToken);
    if (refusal) return plain(refusal.status, `${refusal.status === 401 ? 'Unauthorized' : 'Forbidden'}: ${refusal.message}`, refusal.headers);
    try {
      await host.set(route === 'enable');
    } catch (error) {
      return plain(503, `could not ${route}: ${(error as Error).message}`);
    }
    return { status: 204, headers: baseHeaders(), body: '' };
  }
  if (method !== 'GET' && method !== 'HEAD') return plain(405, 'Method Not Allowed', { allow: 'GET, HEAD' });
  if (route === 'live') return plain(200, 'status=ALIVE');
  const snapshot = await host.snapshot();
  const since = { since: snapshot.since };
  if (!snapshot.enabled || host.draining()) {
    return plain(host.options.disabledStatus, body('DISABLED', req), since);
  }
  const healthy = await checkHealth(req, host.options);
  return plain(healthy ? 200 : 500, body(healthy ? 'AVAILABLE' : 'WARNING', req), since);
}

async function checkHealth(req: EcvRequest, options: ResolvedEcvOptions): Promise<boolean> {
  const checks: Promise<boolean>[] = [];
  if (options.validator) checks.push(bounded(runValidator(options.validator), options.timeout));
  if (options.monitor) checks.push(bounded(requestSelf(req, options.monitor, options.timeout), options.timeout));
  const results = await Promise.all(checks);
  return results.every(Boolean);
}

async function runValidator(validator: NonNullable<ResolvedEcvOptions['validator']>): Promise<boolean> {
  try {
    return (await validator({ pid: process.pid })) === true;
  } catch {
    return false;
  }
}

function bounded(check: Promise<boolean>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    check.then(
      (ok) => {
        clearTimeout(timer);
        resolve(ok);
      },
      () => {
        clearTimeout(timer);
        resolve(false);
      },
    );
  });
}

/** Requests `path` on this very worker, at the address and port the ECV request arrived at. */
async function requestSelf(req: EcvRequest, path: string, timeout: number): Promise<boolean> {
  if (req.http2) return requestSelfOverHttp2(req, path, timeout);
  // node:https loads only for TLS servers: it would cost every worker's start-up a few ms.
  const client = req.encrypted ? await import('node:https') : http;
  const address = stripMapped(req.localAddress) || '127.0.0.1';
  return new Promise((resolve) => {
    const request = client.request(
      {
        host: address.includes(':') ? `[${address}]` : address,
        port: req.localPort,
        path,
        method: 'GET',
        agent: false,
        timeout,
        headers: { connection: 'close', 'user-agent': 'cluster2-ecv' },
        rejectUnauthorized: false,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300);
      },
    );
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
    request.end();
  });
}

async function requestSelfOverHttp2(req: EcvRequest, path: string, timeout: number): Promise<boolean> {
  const { connect } = await import('node:http2');
  const address = stripMapped(req.localAddress) || '127.0.0.1';
  const authority = `${req.encrypted ? 'https' : 'http'}://${address.includes(':') ? `[${address}]` : address}:${req.localPort}`;
  return new Promise((resolve) => {
    const session = connect(authority, { rejectUnauthorized: false });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      session.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeout);
    session.on('error', () => done(false));
    const stream = session.request({ ':path': path, ':method': 'GET', 'user-agent': 'cluster2-ecv' }, { endStream: true });
    stream.on('response', (headers) => {
      const status = Number(headers[':status']);
      done(status >= 200 && status < 300);
    });
    stream.on('error', () => done(false));
  });
}

/** Reads what ECV needs from an HTTP/2 stream's session and headers. */
export function ecvRequestOfStream(stream: Http2Stream, headers: IncomingHttpHeaders): EcvRequest {
  // The session's socket: node:http2's proxy reads its address through (and `encrypted` under TLS).
  const socket = stream.session!.socket as net.Socket & { encrypted?: boolean };
  return {
    ...controlRequestOf({ headers, socket }),
    method: headers[':method'] ?? 'GET',
    localAddress: socket.localAddress,
    localPort: socket.localPort,
    encrypted: socket.encrypted === true,
    http2: true,
  };
}

/** Writes an answer on an HTTP/2 stream (plain node:http2 servers). */
export function writeEcvAnswerOnStream(stream: ServerHttp2Stream, answer: EcvAnswer, head: boolean): void {
  // The client may have reset the stream while a health check ran.
  if (stream.destroyed || stream.closed) return;
  // Without a body the headers end the stream (node:http2 ends a 204's itself; a write after it would throw).
  const bodyless = head || answer.body === '';
  stream.respond({ ':status': answer.status, ...answer.headers }, { endStream: bodyless });
  if (!bodyless) stream.end(answer.body);
}

/** Reads what ECV needs from a node:http request. */
export function ecvRequestOf(req: http.IncomingMessage): EcvRequest {
  const socket = req.socket as http.IncomingMessage['socket'] & { encrypted?: boolean };
  return {
    ...controlRequestOf(req),
    method: req.method ?? 'GET',
    localAddress: socket.localAddress,
    localPort: socket.localPort,
    encrypted: socket.encrypted === true,
  };
}

/** Writes an answer on a node:http response (plain servers; adapters write it their own way). */
export function writeEcvAnswer(res: http.ServerResponse, answer: EcvAnswer, head: boolean): void {
  res.writeHead(answer.status, answer.headers);
  res.end(head ? undefined : answer.body);
}
