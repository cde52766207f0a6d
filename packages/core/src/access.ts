import net from 'node:net';

// Who may flip a switch: the rules shared by ECV's control routes (in every worker) and the
// monitor's control API (in the master).

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

/** The rules above, handed to the monitor by core's entry module (see monitor/lazy.ts). */
export interface ControlAccess {
  isLoopbackAddress: typeof isLoopbackAddress;
  bearerToken: typeof bearerToken;
  tokenMatches: typeof tokenMatches;
}

/** Constant-time token comparison (hashing first gives both sides the same length). */
export function tokenMatches(given: string, expected: string): boolean {
  // Loaded on first use, not imported: node:crypto costs a worker ~2 ms of start-up (respawn and
  // reload time), and most workers never see a control request.
  const { createHash, timingSafeEqual } = process.getBuiltinModule('node:crypto');
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
