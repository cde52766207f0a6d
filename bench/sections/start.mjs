// 11. `cluster2 start` with an unmodified app (bench/apps/unmodified.mjs): throughput against the
// library API and bare node:cluster, rolling reloads under keep-alive load against `pm2 reload`,
// and the time from spawn to the first response against `pm2 start` and `pm2-runtime`.
import { reloadCluster2, startCluster2 } from '../lib/cluster2-cli.mjs';
import { interleave, loadRow, medianOf, withContender } from '../lib/contenders.mjs';
import { firstAnswer, pollUntil, sleep, startLoad, workerPids } from '../lib/http.mjs';
import { Pm2, pm2Version, startPm2Runtime } from '../lib/pm2.mjs';
import { freePort, startApp } from '../lib/proc.mjs';
import { median, percentile, ratio, round, sum, verdict } from '../lib/stats.mjs';
import { loadAndCost, warmUp } from './throughput.mjs';

const APP = 'unmodified.mjs';
const WORKERS = 2;
const LOAD_CONCURRENCY = 20;
const QUIET_MS = 300;
// A fresh-connection probe every 5 ms: fine enough for times of hundreds of ms, light enough
// not to slow down the start or reload it is timing.
const PROBE_EVERY_MS = 5;

const START = `cluster2 start -w ${WORKERS}`;
const LIBRARY = 'cluster2 library API';
const BARE = 'node:cluster';

/**
 * Probes from `t0` until `workers` distinct pids not in `old` answered 200: `{ firstMs, allMs }`,
 * the first such answer and the one that completed the set, ms since `t0`.
 */
async function newGeneration(port, t0, workers, old = new Set()) {
  const fresh = new Set();
  let firstMs;
  const allMs = await firstAnswer(
    port,
    t0,
    (pid) => {
      if (!pid || old.has(pid)) return false;
      firstMs ??= performance.now() - t0;
      fresh.add(pid);
      return fresh.size >= workers;
    },
    { everyMs: PROBE_EVERY_MS, timeoutMs: 60_000 },
  );
  return { firstMs, allMs, pids: fresh };
}

// 11a. Throughput: the same hello world under `cluster2 start`, the library API and node:cluster.
async function throughputPart(ctx) {
  const specs = [
    { name: BARE, app: 'bare-cluster.mjs', workers: WORKERS },
    { name: LIBRARY, app: 'cluster2.mjs', workers: WORKERS, env: { BENCH_OPTIONS: { monitor: false } } },
    { name: START, start: APP, workers: WORKERS },
  ];
  const results = await interleave(
    specs,
    ctx.rounds,
    (spec) =>
      withContender(spec, async (c) => {
        await warmUp(c.port, ctx);
        return loadAndCost(c, ctx);
      }),
    ctx.log,
  );
  const rps = (name) => medianOf(results, name, (r) => r.rps);
  const rows = specs.map(({ name }) => loadRow(results, name, { [`× ${BARE}`]: BARE, [`× ${LIBRARY}`]: LIBRARY }));
  const cpu = (name) => medianOf(results, name, (r) => r.cpuUsPerReq);
  const summary = {
    startRps: rps(START),
    startVsLibrary: ratio(rps(START), rps(LIBRARY)),
    startVsBare: ratio(rps(START), rps(BARE)),
    libraryVsBare: ratio(rps(LIBRARY), rps(BARE)),
    startCpuPerReqVsLibrary: ratio(cpu(START), cpu(LIBRARY)),
  };
  const notes = [
    `Target \`${START}\` ≥ 0.98× the library API: ${round(summary.startVsLibrary, 3)}× ${verdict(summary.startVsLibrary >= 0.98)}; ${round(summary.startVsBare, 3)}× node:cluster (the library API: ${round(summary.libraryVsBare, 3)}×). Server CPU per request: \`cluster2 start\` ${round(summary.startCpuPerReqVsLibrary, 3)}× the library API.`,
    `Throughput: \`PORT=<p> cluster2 start bench/apps/unmodified.mjs -w ${WORKERS} --no-monitor --no-pids\`, the app a plain \`http.createServer(handler).listen(process.env.PORT, '127.0.0.1')\`; the library API: \`new Cluster({ port, host: '127.0.0.1', noWorkers: ${WORKERS}, pids: false, monitor: false }).listen(() => http.createServer(handler))\` (bench/apps/cluster2.mjs); node:cluster: a primary that forks, workers that listen. The same hello-world handler everywhere. wrk -t1 -c50 -d${ctx.wrkSeconds}s --latency, keep-alive, after a warm-up; ${ctx.rounds} round(s), interleaved, fresh processes each round.`,
  ];
  return { summary, notes, table: { caption: `throughput, plain node:http hello world, ${WORKERS} workers`, columns: Object.keys(rows[0]), rows } };
}

/** The library API's reload: SIGUSR2 to the master, done once every worker in `old` has exited. */
async function signalReload(c, old) {
  const exited = new Set();
  const done = pollUntil(
    async () => {
      for (const m of c.handle.messages) if (m.event === 'died' && old.has(m.pid)) exited.add(m.pid);
      return exited.size >= old.size;
    },
    { timeoutMs: 60_000, everyMs: 5, what: 'the old workers to exit' },
  );
  process.kill(c.masterPid, 'SIGUSR2');
  await done;
}

/** `reloads` reloads of contender `c` under one keep-alive load; times each and counts every request. */
async function reloadsUnderLoad(spec, c, reloads) {
  let old = new Set(await workerPids(c.port, WORKERS));
  const load = startLoad(c.port, { concurrency: LOAD_CONCURRENCY });
  const commandMs = [];
  const recordedMs = [];
  const generationMs = [];
  // A reload whose command failed, or after which no new generation answered within 60 s.
  let reloadsFailed = 0;
  try {
    await sleep(QUIET_MS);
    for (let i = 0; i < reloads; i++) {
      const t0 = performance.now();
      const generation = newGeneration(c.port, t0, WORKERS, old);
      let ok = true;
      try {
        if (spec.pm2) await c.pm2.reload();
        else if (spec.app) await signalReload(c, old);
        else {
          const outcome = await reloadCluster2(c.pidsDir);
          recordedMs.push(outcome.endedAt - outcome.startedAt);
        }
        commandMs.push(performance.now() - t0);
      } catch {
        ok = false;
      }
      const gen = await generation.catch(() => undefined);
      if (gen) {
        generationMs.push(gen.allMs);
        old = gen.pids;
      } else ok = false;
      if (!ok) reloadsFailed++;
      await sleep(QUIET_MS);
    }
  } finally {
    await load.stop();
  }
  const { total, failed, reasons } = load.counts;
  return { total, failed, reasons, commandMs, recordedMs, generationMs, reloadsFailed };
}

// 11b. Rolling reloads under keep-alive load: `cluster2 reload` vs `pm2 reload`, the same app.
async function reloadPart(ctx) {
  const reloads = ctx.quick ? 1 : 5;
  const rounds = ctx.quick ? 1 : 3;
  const specs = [
    { name: `${START} + cluster2 reload`, start: APP, workers: WORKERS, pids: true },
    { name: `PM2 ${pm2Version()}: pm2 start -i ${WORKERS} + pm2 reload`, pm2: APP, workers: WORKERS },
    // For reference (full runs only): the library API's reload of the same handler under the same load.
    ...(ctx.quick ? [] : [{ name: `${LIBRARY}: kill -USR2 <master>`, app: 'cluster2.mjs', workers: WORKERS, env: { BENCH_OPTIONS: { monitor: false } } }]),
  ];
  const results = await interleave(specs, rounds, (spec) => withContender(spec, (c) => reloadsUnderLoad(spec, c, reloads)), ctx.log);
  const rows = specs.map(({ name }) => {
    const runs = results.get(name);
    const reasons = {};
    for (const r of runs) for (const [k, v] of Object.entries(r.reasons)) reasons[k] = (reasons[k] ?? 0) + v;
    const requests = sum(runs.map((r) => r.total));
    const failed = sum(runs.map((r) => r.failed));
    return {
      contender: name,
      reloads: runs.length * reloads,
      requests,
      failed,
      'failed %': (failed / requests) * 100,
      'until done ms (p50)': median(runs.flatMap((r) => r.commandMs)),
      'as the master records it, ms (p50)': median(runs.flatMap((r) => r.recordedMs)),
      'new generation serving ms (p50)': median(runs.flatMap((r) => r.generationMs)),
      'new generation serving ms (max)': Math.max(...runs.flatMap((r) => r.generationMs)),
      'reloads failed': sum(runs.map((r) => r.reloadsFailed)),
      'failures by reason':
        Object.entries(reasons)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ') || 'none',
    };
  });
  const [c2, pm2] = rows;
  const summary = {
    reloadFailed: c2.failed,
    reloadRequests: c2.requests,
    reloadsFailed: c2['reloads failed'],
    reloadGenerationP50: c2['new generation serving ms (p50)'],
    reloadRecordedP50: c2['as the master records it, ms (p50)'],
    pm2ReloadFailed: pm2.failed,
    pm2ReloadRequests: pm2.requests,
    pm2ReloadGenerationP50: pm2['new generation serving ms (p50)'],
  };
  const notes = [
    `Target: no failed request across \`cluster2 start\`'s reloads — ${c2.failed} of ${c2.requests} ${verdict(c2.failed === 0 && c2['reloads failed'] === 0)}; PM2 with the same app: ${pm2.failed} of ${pm2.requests}.`,
    `Reloads: ${rounds} round(s) per contender, interleaved; each round a fresh ${WORKERS}-worker cluster (\`${START} --no-monitor --pids <tmp>\` or \`pm2 start unmodified.mjs -i ${WORKERS}\` of bench/apps/unmodified.mjs, private PM2_HOME; the library API row runs the same handler in bench/apps/cluster2.mjs, for reference), ${LOAD_CONCURRENCY} keep-alive client loops (node:http, no retries; any socket error, 5 s timeout or non-200 counts as failed) running from ${QUIET_MS} ms before the first of ${reloads} back-to-back reloads until ${QUIET_MS} ms after the last, ${QUIET_MS} ms apart.`,
    `Reload times: "until done" runs from the spawn of \`cluster2 reload --pids <dir> --json\` (SIGUSR2, then it polls the outcome the master records every 100 ms) or \`pm2 reload bench\` until it exits, each its own node process; for the library API from SIGUSR2 until both old workers exited. "as the master records it": the reload's own start and end from \`cluster2 reload --json\` (no CLI start-up, no polling; PM2 reports none). "new generation serving": from the same start until ${WORKERS} pids that did not serve before have answered a fresh-connection probe (every ${PROBE_EVERY_MS} ms). "reloads failed": the command failed, or no new generation answered within 60 s.`,
    'The app is unmodified: it has no SIGINT handler, so under PM2 a worker that `pm2 reload` stops dies at once with the connections it holds (section 3 runs PM2 with an app that closes its server on SIGINT, as PM2 documents); `cluster2 start` drains the servers the app listens on without any code in the app.',
  ];
  return { summary, notes, table: { caption: `rolling reloads under keep-alive load, ${WORKERS} workers`, columns: Object.keys(rows[0]), rows } };
}

/** Spawns one contender at `t0` and times its first 200 and its `workers`-th distinct pid; always stops it. */
async function timeStart(spec) {
  const port = await freePort();
  const env = { PORT: port, BENCH_PORT: port, BENCH_WORKERS: spec.workers, ...spec.env };
  let pm2;
  if (spec.pm2 === 'warm') {
    pm2 = new Pm2();
    await pm2.cli(['ping']);
  } else if (spec.pm2 === 'cold') pm2 = new Pm2();
  const t0 = performance.now();
  let handle;
  let command;
  try {
    if (pm2) command = pm2.start(APP, spec.workers, env);
    else if (spec.start) handle = startCluster2(APP, { port, workers: spec.workers });
    else if (spec.runtime) handle = startPm2Runtime(APP, spec.workers, env);
    else handle = startApp(spec.app, env);
    const [times] = await Promise.all([newGeneration(port, t0, spec.workers), command]);
    return { firstMs: times.firstMs, allMs: times.allMs };
  } finally {
    await command?.catch(() => {});
    await handle?.stop();
    await pm2?.close();
  }
}

// 11c. Start time: spawn → first 200 response, and → every worker answering.
async function startTimePart(ctx) {
  const rounds = ctx.quick ? 1 : 7;
  const pm2 = `PM2 ${pm2Version()}`;
  const specs = [
    { name: 'floor: node unmodified.mjs (1 process)', app: APP, workers: 1 },
    { name: START, start: APP, workers: WORKERS },
    { name: `${LIBRARY} (node cluster2.mjs)`, app: 'cluster2.mjs', workers: WORKERS, env: { BENCH_OPTIONS: { monitor: false } } },
    { name: `${pm2}: pm2 start -i ${WORKERS}, daemon not running`, pm2: 'cold', workers: WORKERS },
    { name: `${pm2}: pm2 start -i ${WORKERS}, daemon running`, pm2: 'warm', workers: WORKERS },
    { name: `${pm2}: pm2-runtime start -i ${WORKERS}`, runtime: true, workers: WORKERS },
  ];
  const results = await interleave(specs, rounds, timeStart, ctx.log);
  const p50 = (name, key = 'firstMs') => medianOf(results, name, (r) => r[key]);
  const rows = specs.map(({ name, workers }) => ({
    contender: name,
    starts: results.get(name).length,
    'first 200 ms (p50)': p50(name),
    'first 200 ms (p90)': percentile(
      results.get(name).map((r) => r.firstMs),
      90,
    ),
    [`all ${WORKERS} workers answering ms (p50)`]: workers === WORKERS ? p50(name, 'allMs') : NaN,
    [`× ${START} (first 200, p50)`]: round(ratio(p50(name), p50(START)), 2),
  }));
  const summary = {
    startFirstP50: p50(START),
    startAllP50: p50(START, 'allMs'),
    floorFirstP50: p50(specs[0].name),
    pm2ColdFirstP50: p50(specs[3].name),
    pm2WarmFirstP50: p50(specs[4].name),
    pm2RuntimeFirstP50: p50(specs[5].name),
  };
  const notes = [
    `Start time: \`${START}\` answers its first request ${round(summary.startFirstP50, 0)} ms after spawn (p50); \`pm2 start -i ${WORKERS}\` ${round(summary.pm2ColdFirstP50, 0)} ms with no daemon running (it starts one) and ${round(summary.pm2WarmFirstP50, 0)} ms with one already running (\`pm2 ping\` first, not timed); \`pm2-runtime start -i ${WORKERS}\` (foreground) ${round(summary.pm2RuntimeFirstP50, 0)} ms.`,
    `Start time: ${rounds} round(s), interleaved, a fresh process (and a fresh PM2_HOME) every time; the clock starts just before the spawn of the command (\`node <bin> …\`) and a fresh-connection GET goes out every ${PROBE_EVERY_MS} ms until one is answered 200, then until ${WORKERS} distinct pids have answered. \`cluster2 start\` runs with --no-monitor --no-pids, the library API (bench/apps/cluster2.mjs) with pids: false and monitor: false.`,
  ];
  return { summary, notes, table: { caption: `start time, ${WORKERS} workers (floor: 1 process)`, columns: Object.keys(rows[0]), rows } };
}

export async function start(ctx) {
  ctx.log('11a. throughput');
  const a = await throughputPart(ctx);
  ctx.log('11b. reloads under load');
  const b = await reloadPart(ctx);
  ctx.log('11c. start time');
  const c = await startTimePart(ctx);
  return {
    summary: { ...a.summary, ...b.summary, ...c.summary },
    notes: [...a.notes, ...b.notes, ...c.notes],
    tables: [a.table, b.table, c.table],
  };
}
