// 6. The idle master: CPU over a quiet window and RSS, with 2 and 8 workers, against a bare
// node:cluster primary and PM2's daemon (the God process, PM2's cluster primary).
import { sleep } from '../lib/http.mjs';
import { interleave, withContender } from '../lib/contenders.mjs';
import { measureCpu, rssMiB } from '../lib/cpu.mjs';
import { median, round, verdict } from '../lib/stats.mjs';
import { pm2Version } from '../lib/pm2.mjs';

export async function idle(ctx) {
  const windowMs = ctx.quick ? 1000 : 5000;
  const settleMs = ctx.quick ? 500 : 2000;
  const sizes = ctx.quick ? [2] : [2, 8];
  const specs = sizes.flatMap((n) => [
    { name: `cluster2 master, ${n} workers`, app: 'cluster2.mjs', workers: n, env: { BENCH_OPTIONS: { monitor: true, monPort: 0 } }, n, who: 'cluster2' },
    { name: `node:cluster primary, ${n} workers`, app: 'bare-cluster.mjs', workers: n, n, who: 'bare' },
    { name: `PM2 ${pm2Version()} daemon, ${n} workers`, pm2: 'pm2-app.cjs', workers: n, n, who: 'pm2' },
  ]);
  const results = await interleave(
    specs,
    ctx.rounds,
    (spec) =>
      withContender(spec, async (c) => {
        await sleep(settleMs);
        const cpu = await measureCpu(c.masterPid, windowMs);
        return { percent: cpu.percent, msPerSecond: cpu.msPerSecond, rss: rssMiB(c.masterPid) };
      }),
    ctx.log,
  );
  const rows = specs.map((s) => {
    const runs = results.get(s.name);
    return {
      process: s.name,
      'CPU % (median)': median(runs.map((r) => r.percent)),
      'CPU % runs': runs.map((r) => round(r.percent, 2)).join(', '),
      'RSS MiB': median(runs.map((r) => r.rss)),
    };
  });
  const summary = {};
  for (const n of sizes) {
    summary[`cluster2Cpu${n}`] = rows.find((r) => r.process === `cluster2 master, ${n} workers`)['CPU % (median)'];
    summary[`cluster2Rss${n}`] = rows.find((r) => r.process === `cluster2 master, ${n} workers`)['RSS MiB'];
    summary[`pm2Cpu${n}`] = rows.find((r) => r.process.startsWith('PM2') && r.process.endsWith(`${n} workers`))['CPU % (median)'];
  }
  const worst = Math.max(...sizes.map((n) => summary[`cluster2Cpu${n}`]));
  return {
    summary,
    notes: [
      `Target idle master < 1 % CPU: worst ${round(worst, 2)} % ${verdict(worst < 1)}.`,
      `utime+stime of the master pid from /proc/<pid>/stat over ${windowMs} ms of no traffic, ${settleMs} ms after it became ready (10 ms clock-tick resolution: ${round(1000 / windowMs, 2)} % steps); RSS is VmRSS at the end. cluster2 runs with its defaults (monitor on, heartbeatInterval 5000 ms: about one heartbeat per worker per window). ${ctx.rounds} round(s), interleaved.`,
    ],
    tables: [{ columns: Object.keys(rows[0]), rows }],
  };
}
