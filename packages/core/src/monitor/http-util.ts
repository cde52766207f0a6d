import type { IncomingMessage, ServerResponse } from 'node:http';

/** Largest request body the monitor accepts, bytes (64 KiB, as documented). */
export const MAX_BODY_BYTES = 64 * 1024;

/** A request the monitor refuses; the router turns it into a JSON error answer. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** 404 with the one message every refused log name gets, so a probe learns nothing. */
export const notFound = (what = 'no such route'): HttpError => new HttpError(404, 'NOT_FOUND', what);

/** Headers every monitor answer carries. */
const COMMON_HEADERS = { 'x-content-type-options': 'nosniff' } as const;

/** Sends `body` as JSON (never cached: the figures change every heartbeat). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Sends a text body with the given content type. */
export function sendText(res: ServerResponse, status: number, text: string, contentType: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'content-type': contentType,
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** An answer without a body (204 / 202). */
export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, { ...COMMON_HEADERS, 'cache-control': 'no-store' });
  res.end();
}

/** `{ error: { code, message } }` with the error's status and extra headers. */
export function sendError(res: ServerResponse, error: HttpError): void {
  sendJson(res, error.status, { error: { code: error.code, message: error.message } }, error.headers);
}

/**
 * Rejects early when the declared length is over the limit; cheaper than reading and keeps
 * oversized uploads from tying up the socket.
 */
export function checkDeclaredLength(req: IncomingMessage, limit = MAX_BODY_BYTES): void {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
}

/**
 * Reads the body, counting bytes as they stream (a chunked upload has no content-length to
 * trust). Rejects with 413 as soon as the count passes `limit`.
 */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const cleanup = (): void => {
      req.off('data', onData).off('end', onEnd).off('error', onError);
    };
    req.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

function tooLarge(limit: number): HttpError {
  // Connection: close, so Node does not wait to drain a huge upload for keep-alive.
  return new HttpError(413, 'PAYLOAD_TOO_LARGE', `request body exceeds ${limit} bytes`, { connection: 'close' });
}

/** A request target split into decoded path segments and its query. */
export interface ParsedTarget {
  /** Decoded segments of the path after the leading `/` (`/` itself is `['']`). */
  segments: string[];
  query: URLSearchParams;
}

/**
 * Splits the raw request target without normalising it: `..` stays a segment (and so matches
 * no route), `%2F` stays inside its segment. Malformed percent-encoding → 400.
 */
export function parseTarget(rawUrl: string | undefined): ParsedTarget {
  if (rawUrl === undefined || !rawUrl.startsWith('/')) {
    throw new HttpError(400, 'BAD_REQUEST', 'request target must be an absolute path');
  }
  const queryAt = rawUrl.indexOf('?');
  const rawPath = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
  const rawQuery = queryAt === -1 ? '' : rawUrl.slice(queryAt + 1);
  try {
    return {
      segments: rawPath
        .slice(1)
        .split('/')
        .map((s) => decodeURIComponent(s)),
      query: new URLSearchParams(rawQuery),
    };
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'malformed percent-encoding in the request path');
  }
}
