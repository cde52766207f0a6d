// An unmodified Koa app: app.listen() by itself.
import Koa from 'koa';

const app = new Koa();
app.use(async (ctx) => {
  ctx.set('x-worker-pid', String(process.pid));
  if (ctx.path === '/slow') {
    await new Promise((resolve) => setTimeout(resolve, Number(ctx.query.ms ?? 500)));
    ctx.body = `ok ${process.pid}`;
  } else if (ctx.path === '/whoami') {
    ctx.body = { pid: process.pid, instance: process.env.NODE_APP_INSTANCE, workerId: process.env.CLUSTER2_WORKER_ID };
  } else {
    ctx.body = `ok ${process.pid}`;
  }
});
app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
