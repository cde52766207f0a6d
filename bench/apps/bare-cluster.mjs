// Bare node:cluster: the primary forks BENCH_WORKERS workers, nothing else (optionally respawns).
// BENCH_PIPE=1: workers get pipes for stdout/stderr (silent: true) and the primary pipes them to
// its own, the least any capture of workers' output can cost.
// SIGUSR2: a hand-rolled rolling restart, one worker at a time: fork its replacement, wait until
// that one listens, then `worker.kill()` the old one (node:cluster disconnects it, then SIGTERM).
import cluster from 'node:cluster';
import { createServer, report, served } from './servers.mjs';

const port = Number(process.env.BENCH_PORT);
const workers = Number(process.env.BENCH_WORKERS ?? 2);

if (cluster.isPrimary) {
  if (process.env.BENCH_SCHEDULING === 'os') cluster.schedulingPolicy = cluster.SCHED_NONE;
  if (process.env.BENCH_PIPE) {
    cluster.setupPrimary({ silent: true });
    cluster.on('fork', (worker) => {
      worker.process.stdout.pipe(process.stdout, { end: false });
      worker.process.stderr.pipe(process.stderr, { end: false });
    });
  }
  let listening = 0;
  let stopping = false;
  cluster.on('listening', (worker) => {
    report({ event: 'listening', pid: worker.process.pid });
    if (++listening === workers) report({ ready: true, port, pid: process.pid });
  });
  cluster.on('exit', (worker) => {
    report({ event: 'died', pid: worker.process.pid });
    if (!stopping && process.env.BENCH_RESPAWN) cluster.fork();
  });
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on('SIGUSR2', async () => {
    for (const old of Object.values(cluster.workers)) {
      await new Promise((resolve) => cluster.fork().once('listening', resolve));
      await new Promise((resolve) => {
        old.once('exit', resolve);
        old.kill();
      });
    }
  });
  process.once('SIGTERM', () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGTERM');
    cluster.on('exit', () => Object.keys(cluster.workers).length === 0 && process.exit(0));
  });
} else {
  const server = await createServer(process.env.BENCH_FRAMEWORK ?? 'http');
  server.listen(port, '127.0.0.1');
  process.once('SIGTERM', () => {
    report({ worker: process.pid, requests: served.requests });
    process.exit(0);
  });
}
