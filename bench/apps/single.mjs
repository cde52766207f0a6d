// One process, no cluster: the baseline (and the start-up floor). SIGTERM → server.close().
import { createServer, report, served } from './servers.mjs';

const port = Number(process.env.BENCH_PORT);
const server = await createServer(process.env.BENCH_FRAMEWORK ?? 'http');
server.listen(port, '127.0.0.1', () => report({ ready: true, port, pid: process.pid }));
process.once('SIGTERM', () => {
  report({ worker: process.pid, requests: served.requests });
  // Since Node 19 close() also ends idle keep-alive sockets at once.
  server.close(() => process.exit(0));
});
