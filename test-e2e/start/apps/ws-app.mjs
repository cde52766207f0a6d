// A WebSocket app (ws on a node:http server) that listens by itself. With DRAIN_HOOK=1 it closes
// its sockets with 1001 when cluster2 drains the worker, through @cluster2/core's onDraining();
// without, it knows nothing of cluster2.
import http from 'node:http';
import { WebSocketServer } from 'ws';

const server = http.createServer((req, res) => res.end(`ok ${process.pid}`));
const wss = new WebSocketServer({ server });
wss.on('connection', (socket) => socket.send(`hello from ${process.pid}`));
if (process.env.DRAIN_HOOK === '1') {
  const { onDraining } = await import('@cluster2/core');
  onDraining(() => {
    for (const client of wss.clients) client.close(1001, 'server going away');
  });
}
server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
