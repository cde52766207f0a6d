// socket.io on bare node:cluster with @socket.io/sticky, as its README sets it up: the primary
// listens and routes by session id (setupMaster), each worker takes connections from it
// (setupWorker) without listening.
import cluster from 'node:cluster';
import http from 'node:http';
import { setupMaster, setupWorker } from '@socket.io/sticky';
import { report } from './servers.mjs';
import { createSocketIoServer } from './sio-common.mjs';

const port = Number(process.env.BENCH_PORT);
const workers = Number(process.env.BENCH_WORKERS ?? 2);

if (cluster.isPrimary) {
  const httpServer = http.createServer();
  // least-connection is its default; BENCH_LB picks another ('round-robin', 'random').
  setupMaster(httpServer, { loadBalancingMethod: process.env.BENCH_LB ?? 'least-connection' });
  // As @socket.io/sticky's README says: Buffers must cross IPC as Buffers.
  cluster.setupPrimary({ serialization: 'advanced' });
  let online = 0;
  cluster.on('online', () => {
    if (++online === workers) httpServer.listen(port, '127.0.0.1', () => report({ ready: true, port, pid: process.pid }));
  });
  for (let i = 0; i < workers; i++) cluster.fork();
  process.once('SIGTERM', () => {
    httpServer.close();
    for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGTERM');
    setTimeout(() => process.exit(0), 200).unref();
  });
} else {
  const { io } = createSocketIoServer();
  setupWorker(io);
}
