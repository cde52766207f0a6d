// A Fastify app served by 2 workers on one port, with ECV for the load balancer and the monitor.
//   node examples/fastify/server.js        (after `pnpm build`; PORT and MON_PORT move the ports)
// Ctrl-C shuts it down gracefully: in-flight requests are answered, each worker then closes the
// app (its onClose hooks run) and exits 0.
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { cluster2Plugin, listen } from '@cluster2/fastify';

const port = Number(process.env.PORT ?? 3000);
const monPort = Number(process.env.MON_PORT ?? 3001);
const here = (name) => fileURLToPath(new URL(name, import.meta.url));

const users = new Map([
  ['1', { id: '1', name: 'Ada' }],
  ['2', { id: '2', name: 'Linus' }],
]);

const app = Fastify();
// ECV as real routes (GET /ecv, POST /ecv/disable|enable); app.cluster2 / request.cluster2 is the serving Cluster.
// Not awaited: plugins then load at ready(), which listen() calls only in workers, never in the master.
app.register(cluster2Plugin, { ecv: { control: true } });

app.get('/', async (request) => ({ hello: 'fastify', worker: process.pid, ecv: request.cluster2?.ecv }));
app.get('/users/:id', async (request, reply) => {
  const user = users.get(request.params.id);
  if (!user) return reply.code(404).send({ error: `no user ${request.params.id}` });
  return user;
});
app.post('/echo', async (request) => ({ received: request.body, worker: process.pid }));
app.get('/slow', async (request) => {
  await new Promise((resolve) => setTimeout(resolve, Number(request.query.ms ?? 2000)));
  return { slow: true, worker: process.pid };
});
app.get('/error', async () => {
  throw new Error('something broke');
});
app.addHook('onClose', async () => {
  // Release what the app holds (database pools, queues, …).
  console.log(`worker ${process.pid}: app closed`);
});

const cluster = await listen(app, { port, monPort, noWorkers: 2, pids: here('./pids'), logs: here('./logs') });

if (cluster.isMaster) {
  cluster.on('died', (pid, code, signal) => console.log(`worker ${pid} exited (code ${code}, signal ${signal})`));
  cluster.on('stopped', () => console.log('cluster stopped'));
  const base = `http://127.0.0.1:${port}`;
  console.log(`
cluster2 + Fastify: master ${process.pid}, ${cluster.status()?.workers.length} workers on port ${port}
  curl ${base}/
  curl ${base}/users/1
  curl -X POST -H 'content-type: application/json' -d '{"hi":1}' ${base}/echo
  curl ${base}/error                          Fastify's error handler (500)
  curl -i ${base}/ecv                         the load balancer's health check
  curl -X POST ${base}/ecv/disable            out of rotation (then /ecv answers 400); /ecv/enable puts it back
  monitor  http://127.0.0.1:${monPort}/
  stop     Ctrl-C (graceful), or kill -TERM ${process.pid}
`);
}
