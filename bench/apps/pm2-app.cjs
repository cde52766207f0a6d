// The PM2 contender: plain node:http hello world, graceful on SIGINT as PM2's docs show.
// BENCH_FRAMEWORK=h2: the same on node:http2 in cleartext (h2c), as servers.mjs does.
const http = require('node:http');
const http2 = require('node:http2');

const PID = String(process.pid);
const handler = (req, res) => {
  res.setHeader('x-pid', PID);
  res.end('hello world');
};
const server = process.env.BENCH_FRAMEWORK === 'h2' ? http2.createServer(handler) : http.createServer(handler);
server.listen(Number(process.env.BENCH_PORT), '127.0.0.1');
process.on('SIGINT', () => server.close(() => process.exit(0)));
