import type { IncomingHttpHeaders } from 'node:http';
import net from 'node:net';

// Who may flip a switch or read the monitor: the one guard shared by ECV's control routes (in
// every worker, whatever the framework) and the monitor (in the master, handed over by
// monitor/lazy.ts so that the monitor's code imports nothing from outside src/monitor).

/**
 * True for a loopback peer: 127.0.0.0/8, `::1`, and IPv4-mapped loopback (`::ffff:127.x.y.z`,
 * what a dual-stack socket reports for an IPv4 client).
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  let candidate = address.toLowerCase();
  if (candidate.startsWith('::ffff:')) candidate = candidate.slice('::ffff:'.length);
  if (net.isIPv4(candidate)) return candidate.startsWith('127.');
  return net.isIPv6(candidate) && expandsToLoopback(candidate);
}

function expandsToLoopback(ipv6: string): boolean {
  // ::1 has several spellings (0:0:0:0:0:0:0:1, 0::1); compare parsed groups, not text.
  const [head = '', tail = ''] = ipv6.includes('::') ? ipv6.split('::') : [ipv6, ''];
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const zeros = new Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  const groups = [...headGroups, ...zeros, ...tailGroups].map((g) => Number.parseInt(g, 16));
  return groups.length === 8 && groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return header === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
}

/** Constant-time token comparison (hashing first gives both sides the same length). */
export function tokenMatches(given: string, expected: string): boolean {
  // Loaded on first use, not imported: node:crypto costs a worker ~2 ms of start-up (respawn and
  // reload time), and most workers never see a control request.
  const { createHash, timingSafeEqual } = process.getBuiltinModule('node:crypto');
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The request facts the guard reads, whatever the server or framework. */
export interface ControlRequest {
  /** The peer's address (`socket.remoteAddress`). */
  remoteAddress: string | undefined;
  authorization: string | undefined;
  host: string | undefined;
  origin: string | undefined;
  secFetchSite: string | undefined;
}

/** Why a request is refused: the status, a stable code and message, and headers to add. */
export interface Refusal {
  status: 401 | 403;
  code: 'UNAUTHORIZED' | 'FORBIDDEN';
  message: string;
  headers: Record<string, string>;
}

/** What the guard reads off a request: node:http's, node:http2's (compatibility or stream headers), a framework's raw one. */
export interface RequestFacts {
  headers: IncomingHttpHeaders;
  socket: { remoteAddress?: string | undefined };
}

/** Reads the guard's facts from a request (plain servers, every adapter, the monitor). */
export function controlRequestOf(req: RequestFacts): ControlRequest {
  const header = (name: string): string | undefined => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  return {
    remoteAddress: req.socket.remoteAddress,
    authorization: header('authorization'),
    // HTTP/2 names the host in :authority; a Host header, when a client sends one too, must match it.
    host: header('host') ?? header(':authority'),
    origin: header('origin'),
    secFetchSite: header('sec-fetch-site'),
  };
}

/**
 * Checks a presented token against `monToken`: 401 (with a Bearer challenge) when none was
 * presented, 403 when it is wrong, undefined when it matches.
 */
export function refuseToken(presented: string | undefined, token: string): Refusal | undefined {
  if (presented === undefined) {
    return {
      status: 401,
      code: 'UNAUTHORIZED',
      message: 'this needs Authorization: Bearer <monToken>',
      headers: { 'www-authenticate': 'Bearer realm="cluster2"' },
    };
  }
  return tokenMatches(presented, token) ? undefined : forbidden('wrong monitor token');
}

/**
 * Decides whether `req` may run a control action (ECV's `disable`/`enable` on the app port, the
 * monitor's control API); returns the refusal to answer with, or undefined to go ahead.
 *
 * With a token: `Authorization: Bearer <token>` from every caller, loopback included (a reverse
 * proxy on the same host connects from loopback). A browser cannot attach that header
 * cross-origin without a CORS preflight, which cluster2 never grants, so the token alone also
 * stops CSRF, and proxies that rewrite Host keep working.
 *
 * Without one: loopback peers only, and, since a tokenless POST needs no preflight, no
 * cross-origin browser request (an `Origin` that is not this Host, `Origin: null`, a
 * `Sec-Fetch-Site` other than `same-origin`/`none`) and a Host that is `localhost` or an IP
 * literal (a DNS-rebinding page reaches loopback under its own host name; a proxy that forwards
 * its public Host is refused too: set a token to expose control through a proxy).
 */
export function refuseControl(req: ControlRequest, token: string | undefined): Refusal | undefined {
  if (token) return refuseToken(bearerToken(req.authorization), token);
  if (isCrossOrigin(req)) return forbidden('cross-origin control requests are refused');
  if (!isLoopbackAddress(req.remoteAddress)) {
    return forbidden('control actions are allowed from loopback only (set monToken to allow remote callers)');
  }
  if (!hostIsAddressOrLocalhost(req.host)) return forbidden('control actions need Host to be localhost or an IP address');
  return undefined;
}

function forbidden(message: string): Refusal {
  return { status: 403, code: 'FORBIDDEN', message, headers: {} };
}

/** A browser request from another origin, or one that says so (browsers send Origin on every cross-origin POST). */
function isCrossOrigin(req: ControlRequest): boolean {
  if (req.secFetchSite !== undefined && req.secFetchSite !== 'same-origin' && req.secFetchSite !== 'none') return true;
  if (req.origin === undefined) return false;
  try {
    const origin = new URL(req.origin);
    // Parse Host with the origin's scheme, so that default ports and letter case compare alike.
    return req.host === undefined || new URL(`${origin.protocol}//${req.host}`).host !== origin.host;
  } catch {
    return true; // 'null' (sandboxed frame, file://, some redirects) or garbage
  }
}

/** True when the Host header names this machine by loopback name or by any IP literal. */
function hostIsAddressOrLocalhost(hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  const host = hostHeader.startsWith('[') ? hostHeader.slice(1, hostHeader.indexOf(']')) : hostHeader.replace(/:\d+$/, '');
  return host.toLowerCase() === 'localhost' || net.isIP(host) !== 0;
}

/** The guard, handed to the monitor by core's entry module (see monitor/lazy.ts). */
export interface ControlAccess {
  controlRequestOf: typeof controlRequestOf;
  refuseControl: typeof refuseControl;
  refuseToken: typeof refuseToken;
  bearerToken: typeof bearerToken;
}
