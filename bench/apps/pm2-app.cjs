// The PM2 contender: plain node:http hello world, graceful on SIGINT as PM2's docs show.
const http = require('node:http');

const PID = String(process.pid);
const server = http.createServer((req, res) => {
  res.setHeader('x-pid', PID);
  res.end('hello world');
});
server.listen(Number(process.env.BENCH_PORT), '127.0.0.1');
process.on('SIGINT', () => server.close(() => process.exit(0)));
