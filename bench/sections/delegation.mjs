// 5. Delegation round trip: cluster2's c.delegate → c.handle vs a hand-written process.send echo.
import { interleave } from '../lib/contenders.mjs';
import { freePort, startApp } from '../lib/proc.mjs';
import { median, percentile, ratio, round, sum, verdict } from '../lib/stats.mjs';

const WORKERS = 2;

async function runOnce(app, active, run) {
  const handle = startApp(app, { BENCH_PORT: await freePort(), BENCH_WORKERS: WORKERS, BENCH_RUN: { active, ...run } });
  try {
    await handle.ready();
    const reports = [];
    for (let i = 0; i < WORKERS; i++) {
      const seen = reports.map((r) => r.delegation);
      reports.push(await handle.waitFor((m) => m.delegation && !seen.includes(m.delegation), { timeoutMs: 60_000, what: 'delegation results' }));
    }
    const busy = reports.filter((r) => r.latencies.length > 0);
    const latencies = busy.flatMap((r) => r.latencies);
    return {
      p50us: median(latencies),
      p99us: percentile(latencies, 99),
      opsPerS: sum(busy.map((r) => (r.latencies.length / r.elapsedMs) * 1000)),
      count: latencies.length,
    };
  } finally {
    await handle.stop();
  }
}

export async function delegation(ctx) {
  const run = ctx.quick ? { duration: 300, warmup: 100 } : { duration: 2000, warmup: 300 };
  const specs = [];
  for (const [label, active] of [
    ['1 worker', 1],
    [`all ${WORKERS} workers`, WORKERS],
  ]) {
    specs.push({ name: `raw process.send echo, ${label}`, app: 'delegation-raw.mjs', active, label });
    specs.push({ name: `cluster2 delegate/handle, ${label}`, app: 'delegation-cluster2.mjs', active, label });
  }
  const results = await interleave(specs, ctx.rounds, (s) => runOnce(s.app, s.active, run), ctx.log);
  const rows = [];
  const summary = {};
  for (const label of ['1 worker', `all ${WORKERS} workers`]) {
    const raw = results.get(`raw process.send echo, ${label}`);
    const rawP50 = median(raw.map((r) => r.p50us));
    for (const who of ['raw process.send echo', 'cluster2 delegate/handle']) {
      const runs = results.get(`${who}, ${label}`);
      const p50 = median(runs.map((r) => r.p50us));
      rows.push({
        contender: `${who}, ${label}`,
        'p50 µs': p50,
        'p99 µs': median(runs.map((r) => r.p99us)),
        'ops/s': median(runs.map((r) => r.opsPerS)),
        '× raw (p50)': round(ratio(p50, rawP50), 2),
      });
    }
    const key = label === '1 worker' ? 'one' : 'all';
    summary[`${key}RatioP50`] = ratio(median(results.get(`cluster2 delegate/handle, ${label}`).map((r) => r.p50us)), rawP50);
    summary[`${key}Cluster2OpsPerS`] = median(results.get(`cluster2 delegate/handle, ${label}`).map((r) => r.opsPerS));
  }
  return {
    summary,
    notes: [
      `Target p50 ≤ 1.5× raw: 1 worker ${round(summary.oneRatioP50, 2)}× ${verdict(summary.oneRatioP50 <= 1.5)}, all workers ${round(summary.allRatioP50, 2)}× ${verdict(summary.allRatioP50 <= 1.5)}.`,
      `${WORKERS} workers; each active worker sends one request after another (distinct payloads, so nothing is coalesced) for ${run.duration} ms after a ${run.warmup} ms warm-up and times each round trip; ops/s is summed over active workers. ${ctx.rounds} round(s), interleaved.`,
    ],
    tables: [{ columns: Object.keys(rows[0]), rows }],
  };
}
