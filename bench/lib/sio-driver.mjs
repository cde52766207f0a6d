// socket.io-client load for the sticky-session benchmark: `clients` clients, each from its own
// loopback address (127.0.1.N, so that address-keyed stickiness spreads them as distinct machines
// would), default transports (long-polling, then the upgrade to WebSocket). Bounded in count and
// time; 127.0.0.1 only.
import http from 'node:http';
import { io } from 'socket.io-client';

const upgraded = (socket) => socket.connected && socket.io.engine?.transport?.name === 'websocket';

/**
 * Connects every client at once and measures until all are connected and upgraded; then each
 * client sends acknowledged 'echo' messages back to back for `seconds`. Resolves with
 * `{ connectMs, connectsPerS, acked, acksPerS, failed }` and disconnects everything.
 */
export async function socketIoLoad(port, { clients = 100, seconds = 3, connectTimeoutMs = 30_000 } = {}) {
  if (clients > 250) throw new Error('at most 250 clients (one loopback address each)');
  const sockets = [];
  let errors = 0;
  const started = performance.now();
  for (let i = 0; i < clients; i++) {
    const localAddress = `127.0.1.${i + 1}`;
    const socket = io(`http://127.0.0.1:${port}`, { reconnection: false, forceNew: true, localAddress, agent: new http.Agent({ localAddress }) });
    socket.on('connect_error', () => errors++);
    sockets.push(socket);
  }
  try {
    const deadline = started + connectTimeoutMs;
    while (!sockets.every(upgraded)) {
      if (performance.now() > deadline) throw new Error(`${sockets.filter(upgraded).length} of ${clients} socket.io clients connected and upgraded within ${connectTimeoutMs} ms (${errors} connect errors)`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const connectMs = performance.now() - started;
    let acked = 0;
    let failed = 0;
    const until = performance.now() + seconds * 1000;
    const payload = 'x'.repeat(64);
    await Promise.all(sockets.map(async (socket) => {
      while (performance.now() < until) {
        try {
          await socket.timeout(5000).emitWithAck('echo', payload);
          acked++;
        } catch {
          failed++;
        }
      }
    }));
    return { connectMs, connectsPerS: (clients * 1000) / connectMs, acked, acksPerS: acked / seconds, failed: failed + errors };
  } finally {
    for (const socket of sockets) socket.disconnect();
  }
}
