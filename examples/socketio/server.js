// socket.io served by 2 workers on one port: sticky sessions keep each client's long-polling
// requests on one worker, and @socket.io/cluster-adapter carries io.emit() to every worker.
//   node examples/socketio/server.js      (after `pnpm build`; PORT and MON_PORT move the ports)
//   open http://127.0.0.1:3000/           a page that prints every broadcast it receives
// Every worker broadcasts a tick every second: each client receives the ticks of both workers,
// whichever worker holds its connection.
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { Cluster } from '@cluster2/core';
import { Server } from 'socket.io';
import { createAdapter, setupPrimary } from '@socket.io/cluster-adapter';

const port = Number(process.env.PORT ?? 3000);
const monPort = Number(process.env.MON_PORT ?? 3001);
const here = (name) => fileURLToPath(new URL(name, import.meta.url));

const c = new Cluster({
  port,
  monPort,
  noWorkers: 2,
  // socket.io's long-polling handshake and its later requests must reach the same worker.
  sticky: true,
  pids: here('./pids'),
  logs: here('./logs'),
});

// The master relays the adapter's messages between workers over node:cluster's IPC.
if (c.isMaster) setupPrimary();

const PAGE = `<!doctype html><meta charset="utf-8"><title>cluster2 + socket.io</title>
<pre id="log"></pre><script src="/socket.io/socket.io.js"></script><script>
const log = (line) => (document.getElementById('log').textContent += line + '\\n');
const socket = io();
socket.on('hello', ({ worker }) => log('connected to worker ' + worker));
socket.on('tick', ({ from, at }) => log('tick from worker ' + from + ' at ' + at));
</script>`;

function factory() {
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(PAGE);
  });
  const io = new Server(server, { adapter: createAdapter() });
  io.on('connection', (socket) => socket.emit('hello', { worker: process.pid }));
  const ticker = setInterval(() => io.emit('tick', { from: process.pid, at: new Date().toISOString() }), 1000);
  // Draining: close this worker's engine connections. The clients see "transport close" and
  // reconnect by themselves, to a worker that still serves. (io.disconnectSockets() would reach
  // every worker through the adapter, and a server-side disconnect does not reconnect.)
  c.on('draining', () => {
    clearInterval(ticker);
    for (const client of Object.values(io.engine.clients)) client.close();
  });
  return server;
}

if (c.isMaster) {
  c.on('died', (pid, code, signal) => console.log(`worker ${pid} exited (code ${code}, signal ${signal})`));
  c.on('stopped', () => console.log('cluster stopped'));
}

await c.listen(factory);

if (c.isMaster) {
  console.log(`
cluster2 + socket.io: master ${process.pid}, ${c.status()?.workers.length} workers on port ${port}
  open     http://127.0.0.1:${port}/            ticks broadcast by every worker
  monitor  http://127.0.0.1:${monPort}/
  reload   kill -USR2 ${process.pid}            clients reconnect to new workers
  stop     Ctrl-C (graceful), or kill -TERM ${process.pid}
`);
}
