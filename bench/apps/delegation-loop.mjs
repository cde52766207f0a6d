// The worker side of the delegation benchmark, shared by the cluster2 and raw apps: on the
// primary's { type: 'bench-go', run } it sends one request after another for `duration` ms
// (after `warmup` ms not counted) and reports every round-trip latency, in µs.
//
// Results go to the primary over IPC and the primary prints them: two workers writing ~100 KB
// lines to the stdout pipe they share at the same moment interleave them (writes over PIPE_BUF
// are not atomic), and a report is lost.
import { report } from './servers.mjs';

const RESULT = 'bench-result';

export function runWhenTold(roundTrip) {
  process.on('message', async (message) => {
    if (message?.type !== 'bench-go') return;
    if (!message.run) return process.send({ type: RESULT, result: { delegation: process.pid, latencies: [], elapsedMs: 0 } });
    const latencies = [];
    const warmupEnd = performance.now() + message.warmup;
    while (performance.now() < warmupEnd) await roundTrip(-1);
    const start = performance.now();
    const end = start + message.duration;
    let seq = 0;
    for (let now = start; now < end;) {
      await roundTrip(seq++);
      const after = performance.now();
      latencies.push(Math.round((after - now) * 10000) / 10);
      now = after;
    }
    process.send({ type: RESULT, result: { delegation: process.pid, latencies, elapsedMs: performance.now() - start } });
  });
}

/** Primary side: tells the first `active` workers to run (the others report empty) once all are up, and prints their results. */
export function go(workers, { active, duration, warmup }) {
  workers.forEach((worker, i) => {
    worker.on('message', (message) => message?.type === RESULT && report(message.result));
    worker.send({ type: 'bench-go', run: i < active, duration, warmup });
  });
}
