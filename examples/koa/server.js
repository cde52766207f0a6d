// A Koa app served by 2 workers on one port, with ECV for the load balancer and the monitor.
//   node examples/koa/server.js            (after `pnpm build`; PORT and MON_PORT move the ports)
// Ctrl-C shuts it down gracefully: in-flight requests are answered, then every process exits 0.
import { fileURLToPath } from 'node:url';
import Koa from 'koa';
import { Router } from '@koa/router';
import { cluster2Koa, listen } from '@cluster2/koa';

const port = Number(process.env.PORT ?? 3000);
const monPort = Number(process.env.MON_PORT ?? 3001);
const here = (name) => fileURLToPath(new URL(name, import.meta.url));

const users = new Map([
  ['1', { id: '1', name: 'Ada' }],
  ['2', { id: '2', name: 'Linus' }],
]);

const app = new Koa();
// ECV (GET /ecv, POST /ecv/disable|enable) first; ctx.cluster2 is the serving Cluster.
cluster2Koa(app, { ecv: { control: true } });

// The app's error handler: JSON instead of Koa's plain-text 500.
app.use(async (ctx, next) => {
  try {
    await next();
  } catch (error) {
    ctx.status = error.status ?? 500;
    ctx.body = { error: error.message };
  }
});

const router = new Router();
router.get('/', (ctx) => {
  ctx.body = { hello: 'koa', worker: process.pid, ecv: ctx.cluster2?.ecv };
});
router.get('/users/:id', (ctx) => {
  const user = users.get(ctx.params.id);
  if (!user) ctx.throw(404, `no user ${ctx.params.id}`);
  ctx.body = user;
});
router.get('/slow', async (ctx) => {
  await new Promise((resolve) => setTimeout(resolve, Number(ctx.query.ms ?? 2000)));
  ctx.body = { slow: true, worker: process.pid };
});
router.get('/error', () => {
  throw new Error('something broke');
});
app.use(router.routes());
app.use(router.allowedMethods());

const cluster = await listen(app, { port, monPort, noWorkers: 2, pids: here('./pids'), logs: here('./logs') });

if (cluster.isMaster) {
  cluster.on('died', (pid, code, signal) => console.log(`worker ${pid} exited (code ${code}, signal ${signal})`));
  cluster.on('stopped', () => console.log('cluster stopped'));
  const base = `http://127.0.0.1:${port}`;
  console.log(`
cluster2 + Koa: master ${process.pid}, ${cluster.status()?.workers.length} workers on port ${port}
  curl ${base}/
  curl ${base}/users/1
  curl ${base}/users/9                        404 from the app
  curl ${base}/error                          the app's error handler (500)
  curl -i ${base}/ecv                         the load balancer's health check
  curl -X POST ${base}/ecv/disable            out of rotation (then /ecv answers 400); /ecv/enable puts it back
  monitor  http://127.0.0.1:${monPort}/
  stop     Ctrl-C (graceful), or kill -TERM ${process.pid}
`);
}
