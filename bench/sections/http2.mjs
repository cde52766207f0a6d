// 13. HTTP/2 (h2c hello world, 2 workers). 13a: h2load throughput and server CPU per request,
// cluster2 against bare node:cluster. 13b: rolling reloads under a node:http2 load of sessions ×
// streams: failed streams and sessions closed without GOAWAY, cluster2 (SIGUSR2) against a
// hand-rolled node:cluster restart and `pm2 reload`.
import { interleave, withContender } from '../lib/contenders.mjs';
import { measureGroupCpu } from '../lib/cpu.mjs';
import { h2Get, startH2Load } from '../lib/h2-driver.mjs';
import { runH2load } from '../lib/h2load.mjs';
import { pm2Version } from '../lib/pm2.mjs';
import { median, ratio, round, sum, verdict } from '../lib/stats.mjs';
import { QUIET_MS, reloadUnderLoad } from './reload.mjs';

const WORKERS = 2;
const H2 = { BENCH_FRAMEWORK: 'h2' };
// h2load: 16 connections with up to 16 streams in flight each.
const CLIENTS = 16;
const STREAMS = 16;
// The reload load: 4 sessions × 16 streams, closed loops.
const LOAD_SESSIONS = 4;
const LOAD_STREAMS = 16;

const BARE = 'node:cluster';
const C2 = 'cluster2';
const bareSpec = { name: BARE, app: 'bare-cluster.mjs', workers: WORKERS, env: H2, probe: h2Get };
const cluster2Spec = { name: C2, app: 'cluster2.mjs', workers: WORKERS, env: { ...H2, BENCH_OPTIONS: { monitor: false } }, probe: h2Get };

/** h2load against the contender, and the CPU its process group (master and workers) used meanwhile. */
async function h2Throughput(c, ctx) {
  const url = `http://127.0.0.1:${c.port}/`;
  await runH2load(url, ctx.quick ? { clients: CLIENTS, streams: STREAMS, requests: 2000 } : { clients: CLIENTS, streams: STREAMS, seconds: 1 });
  const { cpuMs, result } = await measureGroupCpu(c.masterPid, () => runH2load(url, { clients: CLIENTS, streams: STREAMS, seconds: ctx.wrkSeconds }));
  // Every answer the server sent counts, also those that landed after the timed run's end.
  const served = Math.max(result.answered2xx, result.done);
  return { rps: result.rps, cpuMsPer1000: (cpuMs * 1000) / served, meanMs: result.meanMs, failed: result.failed + result.errored + result.timeout, served };
}

async function throughputPart(ctx) {
  const specs = [bareSpec, cluster2Spec];
  const results = await interleave(specs, ctx.rounds, (spec) => withContender(spec, (c) => h2Throughput(c, ctx)), ctx.log);
  const rps = (name) => median(results.get(name).map((r) => r.rps));
  const cpu = (name) => median(results.get(name).map((r) => r.cpuMsPer1000));
  const rows = specs.map(({ name }) => {
    const runs = results.get(name);
    return {
      contender: name,
      'req/s (median)': rps(name),
      [`× ${BARE}`]: round(ratio(rps(name), rps(BARE)), 3),
      'server CPU ms/1000 req': cpu(name),
      [`CPU × ${BARE}`]: round(ratio(cpu(name), cpu(BARE)), 3),
      'mean ms/req': median(runs.map((r) => r.meanMs)),
      'failed+errored': sum(runs.map((r) => r.failed)),
      'req/s runs': runs.map((r) => Math.round(r.rps)).join(', '),
    };
  });
  const summary = {
    cluster2Rps: rps(C2),
    bareRps: rps(BARE),
    cluster2VsBare: ratio(rps(C2), rps(BARE)),
    cluster2CpuPer1000: cpu(C2),
    bareCpuPer1000: cpu(BARE),
    cluster2CpuVsBare: ratio(cpu(C2), cpu(BARE)),
  };
  const notes = [
    `Target cluster2 ≥ 0.98× node:cluster in req/s: ${round(summary.cluster2VsBare, 3)}× ${verdict(summary.cluster2VsBare >= 0.98)}; server CPU per request ≤ 1.02×: ${round(summary.cluster2CpuVsBare, 3)}× ${verdict(summary.cluster2CpuVsBare <= 1.02)}.`,
    `13a: \`h2load -t1 -c${CLIENTS} -m${STREAMS} -D${ctx.wrkSeconds}\` against \`http://127.0.0.1:<port>/\` (h2c with prior knowledge), after a warm-up (${ctx.quick ? '2,000 requests' : 'a 1 s run'}); ${ctx.rounds} round(s), interleaved, each on a fresh cluster. The app: \`http2.createServer((req, res) => res.end('hello world'))\` with an x-pid header, in ${WORKERS} workers; cluster2 with monitor: false, node:cluster a primary that forks and workers that listen. Server CPU: master + workers, /proc utime+stime during the timed run ÷ responses.`,
  ];
  return { rows, summary, notes };
}

/** One reload under load on a fresh cluster: stream counts while it runs. */
async function oneReload(spec, c) {
  const { counts, reloadMs } = await reloadUnderLoad(spec, c, startH2Load(c.port, { sessions: LOAD_SESSIONS, streams: LOAD_STREAMS }));
  return { ...counts, reloadMs };
}

async function reloadPart(ctx) {
  const reloads = ctx.quick ? 1 : 5;
  const pm2Name = `PM2 ${pm2Version()} (pm2 reload)`;
  const specs = [
    { ...cluster2Spec, name: `${C2} (kill -USR2 master)` },
    { ...bareSpec, name: `${BARE} (fork, then worker.kill() each old worker)` },
    { name: pm2Name, pm2: 'pm2-app.cjs', workers: WORKERS, env: H2, probe: h2Get },
  ];
  const results = await interleave(specs, reloads, (spec) => withContender(spec, (c) => oneReload(spec, c)), ctx.log);
  const rows = specs.map(({ name }) => {
    const runs = results.get(name);
    const reasons = {};
    for (const r of runs) for (const [k, v] of Object.entries(r.reasons)) reasons[k] = (reasons[k] ?? 0) + v;
    const total = sum(runs.map((r) => r.ok + r.failed));
    return {
      contender: name,
      reloads: runs.length,
      streams: total,
      failed: sum(runs.map((r) => r.failed)),
      'failed %': (sum(runs.map((r) => r.failed)) / total) * 100,
      'refused, retried': sum(runs.map((r) => r.refused)),
      'not sent (GOAWAY), resent': sum(runs.map((r) => r.notSent)),
      sessions: sum(runs.map((r) => r.sessions)),
      'closed without GOAWAY': sum(runs.map((r) => r.closedWithoutGoaway)),
      'reload ms (median)': median(runs.map((r) => r.reloadMs)),
      'failures by reason':
        Object.entries(reasons)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ') || 'none',
    };
  });
  const [c2, bare, pm2] = rows;
  const summary = {
    reloadCluster2Failed: c2.failed,
    reloadCluster2Streams: c2.streams,
    reloadCluster2ClosedWithoutGoaway: c2['closed without GOAWAY'],
    reloadBareFailed: bare.failed,
    reloadBareStreams: bare.streams,
    reloadPm2Failed: pm2.failed,
    reloadPm2Streams: pm2.streams,
  };
  const notes = [
    `Target: no failed stream and no session closed without GOAWAY for cluster2 — ${c2.failed} failed of ${c2.streams}, ${c2['closed without GOAWAY']} closed without GOAWAY ${verdict(c2.failed === 0 && c2['closed without GOAWAY'] === 0)}.`,
    `13b: ${LOAD_SESSIONS} node:http2 sessions × ${LOAD_STREAMS} closed-loop streams (GET /, no retries except as below); ${reloads} reload(s) per contender, each on a fresh ${WORKERS}-worker cluster, interleaved; the load runs from ${QUIET_MS} ms before the reload until ${QUIET_MS} ms after it finished (cluster2 and node:cluster: both old workers exited; PM2: \`pm2 reload\` returned). A session told GOAWAY is replaced by a new one, as browsers and gRPC do; a stream refused with REFUSED_STREAM (never processed) and a request the client could not send on a session already going away are sent again and counted apart, not as failures. Any other end of a stream (reset, session closed, timeout of 10 s, non-200) fails it; node:http2 resets a client stream with CANCEL when its connection closed under it and with INTERNAL_ERROR when the connection failed (ECONNRESET). PM2's reload takes longer, so its load runs longer and sends more streams.`,
    "node:cluster: on SIGUSR2 its primary replaces each worker in turn, forking the new one and, once it listens, calling `worker.kill()` on the old (node:cluster disconnects it, then SIGTERM; the worker exits), as a hand-rolled rolling restart does. PM2: `pm2 start pm2-app.cjs -i 2` with the same h2c app, which closes its server on SIGINT as PM2's graceful-shutdown docs show (on Node 20, `server.close()` of an Http2Server stops accepting sessions but leaves the open ones be, so PM2 kills each old instance after its `kill_timeout`, 1.6 s by default), then `pm2 reload`.",
  ];
  return { rows, summary, notes };
}

export async function http2(ctx) {
  ctx.log('13a. throughput (h2load)');
  const t = await throughputPart(ctx);
  ctx.log('13b. rolling reloads under HTTP/2 load');
  const r = await reloadPart(ctx);
  return {
    summary: { ...t.summary, ...r.summary },
    notes: [...t.notes, ...r.notes],
    tables: [
      { caption: `h2c hello world, ${WORKERS} workers, h2load`, columns: Object.keys(t.rows[0]), rows: t.rows },
      { caption: `rolling reloads under ${LOAD_SESSIONS} sessions × ${LOAD_STREAMS} streams`, columns: Object.keys(r.rows[0]), rows: r.rows },
    ],
  };
}
