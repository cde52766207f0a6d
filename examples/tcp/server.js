// A clustered TCP echo server: every line you send comes back, prefixed by the worker's pid.
//   node examples/tcp/server.js      then: nc 127.0.0.1 4000
import net from 'node:net';
import { Cluster } from '@cluster2/core';

const c = new Cluster({
  port: Number(process.env.PORT ?? 4000),
  noWorkers: 2,
  monitor: false,
  pids: false,
});

const ports = await c.listen(() =>
  net.createServer((socket) => {
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => socket.write(`[${process.pid}] ${chunk}`));
    socket.on('error', () => {});
  }),
);

if (c.isMaster) console.log(`TCP echo on port ${ports[0]}: nc 127.0.0.1 ${ports[0]}`);
