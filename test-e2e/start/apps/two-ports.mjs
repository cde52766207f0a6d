// An app with a public port and an admin port (PORT and ADMIN_PORT), both node:http.
import http from 'node:http';

function handler(name) {
  return (req, res) => {
    const url = new URL(req.url, 'http://app');
    res.setHeader('x-worker-pid', String(process.pid));
    const ms = Number(url.searchParams.get('ms') ?? 0);
    setTimeout(() => res.end(`${name} ${process.pid}`), ms);
  };
}
http.createServer(handler('public')).listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
http.createServer(handler('admin')).listen(Number(process.env.ADMIN_PORT ?? 3002), '127.0.0.1');
