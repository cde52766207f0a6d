// socket.io-client load for the sticky-session benchmark: `clients` clients, each from its own
// loopback address (127.0.1.N, so that address-keyed stickiness spreads them as distinct machines
// would), default transports (long-polling, then the upgrade to WebSocket). Bounded in count and
// time; 127.0.0.1 only.
import http from 'node:http';
import { io } from 'socket.io-client';

const upgraded = (socket) => socket.connected && socket.io.engine?.transport?.name === 'websocket';

/**
 * Connects every client at once and measures until all are connected and upgraded; then each
 * client sends acknowledged 'echo' messages back to back for `seconds`, inside `measureEcho(run)`
 * (e.g. the server's CPU around it). Resolves with `{ connectMs, connectsPerS, acked, acksPerS,
 * connectFailures, failedEchoes, spread, clientCpuMs, echoMeasure }`: spread is the clients per
 * worker, most first; clientCpuMs this process's CPU during the echoes; echoMeasure what
 * `measureEcho` resolved with. Disconnects everything. A client that fails to connect (or drops) is counted and left out of the echo load.
 */
export async function socketIoLoad(port, { clients = 100, seconds = 3, connectTimeoutMs = 10_000, measureEcho = (run) => run() } = {}) {
  if (clients > 250) throw new Error('at most 250 clients (one loopback address each)');
  const sockets = [];
  const failedSockets = new Set();
  const started = performance.now();
  for (let i = 0; i < clients; i++) {
    const localAddress = `127.0.1.${i + 1}`;
    const socket = io(`http://127.0.0.1:${port}`, { reconnection: false, forceNew: true, localAddress, agent: new http.Agent({ localAddress }) });
    // Without reconnection a client that failed stays failed: counted, and left out of the echo load.
    socket.on('connect_error', () => failedSockets.add(socket));
    socket.on('disconnect', () => failedSockets.add(socket));
    sockets.push(socket);
  }
  try {
    const deadline = started + connectTimeoutMs;
    let lastUpgradeAt = started;
    const done = new Set();
    while (done.size + failedSockets.size < clients && performance.now() < deadline) {
      for (const socket of sockets) {
        if (!done.has(socket) && !failedSockets.has(socket) && upgraded(socket)) {
          done.add(socket);
          lastUpgradeAt = performance.now();
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const working = sockets.filter((socket) => done.has(socket) && !failedSockets.has(socket));
    if (working.length === 0) throw new Error(`none of ${clients} socket.io clients connected and upgraded within ${connectTimeoutMs} ms`);
    const connectMs = lastUpgradeAt - started;
    const connectFailures = clients - working.length;
    const perWorker = new Map();
    for (const pid of await Promise.all(
      working.map((socket) =>
        socket
          .timeout(5000)
          .emitWithAck('pid')
          .catch(() => 'unknown'),
      ),
    )) {
      perWorker.set(pid, (perWorker.get(pid) ?? 0) + 1);
    }
    const spread = [...perWorker.values()].sort((a, b) => b - a);
    let acked = 0;
    let failed = 0;
    const payload = 'x'.repeat(64);
    const echo = async () => {
      const until = performance.now() + seconds * 1000;
      await Promise.all(
        working.map(async (socket) => {
          while (performance.now() < until) {
            try {
              await socket.timeout(5000).emitWithAck('echo', payload);
              acked++;
            } catch {
              failed++;
            }
          }
        }),
      );
    };
    const clientCpuBefore = process.cpuUsage();
    const echoMeasure = await measureEcho(echo);
    const clientCpu = process.cpuUsage(clientCpuBefore);
    return {
      connectMs,
      connectsPerS: (working.length * 1000) / connectMs,
      acked,
      acksPerS: acked / seconds,
      connectFailures,
      failedEchoes: failed,
      spread,
      clientCpuMs: (clientCpu.user + clientCpu.system) / 1000,
      echoMeasure,
    };
  } finally {
    for (const socket of sockets) socket.disconnect();
  }
}
