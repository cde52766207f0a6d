// 2. Respawn: SIGKILL one of 2 workers → the replacement serves its first request, beside the
// floor (a plain `node single.mjs` from spawn to first response) and PM2.
import { firstAnswer, sleep, workerPids } from '../lib/http.mjs';
import { interleave, withContender } from '../lib/contenders.mjs';
import { freePort, startApp } from '../lib/proc.mjs';
import { median, percentile, ratio, round, verdict } from '../lib/stats.mjs';
import { pm2Version } from '../lib/pm2.mjs';

// Every kill waits out the window, so each death is "the first in its window" (respawned at
// once, as by default) instead of climbing the backoff ladder.
const RESTART = { window: 1000, maxRestarts: 1000 };
const SETTLE_MS = 1200;

/** ms from SIGKILL to the first response from a pid that was not serving before. */
export async function killAndTime(port, workers) {
  const before = new Set(await workerPids(port, workers));
  const t0 = performance.now();
  process.kill([...before][0], 'SIGKILL');
  return firstAnswer(port, t0, (pid) => pid && !before.has(pid));
}

export async function floorSample() {
  const port = await freePort();
  const t0 = performance.now();
  const app = startApp('single.mjs', { BENCH_PORT: port });
  try {
    return await firstAnswer(port, t0, () => true);
  } finally {
    await app.stop();
  }
}

export async function respawn(ctx) {
  const perRound = ctx.quick ? 3 : 5;
  const rounds = ctx.quick ? 1 : 4;
  const specs = [
    { name: 'floor: node single.mjs, spawn → first response', floor: true },
    { name: 'cluster2', app: 'cluster2.mjs', workers: 2, env: { BENCH_OPTIONS: { monitor: false, restart: RESTART } } },
    { name: 'node:cluster + exit → fork()', app: 'bare-cluster.mjs', workers: 2, env: { BENCH_RESPAWN: 1 } },
    { name: `PM2 ${pm2Version()} -i 2`, pm2: 'pm2-app.cjs', workers: 2 },
  ];
  const results = await interleave(
    specs,
    rounds,
    async (spec) => {
      const samples = [];
      if (spec.floor) {
        for (let i = 0; i < perRound; i++) samples.push(await floorSample());
        return { samples, p50: median(samples) };
      }
      await withContender(spec, async (c) => {
        for (let i = 0; i < perRound; i++) {
          samples.push(await killAndTime(c.port, spec.workers));
          await sleep(SETTLE_MS);
        }
      });
      return { samples, p50: median(samples) };
    },
    ctx.log,
  );
  const all = (name) => results.get(name).flatMap((r) => r.samples);
  const floor = median(all(specs[0].name));
  const rows = specs.map((s) => {
    const samples = all(s.name);
    return {
      contender: s.name,
      samples: samples.length,
      'p50 ms': median(samples),
      'p90 ms': percentile(samples, 90),
      'max ms': Math.max(...samples),
      '× floor (p50)': round(ratio(median(samples), floor), 2),
    };
  });
  const summary = {
    floorP50: floor,
    cluster2P50: median(all('cluster2')),
    cluster2P90: percentile(all('cluster2'), 90),
    cluster2VsFloor: ratio(median(all('cluster2')), floor),
    pm2P50: median(all(specs[3].name)),
  };
  return {
    summary,
    notes: [
      `Target cluster2 ≤ 1.3× the floor: ${round(summary.cluster2VsFloor, 2)}× ${verdict(summary.cluster2VsFloor <= 1.3)}.`,
      `2 workers; one is SIGKILLed, then a client opens a fresh connection every 2 ms (not waiting on earlier ones: a connection node:cluster hands to the dying worker hangs) until a pid that was not serving before answers. ${rounds} round(s) × ${perRound} kills per contender, interleaved; ${SETTLE_MS} ms between kills. cluster2 runs with restart.window 1000 ms so that every kill is the first death in its window (respawned at once, as the default does for a first death).`,
    ],
    tables: [{ columns: Object.keys(rows[0]), rows }],
  };
}
