// An unmodified Fastify 5 app: it builds, registers and listens by itself.
import Fastify from 'fastify';

const app = Fastify();
app.addHook('onSend', async (request, reply) => {
  reply.header('x-worker-pid', String(process.pid));
});
app.get('/slow', (request, reply) => {
  reply.raw.writeHead(200, { 'content-type': 'text/plain', 'x-worker-pid': String(process.pid) });
  reply.raw.flushHeaders();
  setTimeout(() => reply.raw.end(`ok ${process.pid}`), Number(request.query.ms ?? 500));
  return reply.hijack();
});
app.get('/whoami', async () => ({ pid: process.pid, instance: process.env.NODE_APP_INSTANCE, workerId: process.env.CLUSTER2_WORKER_ID }));
app.all('/*', async (request, reply) => reply.type('text/plain').send(`ok ${process.pid}`));
app.all('/', async (request, reply) => reply.type('text/plain').send(`ok ${process.pid}`));

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
