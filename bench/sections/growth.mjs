// 8. How the master's cost grows with the worker count, idle and under load.
import { sleep } from '../lib/http.mjs';
import { withContender } from '../lib/contenders.mjs';
import { measureCpu } from '../lib/cpu.mjs';
import { ratio, round, verdict } from '../lib/stats.mjs';
import { runWrk } from '../lib/wrk.mjs';

export async function growth(ctx) {
  const counts = ctx.quick ? [1, 2] : [1, 2, 4, 8, 16];
  const windowMs = ctx.quick ? 1000 : 5000;
  const seconds = ctx.wrkSeconds;
  const rows = [];
  for (const n of counts) {
    const spec = { name: `cluster2, ${n} workers`, app: 'cluster2.mjs', workers: n, env: { BENCH_OPTIONS: { monitor: true, monPort: 0 } } };
    const row = await withContender(spec, async (c) => {
      await sleep(ctx.quick ? 300 : 2000);
      const url = `http://127.0.0.1:${c.port}/`;
      const idle = await measureCpu(c.masterPid, windowMs);
      const keepAlive = await measureCpu(c.masterPid, () => runWrk(url, { seconds }));
      const close = await measureCpu(c.masterPid, () => runWrk(url, { seconds, headers: ['Connection: close'] }));
      return {
        workers: n,
        'idle ms/s': idle.msPerSecond,
        'idle ms/s per worker': idle.msPerSecond / n,
        'keep-alive load ms/s': keepAlive.msPerSecond,
        'keep-alive req/s': keepAlive.result.rps,
        'conn-close load ms/s': close.msPerSecond,
        'conn-close req/s': close.result.rps,
        'conn-close master µs per request': (close.cpuMs * 1000) / Math.max(1, close.result.requests),
      };
    });
    ctx.log(
      `  ${n} workers: idle ${round(row['idle ms/s'], 2)} ms/s, keep-alive ${round(row['keep-alive load ms/s'], 1)} ms/s, conn-close ${round(row['conn-close load ms/s'], 1)} ms/s`,
    );
    rows.push(row);
  }
  const first = rows[0];
  const last = rows.at(-1);
  const growthFactor = ratio(last['idle ms/s'], Math.max(first['idle ms/s'], 1000 / windowMs / 2));
  const workerFactor = last.workers / first.workers;
  const summary = {
    idleGrowthFactor: growthFactor,
    idleMsPerSecondAtMax: last['idle ms/s'],
    idleMsPerSecondPerWorkerAtMax: last['idle ms/s per worker'],
    keepAliveMsPerSecondAtMax: last['keep-alive load ms/s'],
    connCloseMsPerSecondAtMax: last['conn-close load ms/s'],
  };
  return {
    summary,
    notes: [
      `Target: grows no faster than linearly. Idle: ${round(first['idle ms/s'], 2)} ms/s with ${first.workers} worker(s) → ${round(last['idle ms/s'], 2)} ms/s with ${last.workers} (${round(growthFactor, 1)}× for ${workerFactor}× the workers; a reading of 0 counts as half a clock tick) ${verdict(growthFactor <= workerFactor * 1.25)}. Per worker: ${rows.map((r) => `${r.workers}: ${round(r['idle ms/s per worker'], 2)}`).join(', ')} ms/s.`,
      `Master CPU (ms of CPU per second of wall time) from /proc/<pid>/stat: idle over ${windowMs} ms, then during wrk -c50 -d${seconds}s with keep-alive, then with \`Connection: close\` (a new connection per request: with round-robin scheduling the master accepts every connection and hands it to a worker). Defaults (monitor on, heartbeat every 5000 ms). Clock-tick resolution: ${round(10000 / windowMs, 1)} ms/s idle. One pass; on 2 cores, 8 and 16 workers oversubscribe the CPU.`,
    ],
    tables: [{ columns: Object.keys(rows[0]), rows }],
  };
}
