import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { ControlAccess } from '../access.js';
import { HttpError } from './http-util.js';

/** True when the Host header names this machine by loopback name or by any IP literal. */
function hostIsAddressOrLocalhost(hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  const host = hostHeader.startsWith('[') ? hostHeader.slice(1, hostHeader.indexOf(']')) : hostHeader.replace(/:\d+$/, '');
  return host.toLowerCase() === 'localhost' || net.isIP(host) !== 0;
}

/** A browser request from another origin (browsers send Origin on every cross-origin POST). */
function isCrossOrigin(req: IncomingMessage): boolean {
  if (req.headers['sec-fetch-site'] === 'cross-site') return true;
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true; // 'null' (sandboxed frame, file://) or garbage
  }
}

/**
 * Decides whether `req` may run a control action; throws the HttpError to answer with.
 *
 * With a token: `Authorization: Bearer <token>` (401 missing, 403 wrong). A browser cannot
 * attach that header cross-origin without a CORS preflight, which the monitor never grants,
 * so the token alone also stops CSRF, and proxies that rewrite Host keep working.
 *
 * Without one: loopback peers only (403 otherwise), and, since a tokenless POST needs no
 * preflight, no cross-origin browser requests and a Host that is `localhost` or an IP literal
 * (a DNS-rebinding page reaches loopback under its own host name; a proxy that forwards its
 * public Host is refused too — set a token to expose control through a proxy).
 */
export function authorizeControl(req: IncomingMessage, token: string | undefined, access: ControlAccess): void {
  if (token === undefined || token === '') {
    if (isCrossOrigin(req)) throw forbidden('cross-origin control requests are refused');
    if (!access.isLoopbackAddress(req.socket.remoteAddress)) {
      throw forbidden('control actions are allowed from loopback only (set monToken to allow remote callers)');
    }
    if (!hostIsAddressOrLocalhost(req.headers.host)) throw forbidden('control actions need Host to be localhost or an IP address');
    return;
  }
  const presented = access.bearerToken(req.headers.authorization);
  if (presented === undefined) {
    throw new HttpError(401, 'UNAUTHORIZED', 'control actions need Authorization: Bearer <monToken>', {
      'www-authenticate': 'Bearer realm="cluster2"',
    });
  }
  if (!access.tokenMatches(presented, token)) throw forbidden('wrong monitor token');
}

function forbidden(message: string): HttpError {
  return new HttpError(403, 'FORBIDDEN', message);
}
