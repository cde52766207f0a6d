// An app that knows nothing of cluster2: a node:http server on PORT (0: any), answering the load
// driver's protocol (`ok <pid>` with x-worker-pid; /slow?ms=N sends its headers, then the body).
import http from 'node:http';

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://app');
  res.setHeader('x-worker-pid', String(process.pid));
  if (url.pathname === '/slow') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.flushHeaders();
    setTimeout(() => res.end(`ok ${process.pid}`), Number(url.searchParams.get('ms') ?? 500));
  } else if (url.pathname === '/whoami') {
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        pid: process.pid,
        instance: process.env.NODE_APP_INSTANCE,
        workerId: process.env.CLUSTER2_WORKER_ID,
        argv: process.argv.slice(2),
        execArgv: process.execArgv,
        greeting: process.env.GREETING,
        cwd: process.cwd(),
      }),
    );
  } else {
    res.end(`ok ${process.pid}`);
  }
});
server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
