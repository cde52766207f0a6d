// A WebSocket echo server (ws) on the factory's http.Server, served by 2 workers on one port.
//   node examples/websocket/server.js     (after `pnpm build`; PORT and MON_PORT move the ports)
//   npx wscat -c ws://127.0.0.1:3000/    then type: every line comes back with the worker's pid
// cluster2 leaves upgraded sockets alone (no idle timeout; ws pings if you want keep-alives) and
// counts them as `upgraded` in the monitor. On shutdown, reload or recycle, each worker emits
// 'draining' just before its listener closes: the app closes its WebSockets there with 1001
// Going Away, so clients know to reconnect (to a new worker) instead of seeing 1006.
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { Cluster } from '@cluster2/core';
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 3000);
const monPort = Number(process.env.MON_PORT ?? 3001);
const here = (name) => fileURLToPath(new URL(name, import.meta.url));

const c = new Cluster({ port, monPort, noWorkers: 2, pids: here('./pids'), logs: here('./logs'), ecv: { control: true } });

let wss;
// Set once this worker drains: a client may still reach it on a connection opened just before the
// listener closed, and what opens then is closed at once (the drain would wait for it).
let draining = false;
c.on('draining', () => {
  draining = true;
  for (const ws of wss?.clients ?? []) ws.close(1001, 'server restarting');
});

function factory() {
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`WebSocket echo: connect to ws://${req.headers.host}/ (worker ${process.pid})\n`);
  });
  wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => {
    ws.on('error', () => {}); // a client's bad frame: ws answers with a close frame; keep the worker alive
    ws.send(JSON.stringify({ type: 'hello', worker: process.pid }));
    if (draining) return ws.close(1001, 'server restarting');
    ws.on('message', (data) => ws.send(JSON.stringify({ type: 'echo', text: data.toString(), worker: process.pid })));
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
cluster2 + ws: master ${process.pid}, ${c.status()?.workers.length} workers on port ${port}
  npx wscat -c ws://127.0.0.1:${port}/       every message comes back with the worker's pid
  monitor  http://127.0.0.1:${monPort}/       (WebSockets show as "upgraded")
  reload   kill -USR2 ${process.pid}          clients get 1001 and reconnect to new workers
  stop     Ctrl-C (graceful), or kill -TERM ${process.pid}
`);
}
