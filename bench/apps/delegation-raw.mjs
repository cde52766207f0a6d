// The floor for delegation: a hand-written process.send echo between node:cluster workers and
// their primary, matched by sequence number.
import cluster from 'node:cluster';
import { go, runWhenTold } from './delegation-loop.mjs';
import { report } from './servers.mjs';

const workers = Number(process.env.BENCH_WORKERS ?? 2);
if (cluster.isPrimary) {
  let ready = 0;
  cluster.on('message', (worker, message) => {
    if (message?.type === 'ping') worker.send({ type: 'pong', seq: message.seq, payload: message.payload });
    else if (message?.type === 'bench-ready' && ++ready === workers) {
      report({ ready: true, pid: process.pid });
      go(Object.values(cluster.workers), JSON.parse(process.env.BENCH_RUN));
    }
  });
  for (let i = 0; i < workers; i++) cluster.fork();
} else {
  const pending = new Map();
  let next = 0;
  process.on('message', (message) => {
    if (message?.type !== 'pong') return;
    pending.get(message.seq)?.(message.payload);
    pending.delete(message.seq);
  });
  runWhenTold((n) => {
    const seq = next++;
    return new Promise((resolve) => {
      pending.set(seq, resolve);
      process.send({ type: 'ping', seq, payload: { pid: process.pid, seq: n } });
    });
  });
  process.send({ type: 'bench-ready' });
}
