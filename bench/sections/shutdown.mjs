// 4. Graceful shutdown with 50 idle keep-alive clients: SIGTERM → process exit, cluster2 vs a
// single process doing server.close().
import http from 'node:http';
import { get } from '../lib/http.mjs';
import { interleave, startContender } from '../lib/contenders.mjs';
import { median, round, verdict } from '../lib/stats.mjs';

const CLIENTS = 50;

/** Opens `n` keep-alive sockets (one request each, then idle); returns the agent. */
async function idleClients(port, n) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: n });
  await Promise.all(Array.from({ length: n }, () => get(port, '/', { agent })));
  const idle = Object.values(agent.freeSockets).reduce((a, list) => a + list.length, 0);
  if (idle !== n) throw new Error(`expected ${n} idle keep-alive sockets, got ${idle}`);
  return agent;
}

async function timeShutdown(spec) {
  const c = await startContender(spec);
  let agent;
  try {
    agent = await idleClients(c.port, CLIENTS);
    const t0 = performance.now();
    process.kill(c.masterPid, 'SIGTERM');
    const exit = await Promise.race([c.handle.exited, new Promise((r) => setTimeout(() => r(undefined), 30_000))]);
    if (!exit) throw new Error(`${spec.name} did not exit within 30 s of SIGTERM`);
    return { ms: exit.at - t0, code: exit.code };
  } finally {
    agent?.destroy();
    await c.stop();
  }
}

export async function shutdown(ctx) {
  const rounds = ctx.quick ? 1 : 5;
  const specs = [
    { name: 'cluster2, 2 workers (SIGTERM → shutdown())', app: 'cluster2.mjs', workers: 2, env: { BENCH_OPTIONS: { monitor: false } } },
    { name: 'single process, SIGTERM → server.close()', app: 'single.mjs', workers: 1 },
  ];
  const results = await interleave(specs, rounds, timeShutdown, ctx.log);
  const rows = specs.map((s) => {
    const runs = results.get(s.name);
    return {
      contender: s.name,
      runs: runs.length,
      'median ms': median(runs.map((r) => r.ms)),
      'max ms': Math.max(...runs.map((r) => r.ms)),
      'exit codes': [...new Set(runs.map((r) => r.code))].join(', '),
    };
  });
  const summary = { cluster2Ms: rows[0]['median ms'], singleCloseMs: rows[1]['median ms'] };
  return {
    summary,
    notes: [
      `Target cluster2 < 1000 ms: ${round(summary.cluster2Ms, 0)} ms ${verdict(rows[0]['max ms'] < 1000)} (judged on the max).`,
      `${CLIENTS} keep-alive sockets each made one request and sit idle; time runs from SIGTERM to the master's exit as the parent sees it. cluster2 ends idle sockets after idleGrace (default 250 ms) so that a request already on its way is answered with Connection: close instead of reset; server.close() ends them at once. ${rounds} round(s), interleaved.`,
    ],
    tables: [{ columns: Object.keys(rows[0]), rows }],
  };
}
