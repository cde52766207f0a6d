import type net from 'node:net';

/** The socket options a net.Server sets on the connections it accepts itself (its `noDelay`, `keepAlive`). */
interface AcceptOptions {
  noDelay?: boolean;
  keepAlive?: boolean;
  /** Seconds (net.Server keeps the option's ms divided by 1000). */
  keepAliveInitialDelay?: number;
}

/**
 * Sets on a handed-over socket what the server would have set had it accepted the connection:
 * node:net applies `noDelay` and `keepAlive` only in its own accept path, and node:http turns
 * `noDelay` on by default. Without this, a handed-over socket keeps Nagle's algorithm on: a
 * small write made while an earlier one is unacknowledged waits for the peer's (delayed) ACK.
 */
function applySocketOptions(server: net.Server, socket: net.Socket): void {
  const options = server as net.Server & AcceptOptions;
  if (options.noDelay) socket.setNoDelay(true);
  if (options.keepAlive) socket.setKeepAlive(true, (options.keepAliveInitialDelay ?? 0) * 1000);
}

/**
 * Serves a connection this worker did not accept through its own listener (sticky sessions, a late
 * round-robin hand-off): what node:net's accept path would have done, then the server's
 * 'connection' (an http server attaches its parser, an https one starts the TLS handshake).
 */
export function serveHandedOver(server: net.Server, socket: net.Socket): void {
  applySocketOptions(server, socket);
  server.emit('connection', socket);
}
