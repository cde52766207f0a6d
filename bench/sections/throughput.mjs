// 1. Throughput and latency: hello world, keep-alive, 2 workers; frameworks; scheduling.
import http from 'node:http';
import { get } from '../lib/http.mjs';
import { interleave, withContender } from '../lib/contenders.mjs';
import { median, ratio, round, verdict } from '../lib/stats.mjs';
import { runWrk } from '../lib/wrk.mjs';
import { measureGroupCpu } from '../lib/cpu.mjs';
import { pm2Version } from '../lib/pm2.mjs';

const C2 = { monitor: false };
const C2_MON = { monitor: true, monPort: 0 };

/** Warm-up: a short wrk run (full mode) or a few hundred keep-alive requests (quick mode). */
export async function warmUp(port, ctx) {
  if (!ctx.quick) return runWrk(`http://127.0.0.1:${port}/`, { seconds: 1 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
  const loops = Array.from({ length: 10 }, async () => {
    for (let i = 0; i < 20; i++) await get(port, '/', { agent });
  });
  await Promise.all(loops);
  agent.destroy();
}

/**
 * wrk against the contender, and the CPU its whole process group (master and workers) used
 * meanwhile, per request: unlike req/s this hardly moves when other jobs share the machine.
 */
export async function loadAndCost(c, ctx) {
  const { cpuMs, result } = await measureGroupCpu(c.masterPid, () => runWrk(`http://127.0.0.1:${c.port}/`, { seconds: ctx.wrkSeconds, connections: 50 }));
  return { ...result, cpuUsPerReq: (cpuMs * 1000) / result.requests };
}

async function measure(spec, ctx) {
  return withContender(spec, async (c) => {
    await warmUp(c.port, ctx);
    const r = await loadAndCost(c, ctx);
    if (!spec.countSpread) return r;
    await c.stop();
    const counts = c.handle.messages.filter((m) => m.worker).map((m) => m.requests);
    const total = counts.reduce((a, b) => a + b, 0);
    return {
      ...r,
      maxShare: total ? (Math.max(...counts) / total) * 100 : NaN,
      minShare: total ? (Math.min(...counts) / total) * 100 : NaN,
      workersSeen: counts.length,
    };
  });
}

function rowsFor(results, baseline, extra = () => ({})) {
  const base = median(results.get(baseline).map((r) => r.rps));
  return [...results].map(([name, runs]) => {
    const rps = median(runs.map((r) => r.rps));
    return {
      contender: name,
      'req/s (median)': rps,
      'p50 ms': median(runs.map((r) => r.p50)),
      'p99 ms': median(runs.map((r) => r.p99)),
      [`× ${baseline}`]: round(ratio(rps, base), 3),
      'server CPU µs/req': median(runs.map((r) => r.cpuUsPerReq)),
      'errors+non2xx': runs.reduce((a, r) => a + r.socketErrors + r.non2xx, 0),
      'req/s runs': runs.map((r) => Math.round(r.rps)).join(', '),
      ...extra(runs),
    };
  });
}

export async function throughput(ctx) {
  const notes = [];
  const summary = {};
  const bare = { name: 'node:cluster', app: 'bare-cluster.mjs', workers: 2 };
  const core = [
    { name: 'single process', app: 'single.mjs', workers: 1 },
    bare,
    { name: 'cluster2', app: 'cluster2.mjs', workers: 2, env: { BENCH_OPTIONS: C2 } },
    { name: 'cluster2 + monitor', app: 'cluster2.mjs', workers: 2, env: { BENCH_OPTIONS: C2_MON } },
    { name: `PM2 ${pm2Version()} -i 2`, pm2: 'pm2-app.cjs', workers: 2 },
  ];
  ctx.log('1a. plain http');
  const plain = await interleave(core, ctx.rounds, (s) => measure(s, ctx), ctx.log);
  const plainRows = rowsFor(plain, 'node:cluster');
  const pm2Name = core[4].name;
  const med = (name) => median(plain.get(name).map((r) => r.rps));
  summary.cluster2VsBare = ratio(med('cluster2'), med('node:cluster'));
  summary.cluster2MonitorVsBare = ratio(med('cluster2 + monitor'), med('node:cluster'));
  summary.cluster2VsPm2 = ratio(med('cluster2'), med(pm2Name));
  summary.cluster2Rps = med('cluster2');
  const cpu = (name) => median(plain.get(name).map((r) => r.cpuUsPerReq));
  summary.cluster2CpuPerReqVsBare = ratio(cpu('cluster2'), cpu('node:cluster'));
  notes.push(
    `Target cluster2 ≥ 0.98× node:cluster: ${round(summary.cluster2VsBare, 3)}× ${verdict(summary.cluster2VsBare >= 0.98)}; with the monitor on: ${round(summary.cluster2MonitorVsBare, 3)}×.`,
    `Target cluster2 ≥ PM2: ${round(summary.cluster2VsPm2, 3)}× ${verdict(summary.cluster2VsPm2 >= 1)}.`,
    `Server CPU per request (master + workers, /proc utime+stime during the wrk run ÷ requests): cluster2 ${round(summary.cluster2CpuPerReqVsBare, 3)}× node:cluster. It is the steadier figure when other jobs share the machine; req/s swings with them.`,
    'cluster2 rows: defaults except port, host 127.0.0.1, noWorkers 2, pids: false and monitor: false; "+ monitor" turns the monitor on (monPort 0). node:cluster: a primary that forks, workers that listen. PM2: `pm2 start pm2-app.cjs -i 2` (cluster mode).',
    `wrk -t1 -c50 -d${ctx.wrkSeconds}s --latency, keep-alive, 127.0.0.1, after a warm-up; ${ctx.rounds} round(s). Every server binds 127.0.0.1 and sends an x-pid header.`,
  );

  ctx.log('1b. frameworks');
  const fwSpecs = [];
  for (const fw of ['express', 'fastify', 'koa']) {
    fwSpecs.push({ name: `node:cluster + ${fw}`, app: 'bare-cluster.mjs', workers: 2, env: { BENCH_FRAMEWORK: fw } });
    fwSpecs.push({ name: `cluster2 + ${fw}`, app: 'cluster2.mjs', workers: 2, env: { BENCH_FRAMEWORK: fw, BENCH_OPTIONS: C2 } });
  }
  const adapters = {};
  const fw = await interleave(
    fwSpecs,
    ctx.rounds,
    async (s) => {
      const r = await withContender(s, async (c) => {
        if (c.ready?.adapter !== undefined) adapters[s.env.BENCH_FRAMEWORK] = c.ready.adapter;
        await warmUp(c.port, ctx);
        return loadAndCost(c, ctx);
      });
      return r;
    },
    ctx.log,
  );
  const fwRows = [];
  for (const name of ['express', 'fastify', 'koa']) {
    const b = median(fw.get(`node:cluster + ${name}`).map((r) => r.rps));
    for (const who of ['node:cluster', 'cluster2']) {
      const runs = fw.get(`${who} + ${name}`);
      const rps = median(runs.map((r) => r.rps));
      fwRows.push({
        contender: `${who} + ${name}`,
        'req/s (median)': rps,
        'p50 ms': median(runs.map((r) => r.p50)),
        'p99 ms': median(runs.map((r) => r.p99)),
        '× node:cluster': round(ratio(rps, b), 3),
        'server CPU µs/req': median(runs.map((r) => r.cpuUsPerReq)),
        wiring: who === 'cluster2' ? (adapters[name] ? `@cluster2/${name} listen()` : 'core c.listen(), adapter not ready') : `http.createServer / app.server`,
        'req/s runs': runs.map((r) => Math.round(r.rps)).join(', '),
      });
    }
    summary[`${name}Ratio`] = ratio(median(fw.get(`cluster2 + ${name}`).map((r) => r.rps)), b);
  }
  const missingAdapters = Object.entries(adapters)
    .filter(([, a]) => !a)
    .map(([n]) => n);
  if (missingAdapters.length)
    notes.push(
      `Adapters not ready when measured (${missingAdapters.join(', ')}): those rows use core's c.listen(() => http.createServer(app)) (fastify: app.server after ready()).`,
    );

  ctx.log('1c. scheduling');
  const sched = [
    { name: "cluster2 scheduling 'round-robin'", app: 'cluster2.mjs', workers: 2, env: { BENCH_OPTIONS: C2 }, countSpread: true },
    { name: "cluster2 scheduling 'os'", app: 'cluster2.mjs', workers: 2, env: { BENCH_OPTIONS: { ...C2, scheduling: 'os' } }, countSpread: true },
  ];
  const sc = await interleave(sched, ctx.rounds, (s) => measure(s, ctx), ctx.log);
  const schedRows = rowsFor(sc, sched[0].name, (runs) => ({
    'busiest worker %': median(runs.map((r) => r.maxShare)),
    'idlest worker %': median(runs.map((r) => r.minShare)),
  }));
  for (const r of schedRows) delete r['errors+non2xx'];
  summary.osVsRoundRobin = ratio(schedRows[1]['req/s (median)'], schedRows[0]['req/s (median)']);
  summary.osBusiestShare = schedRows[1]['busiest worker %'];
  summary.rrBusiestShare = schedRows[0]['busiest worker %'];
  notes.push(
    'Scheduling spread: each worker counts the requests it answered (warm-up included) and reports them at shutdown; 50 % / 50 % is perfectly even. wrk keeps 50 connections open, so the spread is decided per connection.',
  );

  return {
    notes,
    summary,
    tables: [
      { caption: 'plain node:http, 2 workers (single process: 1)', columns: Object.keys(plainRows[0]), rows: plainRows },
      { caption: 'frameworks, 2 workers', columns: Object.keys(fwRows[0]), rows: fwRows },
      { caption: 'scheduling, cluster2, 2 workers', columns: Object.keys(schedRows[0]), rows: schedRows },
    ],
  };
}
