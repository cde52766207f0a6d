// An app that knows nothing of cluster2: it builds its server and listens on PORT itself, as it
// would under `node server.js`. cluster2 start runs it in a master and N workers:
//   cd examples/start && npx cluster2 start           (cluster2.config.json names this file)
//   curl http://127.0.0.1:3000/                       answered by one of the workers
//   curl http://127.0.0.1:3000/ecv                    the load balancer's health check
import http from 'node:http';

const port = Number(process.env.PORT ?? 3000);

const server = http.createServer((req, res) => {
  if (req.url === '/slow') {
    setTimeout(() => res.end(`slow answer from worker ${process.env.NODE_APP_INSTANCE} (pid ${process.pid})\n`), 1000);
    return;
  }
  res.setHeader('content-type', 'text/plain');
  res.end(`hello from worker ${process.env.NODE_APP_INSTANCE} (pid ${process.pid})\n`);
});

server.listen(port, () => console.log(`worker ${process.env.NODE_APP_INSTANCE} listening on ${port}`));
