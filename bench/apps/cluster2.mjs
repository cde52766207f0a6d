// cluster2 core (plain http) or cluster2 + framework. Options: BENCH_OPTIONS (JSON) over
// { port: BENCH_PORT, host: 127.0.0.1, pids: false, noWorkers: BENCH_WORKERS }. A framework uses
// its @cluster2/<framework> adapter's listen(app, options) when the adapter has one, otherwise
// core's c.listen(() => http.createServer(app)) (reported as adapter: false); BENCH_NO_ADAPTER=1
// forces the latter, to tell the adapter's cost from core's. BENCH_FRAMEWORK=ws: the WebSocket echo app;
// BENCH_FRAMEWORK=h2: hello world on node:http2 (h2c).
import { Cluster } from '@cluster2/core';
import { apps, createServer, report, served, webSockets } from './servers.mjs';

const framework = process.env.BENCH_FRAMEWORK ?? 'http';
const options = {
  port: Number(process.env.BENCH_PORT),
  host: '127.0.0.1',
  pids: false,
  noWorkers: Number(process.env.BENCH_WORKERS ?? 2),
  ...JSON.parse(process.env.BENCH_OPTIONS ?? '{}'),
};

async function start() {
  if (apps[framework] && !process.env.BENCH_NO_ADAPTER) {
    const adapter = await import(`@cluster2/${framework}`).catch(() => ({}));
    if (typeof adapter.listen === 'function') {
      const app = await apps[framework]();
      return { cluster: await adapter.listen(app, options), adapter: true };
    }
  }
  const c = new Cluster(options);
  const ports = await c.listen(() => createServer(framework));
  return { cluster: c, adapter: false, ports };
}

const { cluster: c, adapter } = await start();
if (c.isWorker) {
  c.on('shutdown', () => report({ worker: process.pid, requests: served.requests }));
  // The ws app closes its WebSockets as the worker starts draining, as docs/realtime.md tells apps to.
  c.on('draining', () => {
    for (const ws of webSockets) ws.close(1001, 'going away');
  });
} else {
  for (const event of ['forked', 'listening', 'died', 'recycled', 'giveup']) {
    c.on(event, (pid, reason) => report({ event, pid, reason }));
  }
  report({ ready: true, port: options.port, pid: process.pid, adapter });
}
