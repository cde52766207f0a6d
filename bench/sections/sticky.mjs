// 9. Sticky sessions: what `sticky: true` costs against plain round-robin (the master now accepts
// every connection itself and picks the worker), and socket.io on cluster2 with sticky: true
// against socket.io on bare node:cluster with @socket.io/sticky.
import { interleave, withContender } from '../lib/contenders.mjs';
import { measureGroupCpu } from '../lib/cpu.mjs';
import { socketIoLoad } from '../lib/sio-driver.mjs';
import { median, ratio, round, verdict } from '../lib/stats.mjs';
import path from 'node:path';
import { BENCH_DIR } from '../lib/proc.mjs';
import { runWrk } from '../lib/wrk.mjs';

const RANDOM_XFF = path.join(BENCH_DIR, 'lib', 'random-xff.lua');

const MODES = [
  { key: 'keepAlive', label: 'keep-alive', headers: [] },
  { key: 'close', label: 'Connection: close (a new connection per request)', headers: ['Connection: close'] },
];

async function wrkBoth(c, ctx) {
  const out = {};
  for (const mode of MODES) {
    await runWrk(`http://127.0.0.1:${c.port}/`, { seconds: 1, headers: mode.headers, script: RANDOM_XFF });
    const { cpuMs, result } = await measureGroupCpu(c.masterPid, () => runWrk(`http://127.0.0.1:${c.port}/`, { seconds: ctx.wrkSeconds, connections: 50, headers: mode.headers, script: RANDOM_XFF }));
    out[mode.key] = { ...result, cpuUsPerReq: (cpuMs * 1000) / result.requests };
  }
  return out;
}

export async function sticky(ctx) {
  const notes = [];
  const summary = {};
  const http = [
    { name: 'cluster2 round-robin', app: 'cluster2.mjs', workers: 2, env: { BENCH_OPTIONS: { monitor: false } } },
    { name: 'cluster2 sticky: true', app: 'cluster2.mjs', workers: 2, env: { BENCH_OPTIONS: { monitor: false, sticky: true } } },
    { name: "cluster2 sticky: { header: 'x-forwarded-for' }", app: 'cluster2.mjs', workers: 2, env: { BENCH_OPTIONS: { monitor: false, sticky: { header: 'x-forwarded-for' } } } },
  ];
  ctx.log('9a. hello world, sticky vs round-robin');
  const httpResults = await interleave(http, ctx.rounds, (spec) => withContender(spec, (c) => wrkBoth(c, ctx)), ctx.log);
  const rows = [];
  for (const mode of MODES) {
    const base = median(httpResults.get(http[0].name).map((r) => r[mode.key].rps));
    for (const spec of http) {
      const runs = httpResults.get(spec.name).map((r) => r[mode.key]);
      const rps = median(runs.map((r) => r.rps));
      rows.push({
        load: mode.label,
        contender: spec.name,
        'req/s (median)': rps,
        'p99 ms': median(runs.map((r) => r.p99)),
        '× round-robin': round(ratio(rps, base), 3),
        'server CPU µs/req': median(runs.map((r) => r.cpuUsPerReq)),
        'errors+non2xx': runs.reduce((a, r) => a + r.socketErrors + r.non2xx, 0),
        'req/s runs': runs.map((r) => Math.round(r.rps)).join(', '),
      });
    }
    const [rrRow, addressRow, headerRow] = rows.slice(-3);
    for (const [name, row] of [['address', addressRow], ['header', headerRow]]) {
      summary[`${mode.key}${name}Ratio`] = row['× round-robin'];
      summary[`${mode.key}${name}CpuRatio`] = ratio(row['server CPU µs/req'], rrRow['server CPU µs/req']);
    }
  }
  const figure = (mode, name) => `${round(summary[`${mode}${name}Ratio`], 3)}× req/s (CPU/request ${round(summary[`${mode}${name}CpuRatio`], 3)}×)`;
  notes.push(
    `Against plain round-robin, hello world on 2 workers. sticky: { header: 'x-forwarded-for' } (connections spread over both workers): keep-alive ${figure('keepAlive', 'header')}, Connection: close ${figure('close', 'header')}. sticky: true: keep-alive ${figure('keepAlive', 'address')}, Connection: close ${figure('close', 'address')}. With keep-alive the master touches a connection once; with Connection: close every request is a new connection the master accepts, (peeks,) hashes and hands over.`,
    `wrk -t1 -c50 -d${ctx.wrkSeconds}s --latency with a script giving every request a random X-Forwarded-For (lib/random-xff.lua), and -H 'Connection: close' for the second load; 127.0.0.1, after a 1 s warm-up of each load; ${ctx.rounds} round(s), interleaved. All rows run cluster2.mjs (monitor off, pids off). All of wrk's connections come from 127.0.0.1, so sticky: true sends every one to the same worker: its row shows one worker serving, not the master's cost alone; the header row is the like-for-like one.`,
  );

  const clients = ctx.quick ? 20 : 100;
  const seconds = ctx.quick ? 1 : 3;
  const sio = [
    { name: 'cluster2 sticky: true', app: 'sio-cluster2.mjs', workers: 2 },
    { name: '@socket.io/sticky on node:cluster', app: 'sio-bare-sticky.mjs', workers: 2 },
  ];
  ctx.log('9b. socket.io: cluster2 sticky vs @socket.io/sticky');
  const sioResults = await interleave(sio, ctx.rounds, (spec) => withContender(spec, (c) => socketIoLoad(c.port, { clients, seconds })), ctx.log);
  const sioRows = sio.map((spec) => {
    const runs = sioResults.get(spec.name);
    return {
      contender: spec.name,
      'connects/s (median)': median(runs.map((r) => r.connectsPerS)),
      [`${clients} clients connected+upgraded, ms`]: median(runs.map((r) => r.connectMs)),
      'acked echoes/s (median)': median(runs.map((r) => r.acksPerS)),
      'clients that failed to connect (all rounds)': runs.reduce((a, r) => a + r.connectFailures, 0),
      'failed echoes': runs.reduce((a, r) => a + r.failedEchoes, 0),
      'connects/s runs': runs.map((r) => Math.round(r.connectsPerS)).join(', '),
      'echoes/s runs': runs.map((r) => Math.round(r.acksPerS)).join(', '),
    };
  });
  summary.sioConnectRatio = ratio(sioRows[0]['connects/s (median)'], sioRows[1]['connects/s (median)']);
  summary.sioEchoRatio = ratio(sioRows[0]['acked echoes/s (median)'], sioRows[1]['acked echoes/s (median)']);
  notes.push(
    `Target socket.io with sticky: true ≥ 1.0× @socket.io/sticky: connect rate ${round(summary.sioConnectRatio, 3)}× ${verdict(summary.sioConnectRatio >= 1)}, message throughput ${round(summary.sioEchoRatio, 3)}× ${verdict(summary.sioEchoRatio >= 1)}.`,
    `${clients} socket.io-client 4.8 clients started at once, each from its own loopback address (127.0.1.N), default transports; "connected+upgraded" is the time until the last one that made it is connected and on WebSocket (connects/s counts only those; a client that failed to connect is counted in its column and sends no echoes). Then each sends acknowledged 64-byte 'echo' events back to back for ${seconds} s. The client runs in the benchmark process on the same 2 cores. socket.io 4.8.4, @socket.io/sticky 2.0.1 (setupMaster with least-connection, setupWorker), 2 workers each; ${ctx.rounds} round(s), interleaved.`,
  );
  return {
    summary,
    notes,
    tables: [
      { columns: Object.keys(rows[0]), rows },
      { columns: Object.keys(sioRows[0]), rows: sioRows },
    ],
  };
}
