// The app under test, the same in every contender: "hello world" with an x-pid header, in plain
// node:http or one of the frameworks. Each process counts the requests it answered.
import http from 'node:http';

const PID = String(process.pid);
export const served = { requests: 0 };

function plain() {
  return http.createServer((req, res) => {
    served.requests++;
    res.setHeader('x-pid', PID);
    res.end('hello world');
  });
}

export async function expressApp() {
  const { default: express } = await import('express');
  const app = express();
  app.get('/', (req, res) => {
    served.requests++;
    res.set('x-pid', PID).send('hello world');
  });
  return app;
}

export async function fastifyApp() {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  app.get('/', async (request, reply) => {
    served.requests++;
    reply.header('x-pid', PID);
    return 'hello world';
  });
  return app;
}

export async function koaApp() {
  const { default: Koa } = await import('koa');
  const app = new Koa();
  app.use((ctx) => {
    served.requests++;
    ctx.set('x-pid', PID);
    ctx.body = 'hello world';
  });
  return app;
}

export const apps = { express: expressApp, fastify: fastifyApp, koa: koaApp };

/** The open WebSockets of the 'ws' app in this process (closed with 1001 in cluster2's 'draining'). */
export const webSockets = new Set();

/**
 * The WebSocket echo app: plain http (hello world, so probes work) with a ws server on it. A
 * client gets `{"pid":N}` on connect, then every message back as it is.
 */
async function wsEcho() {
  const { WebSocketServer } = await import('ws');
  const server = plain();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => {
    webSockets.add(ws);
    ws.on('close', () => webSockets.delete(ws));
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.send(`{"pid":${PID}}`);
  });
  return server;
}

/** An http.Server (not yet listening) for `framework` ('http' | 'express' | 'fastify' | 'koa' | 'ws'). */
export async function createServer(framework = 'http', app) {
  switch (framework) {
    case 'http':
      return plain();
    case 'ws':
      return wsEcho();
    case 'express':
      return http.createServer(app ?? (await expressApp()));
    case 'koa':
      return http.createServer((app ?? (await koaApp())).callback());
    case 'fastify': {
      const f = app ?? (await fastifyApp());
      await f.ready();
      return f.server;
    }
    default:
      throw new Error(`unknown framework ${framework}`);
  }
}

/** One JSON line on stdout: how the apps report to the harness. */
export function report(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}
