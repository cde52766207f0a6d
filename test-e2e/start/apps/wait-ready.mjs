// PM2's wait_ready pattern: listen, warm up, then process.send('ready'). READY_AFTER ms of warm-up;
// NEVER_READY=1 never says it.
import http from 'node:http';

const server = http.createServer((req, res) => {
  res.setHeader('x-worker-pid', String(process.pid));
  res.end(`ok ${process.pid}`);
});
server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  if (process.env.NEVER_READY) return;
  setTimeout(() => process.send?.('ready'), Number(process.env.READY_AFTER ?? 0));
});
