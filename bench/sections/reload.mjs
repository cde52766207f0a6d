// 3. Rolling reload under keep-alive load: failed requests out of total, cluster2 (SIGUSR2 to
// the master) vs PM2 (`pm2 reload`).
import { pollUntil, sleep, startLoad } from '../lib/http.mjs';
import { interleave, withContender } from '../lib/contenders.mjs';
import { median, sum } from '../lib/stats.mjs';
import { pm2Version } from '../lib/pm2.mjs';

const CONCURRENCY = 20;
/** The load runs this long before and after each reload, ms. */
export const QUIET_MS = 300;

/** Resolves once `n` messages matching `pred` arrived after index `from`. */
function countAfter(handle, from, pred, n, timeoutMs = 60_000) {
  return pollUntil(async () => handle.messages.slice(from).filter(pred).length >= n, { timeoutMs, everyMs: 10, what: `${n} reports` });
}

/** SIGUSR2 to the master (cluster2's rolling reload; bare-cluster.mjs's hand-rolled one), done once `workers` workers died. */
export async function reloadCluster2(c, workers) {
  const from = c.handle.messages.length;
  process.kill(c.masterPid, 'SIGUSR2');
  // Done when every old worker has been replaced and has exited after draining.
  await countAfter(c.handle, from, (m) => m.event === 'died', workers);
}

/**
 * One reload of contender `c` (PM2's `pm2 reload`, or SIGUSR2) under `load`, which runs from
 * QUIET_MS before it until QUIET_MS after it: what `load.stop()` counted, and the reload's ms.
 */
export async function reloadUnderLoad(spec, c, load) {
  await sleep(QUIET_MS);
  const t0 = performance.now();
  if (spec.pm2) await c.pm2.reload();
  else await reloadCluster2(c, spec.workers);
  const reloadMs = performance.now() - t0;
  await sleep(QUIET_MS);
  return { counts: await load.stop(), reloadMs };
}

async function oneReload(spec, c) {
  const { counts, reloadMs } = await reloadUnderLoad(spec, c, startLoad(c.port, { concurrency: CONCURRENCY }));
  return { total: counts.total, failed: counts.failed, reloadMs, reasons: counts.reasons };
}

export async function reload(ctx) {
  const rounds = ctx.quick ? 1 : 5;
  const specs = [
    { name: 'cluster2 (kill -USR2 master)', app: 'cluster2.mjs', workers: 2, env: { BENCH_OPTIONS: { monitor: false } } },
    { name: `PM2 ${pm2Version()} (pm2 reload), app closes on SIGINT`, pm2: 'pm2-app.cjs', workers: 2 },
  ];
  const results = await interleave(specs, rounds, (spec) => withContender(spec, (c) => oneReload(spec, c)), ctx.log);
  const rows = specs.map((s) => {
    const runs = results.get(s.name);
    const reasons = {};
    for (const r of runs) for (const [k, v] of Object.entries(r.reasons)) reasons[k] = (reasons[k] ?? 0) + v;
    return {
      contender: s.name,
      reloads: runs.length,
      requests: sum(runs.map((r) => r.total)),
      failed: sum(runs.map((r) => r.failed)),
      'failed %': (sum(runs.map((r) => r.failed)) / sum(runs.map((r) => r.total))) * 100,
      'reload ms (median)': median(runs.map((r) => r.reloadMs)),
      'failures by reason':
        Object.entries(reasons)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ') || 'none',
    };
  });
  const summary = { cluster2Failed: rows[0].failed, cluster2Requests: rows[0].requests, pm2Failed: rows[1].failed, pm2Requests: rows[1].requests };
  return {
    summary,
    notes: [
      `Target: no failed request for cluster2 — ${summary.cluster2Failed} of ${summary.cluster2Requests} ${summary.cluster2Failed === 0 ? '(met)' : '(**missed**)'}.`,
      `${CONCURRENCY} client loops on one keep-alive agent (node:http, no retries), each sending the next GET as soon as the last is answered; a request counts as failed on any socket error, timeout (5 s) or non-200. ${rounds} reload(s) per contender, each on a fresh 2-worker cluster, interleaved; load runs from ${QUIET_MS} ms before the reload until ${QUIET_MS} ms after it finished (cluster2: both old workers exited; PM2: \`pm2 reload\` returned).`,
      'The PM2 app follows PM2\'s graceful-shutdown docs: `process.on("SIGINT", () => server.close(() => process.exit(0)))` (Node 20\'s close() also ends idle keep-alive sockets at once).',
    ],
    tables: [{ columns: Object.keys(rows[0]), rows }],
  };
}
