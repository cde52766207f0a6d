// Delegation round trips through cluster2: c.delegate('echo', …) in workers, c.handle in the master.
import nodeCluster from 'node:cluster';
import http from 'node:http';
import { Cluster } from '@cluster2/core';
import { go, runWhenTold } from './delegation-loop.mjs';
import { report } from './servers.mjs';

const workers = Number(process.env.BENCH_WORKERS ?? 2);
const c = new Cluster({ port: Number(process.env.BENCH_PORT), host: '127.0.0.1', pids: false, monitor: false, noWorkers: workers });
c.handle('echo', (payload) => payload);
if (c.isWorker) {
  // Distinct payloads: identical concurrent requests would be coalesced into one.
  runWhenTold((seq) => c.delegate('echo', { pid: process.pid, seq }));
}
await c.listen(() => http.createServer((req, res) => res.end('ok')));
if (!c.isWorker) {
  report({ ready: true, pid: process.pid });
  go(Object.values(nodeCluster.workers), JSON.parse(process.env.BENCH_RUN));
}
