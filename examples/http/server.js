// The cluster2 demo: a plain node:http app served by 2 workers, with ECV and the monitor. Every
// request is logged by the worker that answers it; the master writes those lines labelled with the
// worker (`[w0 4251] GET /`), to the terminal and to examples/http/logs/out.log, and the monitor's
// log viewer shows them live.
//   node examples/http/server.js          then open http://127.0.0.1:3001/ (monitor)
//   curl http://127.0.0.1:3000/           answered by one of the workers
//   curl http://127.0.0.1:3000/ecv        the load balancer's health check
import http from 'node:http';
import { Cluster } from '@cluster2/core';

const port = Number(process.env.PORT ?? 3000);
const monPort = Number(process.env.MON_PORT ?? 3001);

const c = new Cluster({
  port,
  monPort,
  noWorkers: 2,
  pids: new URL('./pids', import.meta.url).pathname,
  logs: { dir: new URL('./logs', import.meta.url).pathname, time: true },
  ecv: { control: true },
});

const app = http.createServer((req, res) => {
  console.log(`${req.method} ${req.url}`);
  if (req.url === '/slow') {
    setTimeout(() => res.end(`slow answer from worker ${process.pid}\n`), 1000);
    return;
  }
  res.setHeader('content-type', 'text/plain');
  res.end(`hello from worker ${process.pid}\n`);
});

const ports = await c.listen(() => app);

if (c.isMaster) {
  const status = c.status();
  console.log(`
cluster2 demo: master ${process.pid}, ${status?.workers.length} workers on port ${ports[0]}
  app      curl http://127.0.0.1:${ports[0]}/
  ECV      curl -i http://127.0.0.1:${ports[0]}/ecv
  disable  curl -X POST http://127.0.0.1:${ports[0]}/ecv/disable
  monitor  open http://127.0.0.1:${monPort}/   (metrics: /metrics, status: /api/status, live logs)
  logs     cd examples/http && npx cluster2 logs --follow
  reload   kill -USR2 ${process.pid}    stop: Ctrl-C (graceful), twice to force
`);
}
