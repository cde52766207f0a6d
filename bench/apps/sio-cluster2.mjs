// socket.io on cluster2 with sticky: true (the master hashes each client's address to a worker).
import { Cluster } from '@cluster2/core';
import { report } from './servers.mjs';
import { createSocketIoServer } from './sio-common.mjs';

const c = new Cluster({
  port: Number(process.env.BENCH_PORT),
  host: '127.0.0.1',
  pids: false,
  monitor: false,
  noWorkers: Number(process.env.BENCH_WORKERS ?? 2),
  sticky: true,
});
await c.listen(() => createSocketIoServer().server);
if (!c.isWorker) report({ ready: true, port: c.options.port, pid: process.pid });
