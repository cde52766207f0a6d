// An app that knows nothing of cluster2 or PM2: the hello-world handler of servers.mjs in a plain
// node:http server on PORT, as `cluster2 start`, `pm2 start` and `pm2-runtime` run it unchanged.
import http from 'node:http';

const PID = String(process.pid);

http
  .createServer((req, res) => {
    res.setHeader('x-pid', PID);
    res.end('hello world');
  })
  .listen(Number(process.env.PORT), '127.0.0.1');
