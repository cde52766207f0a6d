// The socket.io app of the sticky-session benchmark, the same in both contenders: a socket.io 4.8
// Server on a plain http server (which answers 200 elsewhere, for the harness's readiness poll),
// with an acknowledged 'echo' event and a 'pid' event (which worker holds this client).
import http from 'node:http';
import { Server } from 'socket.io';

export function createSocketIoServer() {
  const server = http.createServer((req, res) => res.end('ok'));
  const io = new Server(server);
  io.on('connection', (socket) => {
    socket.on('echo', (payload, ack) => typeof ack === 'function' && ack(payload));
    // Asked once per client by the driver, to show how each contender spread the clients.
    socket.on('pid', (ack) => typeof ack === 'function' && ack(process.pid));
  });
  return { server, io };
}
