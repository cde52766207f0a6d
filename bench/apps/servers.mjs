// The app under test, the same in every contender: "hello world" with an x-pid header, in plain
// node:http or one of the frameworks. Each process counts the requests it answered.
// Section 12 (logs) adds, in plain node:http only: BENCH_LOG=pino, one pino line per request on
// stdout; BENCH_FLOOD=1, a GET /flood?lines=N that makes the worker print N lines of 100 bytes.
// Section 13 (http2): BENCH_FRAMEWORK=h2, the same hello world on node:http2 in cleartext (h2c).
import cluster from 'node:cluster';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';

const PID = String(process.pid);
export const served = { requests: 0 };

// pino as most apps create it: its default destination, sonic-boom writing to fd 1 (stdout).
const logger = process.env.BENCH_LOG === 'pino' ? (await import('pino')).default() : undefined;

function plain() {
  if (process.env.BENCH_FLOOD) return http.createServer(floodHandler);
  return http.createServer((req, res) => {
    served.requests++;
    logger?.info({ method: req.method, url: req.url }, 'request');
    res.setHeader('x-pid', PID);
    res.end('hello world');
  });
}

const FLOOD_LINE_BYTES = 100;
let flooded = false;

/** `/flood?lines=N` starts printing N lines once per process; anything else is hello world. */
function floodHandler(req, res) {
  res.setHeader('x-pid', PID);
  const lines = Number(/^\/flood\?lines=(\d+)$/.exec(req.url ?? '')?.[1]);
  if (lines > 0 && !flooded) {
    flooded = true;
    setImmediate(() => flood(lines));
  }
  res.end('hello world');
}

/**
 * N lines of 100 bytes (newline included) as fast as stdout takes them, one write each as
 * console.log does, in batches of 1000 so the process still answers between them: `flood <pid>
 * <seq>` padded with dots. A write that returns false (a full pipe) waits for 'drain'.
 */
function flood(lines) {
  let i = 0;
  const batch = () => {
    for (const end = Math.min(lines, i + 1000); i < end;) {
      const ok = process.stdout.write(`${`flood ${PID} ${i++} `.padEnd(FLOOD_LINE_BYTES - 1, '.')}\n`);
      if (ok === false) return void process.stdout.once('drain', batch);
    }
    if (i < lines) setImmediate(batch);
  };
  batch();
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

/** Hello world on an h2c server (HTTP/2 with prior knowledge: no TLS, no HTTP/1.1). */
function h2() {
  return http2.createServer((req, res) => {
    served.requests++;
    res.setHeader('x-pid', PID);
    res.end('hello world');
  });
}

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

/** A server (not yet listening) for `framework` ('http' | 'express' | 'fastify' | 'koa' | 'ws' | 'h2'): an http.Server, or an Http2Server for 'h2'. */
export async function createServer(framework = 'http', app) {
  switch (framework) {
    case 'http':
      return plain();
    case 'h2':
      return h2();
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

// With BENCH_REPORT_FD (set by the harness when the app's stdout is a file under test), the
// primary reports on that fd; a worker's fd 3 is its IPC channel, so workers keep stdout.
const reportFd = process.env.BENCH_REPORT_FD && cluster.isPrimary ? Number(process.env.BENCH_REPORT_FD) : undefined;

/** One JSON line on stdout (or BENCH_REPORT_FD): how the apps report to the harness. */
export function report(message) {
  const line = `${JSON.stringify(message)}\n`;
  if (reportFd === undefined) process.stdout.write(line);
  else fs.writeSync(reportFd, line);
}
