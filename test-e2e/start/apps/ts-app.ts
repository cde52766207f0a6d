// A TypeScript entry, run as is where node strips types (Node 22.18+, 23.6+).
import http from 'node:http';

interface Answer {
  pid: number;
}
const answer: Answer = { pid: process.pid };
http
  .createServer((req: http.IncomingMessage, res: http.ServerResponse) => {
    res.setHeader('x-worker-pid', String(answer.pid));
    res.end(`ok ${answer.pid}`);
  })
  .listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
