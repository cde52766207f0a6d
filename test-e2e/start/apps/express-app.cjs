// An unmodified Express 5 app in CommonJS that listens only when it is the entry point, the
// common `require.main === module` guard.
const express = require('express');

const app = express();
app.use((req, res, next) => {
  res.set('x-worker-pid', String(process.pid));
  next();
});
app.get('/slow', (req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.flushHeaders();
  setTimeout(() => res.end(`ok ${process.pid}`), Number(req.query.ms ?? 500));
});
app.get('/whoami', (req, res) => res.json({ pid: process.pid, instance: process.env.NODE_APP_INSTANCE, workerId: process.env.CLUSTER2_WORKER_ID }));
app.all('/{*any}', (req, res) => res.type('text').send(`ok ${process.pid}`));

if (require.main === module) app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
module.exports = app;
