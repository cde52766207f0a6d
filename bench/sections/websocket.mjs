// 9. WebSockets: (a) echo throughput on 200 connections, cluster2 against bare node:cluster with
// the same ws server, interleaved; (b) rolling reload with 200 WebSocket clients that reconnect:
// time from SIGUSR2 until every client is connected to a new worker.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { interleave, startContender, withContender } from '../lib/contenders.mjs';
import { measureGroupCpu } from '../lib/cpu.mjs';
import { median, percentile, ratio, round, sum, verdict } from '../lib/stats.mjs';

const DRIVER = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'ws-driver.mjs');

/** Runs the driver in its own process; resolves with the JSON line it prints. */
function drive(args, timeoutMs) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [DRIVER, ...args.map(String)], { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`ws-driver ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').at(-1)));
    });
  });
}

async function echoRound(spec, settings) {
  return withContender(spec, async (c) => {
    const { cpuMs, result } = await measureGroupCpu(c.masterPid, () =>
      drive(
        [
          'echo',
          '--port',
          c.port,
          '--connections',
          settings.connections,
          '--window',
          settings.window,
          '--warmup',
          settings.warmupMs,
          '--seconds',
          settings.seconds,
        ],
        120_000,
      ),
    );
    // CPU covers the warm-up too: per message over every message the servers echoed meanwhile is
    // not known, so it is reported per counted message, the same way for both contenders.
    return { rate: result.rate, p50: result.p50, p99: result.p99, cpuUsPerMsg: (cpuMs * 1000) / result.messages, unexpectedCloses: result.unexpectedCloses };
  });
}

export async function websocket(ctx) {
  const settings = ctx.quick
    ? { connections: 50, window: 4, warmupMs: 300, seconds: 1, reloadClients: 20, reloads: 1 }
    : { connections: 200, window: 4, warmupMs: 1000, seconds: ctx.wrkSeconds, reloadClients: 200, reloads: 5 };
  const specs = [
    { name: 'node:cluster + ws', app: 'bare-cluster.mjs', workers: 2, env: { BENCH_FRAMEWORK: 'ws' } },
    { name: 'cluster2 + ws', app: 'cluster2.mjs', workers: 2, env: { BENCH_FRAMEWORK: 'ws', BENCH_OPTIONS: { monitor: false } } },
  ];
  ctx.log('9a. echo');
  const results = await interleave(specs, ctx.rounds, (spec) => echoRound(spec, settings), ctx.log);
  const med = (name, key) => median(results.get(name).map((r) => r[key]));
  const echoRows = specs.map(({ name }) => ({
    contender: name,
    'messages/s (median)': med(name, 'rate'),
    'p50 ms': med(name, 'p50'),
    'p99 ms': med(name, 'p99'),
    '× node:cluster': round(ratio(med(name, 'rate'), med(specs[0].name, 'rate')), 3),
    'server CPU µs/msg': med(name, 'cpuUsPerMsg'),
    'unexpected closes': sum(results.get(name).map((r) => r.unexpectedCloses)),
    'messages/s runs': results
      .get(name)
      .map((r) => Math.round(r.rate))
      .join(', '),
  }));

  ctx.log('9b. reload with WebSockets');
  const reloadSpec = { name: 'cluster2 + ws, reload', app: 'cluster2.mjs', workers: 2, env: { BENCH_FRAMEWORK: 'ws', BENCH_OPTIONS: { monitor: false } } };
  const c = await startContender(reloadSpec);
  let reload;
  try {
    reload = await drive(
      ['reload', '--port', c.port, '--master', c.masterPid, '--connections', settings.reloadClients, '--reloads', settings.reloads],
      300_000,
    );
  } finally {
    await c.stop();
  }
  ctx.log(`  reloads ${reload.reloadsMs.map((ms) => Math.round(ms)).join(', ')} ms; closes ${JSON.stringify(reload.closes)}`);
  const closes =
    Object.entries(reload.closes)
      .map(([code, n]) => `${code}: ${n}`)
      .join(', ') || 'none';
  const reloadRow = {
    clients: settings.reloadClients,
    reloads: reload.reloadsMs.length,
    'p50 ms': percentile(reload.reloadsMs, 50),
    'p99 ms': percentile(reload.reloadsMs, 99),
    'max ms': Math.max(...reload.reloadsMs),
    'closes by code': closes,
    'failed connects': reload.failedConnects,
    'runs ms': reload.reloadsMs.map((ms) => Math.round(ms)).join(', '),
  };

  const summary = {
    cluster2VsBare: ratio(med(specs[1].name, 'rate'), med(specs[0].name, 'rate')),
    cluster2MessagesPerS: med(specs[1].name, 'rate'),
    cluster2CpuPerMsgVsBare: ratio(med(specs[1].name, 'cpuUsPerMsg'), med(specs[0].name, 'cpuUsPerMsg')),
    reloadP50Ms: reloadRow['p50 ms'],
    reloadP99Ms: reloadRow['p99 ms'],
    reloadAbnormalCloses: sum(
      Object.entries(reload.closes)
        .filter(([code]) => code !== '1001')
        .map(([, n]) => n),
    ),
  };
  return {
    summary,
    notes: [
      `Target cluster2 ≥ 0.98× node:cluster (echo messages/s): ${round(summary.cluster2VsBare, 3)}× ${verdict(summary.cluster2VsBare >= 0.98)}; server CPU per message ${round(summary.cluster2CpuPerMsgVsBare, 3)}× node:cluster.`,
      `Echo: the same ws@8 server (bench/apps/servers.mjs, 'ws') in 2 workers under each; a driver process (bench/lib/ws-driver.mjs) opens ${settings.connections} WebSockets to 127.0.0.1 and keeps ${settings.window} small text messages (~18 bytes) in flight on each, counting echoes for ${settings.seconds} s after a ${settings.warmupMs} ms warm-up; ${ctx.rounds} round(s), interleaved, fresh processes each round. The driver is one Node process on a 2-core machine shared with both workers, so it bounds the rate much as autocannon does for HTTP: the CPU per message is the steadier comparison.`,
      `Reload: ${settings.reloadClients} WebSocket clients on a 2-worker cluster2 (monitor off, the app closes its WebSockets with 1001 in 'draining'), reconnecting at once on close; each reload is SIGUSR2 to the master, timed until every client is connected to a worker it had not seen before that reload; ${settings.reloads} reload(s) on one cluster, 500 ms apart. With 5 reloads p99 is the slowest. Every close should be 1001: ${summary.reloadAbnormalCloses} other ${verdict(summary.reloadAbnormalCloses === 0)}.`,
    ],
    tables: [
      { caption: 'WebSocket echo, 2 workers', columns: Object.keys(echoRows[0]), rows: echoRows },
      { caption: `Rolling reload with ${settings.reloadClients} WebSockets`, columns: Object.keys(reloadRow), rows: [reloadRow] },
    ],
  };
}
