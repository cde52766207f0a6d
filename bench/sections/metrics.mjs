// 7. `/metrics` scrape time with 16 workers (the monitor server of the master).
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { get, pollUntil, sleep } from '../lib/http.mjs';
import { withContender } from '../lib/contenders.mjs';
import { median, percentile, round, verdict } from '../lib/stats.mjs';

/** The monitor's address from master.json, or null while cluster2 does not start a monitor. */
async function monitorAddress(pidsDir) {
  const file = path.join(pidsDir, 'master.json');
  const info = await pollUntil(async () => fs.existsSync(file) && JSON.parse(fs.readFileSync(file, 'utf8')), { timeoutMs: 10_000, what: 'master.json' });
  return info.monitor ?? null;
}

export async function metrics(ctx) {
  const workers = ctx.quick ? 4 : 16;
  const scrapes = ctx.quick ? 5 : 20;
  const pidsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster2-bench-pids-'));
  const spec = {
    name: `cluster2, ${workers} workers, monitor on`,
    app: 'cluster2.mjs',
    workers,
    env: { BENCH_OPTIONS: { monitor: true, monPort: 0, pids: pidsDir } },
  };
  try {
    return await withContender(spec, async () => {
      const monitor = await monitorAddress(pidsDir);
      if (!monitor) {
        return {
          status: 'pending monitor',
          summary: {},
          notes: [
            'cluster2 wrote no monitor address to master.json (the monitor is not started by listen() yet). The section runs as soon as it is: `monitor: true, monPort: 0`, the port read from master.json.',
          ],
          tables: [],
        };
      }
      // Every worker has reported at least once (the first heartbeat goes out on listening).
      await sleep(ctx.quick ? 200 : 1000);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const times = [];
      let body = '';
      for (let i = 0; i < scrapes + 2; i++) {
        const t0 = performance.now();
        const res = await get(monitor.port, '/metrics', { agent });
        const ms = performance.now() - t0;
        if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
        body = res.body;
        if (i >= 2) times.push(ms);
      }
      agent.destroy();
      const series = body.split('\n').filter((l) => l && !l.startsWith('#')).length;
      const pidLabels = new Set(body.match(/pid="\d+"/g) ?? []).size;
      const summary = { medianMs: median(times), p99Ms: percentile(times, 99), series, workersInMetrics: pidLabels };
      const rows = [
        {
          workers,
          scrapes,
          'median ms': summary.medianMs,
          'p99 ms': summary.p99Ms,
          'max ms': Math.max(...times),
          'body KiB': body.length / 1024,
          series,
          'worker pids in body': pidLabels,
        },
      ];
      return {
        summary,
        notes: [
          `Target < 20 ms: median ${round(summary.medianMs, 2)} ms, p99 ${round(summary.p99Ms, 2)} ms ${verdict(summary.p99Ms < 20)} (judged on p99).`,
          `${scrapes} sequential GET /metrics on one keep-alive connection (2 unmeasured first), monitor found through master.json in the pids directory.`,
        ],
        tables: [{ columns: Object.keys(rows[0]), rows }],
      };
    });
  } finally {
    fs.rmSync(pidsDir, { recursive: true, force: true });
  }
}
