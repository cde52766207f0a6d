// An Express app served by 2 workers on one port, with ECV for the load balancer and the monitor.
//   node examples/express/server.js        (after `pnpm build`; PORT and MON_PORT move the ports)
// Ctrl-C shuts it down gracefully: in-flight requests are answered, then every process exits 0.
import { fileURLToPath } from 'node:url';
import express from 'express';
import { cluster2, listen, onDrained } from '@cluster2/express';

const port = Number(process.env.PORT ?? 3000);
const monPort = Number(process.env.MON_PORT ?? 3001);
const here = (name) => fileURLToPath(new URL(name, import.meta.url));

const users = new Map([
  ['1', { id: '1', name: 'Ada' }],
  ['2', { id: '2', name: 'Linus' }],
]);

// Called only in workers, never in the master: open pools and clients here, close them in onDrained().
function buildApp() {
  onDrained(() => console.log(`worker ${process.pid}: drained, closing what the app holds`));
  const app = express();
  // ECV (GET /ecv, POST /ecv/disable|enable) first, then the app; req.cluster2 is the serving Cluster.
  app.use(cluster2({ ecv: { control: true } }));
  app.use(express.json());

  app.get('/', (req, res) => res.json({ hello: 'express', worker: process.pid, ecv: req.cluster2?.ecv }));
  app.get('/users/:id', (req, res) => {
    const user = users.get(req.params.id);
    if (!user) return res.status(404).json({ error: `no user ${req.params.id}` });
    res.json(user);
  });
  app.post('/echo', (req, res) => res.json({ received: req.body, worker: process.pid }));
  app.get('/slow', (req, res) => {
    setTimeout(() => res.json({ slow: true, worker: process.pid }), Number(req.query.ms ?? 2000));
  });
  app.get('/error', () => {
    throw new Error('something broke');
  });
  app.use((error, req, res, _next) => {
    res.status(500).json({ error: error.message });
  });
  return app;
}

const cluster = await listen(buildApp, { port, monPort, noWorkers: 2, pids: here('./pids'), logs: here('./logs') });

if (cluster.isMaster) {
  cluster.on('died', (pid, code, signal) => console.log(`worker ${pid} exited (code ${code}, signal ${signal})`));
  cluster.on('stopped', () => console.log('cluster stopped'));
  const base = `http://127.0.0.1:${port}`;
  console.log(`
cluster2 + Express: master ${process.pid}, ${cluster.status()?.workers.length} workers on port ${port}
  curl ${base}/
  curl ${base}/users/1
  curl -X POST -H 'content-type: application/json' -d '{"hi":1}' ${base}/echo
  curl ${base}/error                          the app's error handler (500)
  curl -i ${base}/ecv                         the load balancer's health check
  curl -X POST ${base}/ecv/disable            out of rotation (then /ecv answers 400); /ecv/enable puts it back
  monitor  http://127.0.0.1:${monPort}/
  stop     Ctrl-C (graceful), or kill -TERM ${process.pid}
`);
}
