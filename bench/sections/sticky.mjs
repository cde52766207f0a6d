// 10. Sticky sessions: what `sticky: true` costs against plain round-robin (the master now accepts
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
    const { cpuMs, result } = await measureGroupCpu(c.masterPid, () =>
      runWrk(`http://127.0.0.1:${c.port}/`, { seconds: ctx.wrkSeconds, connections: 50, headers: mode.headers, script: RANDOM_XFF }),
    );
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
    {
      name: "cluster2 sticky: { header: 'x-forwarded-for' }",
      app: 'cluster2.mjs',
      workers: 2,
      env: { BENCH_OPTIONS: { monitor: false, sticky: { header: 'x-forwarded-for' } } },
    },
  ];
  ctx.log('10a. hello world, sticky vs round-robin');
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
    for (const [name, row] of [
      ['address', addressRow],
      ['header', headerRow],
    ]) {
      summary[`${mode.key}${name}Ratio`] = row['× round-robin'];
      summary[`${mode.key}${name}CpuRatio`] = ratio(row['server CPU µs/req'], rrRow['server CPU µs/req']);
    }
  }
  const figure = (mode, name) => `${round(summary[`${mode}${name}Ratio`], 3)}× req/s (CPU/request ${round(summary[`${mode}${name}CpuRatio`], 3)}×)`;
  notes.push(
    `Against plain round-robin, hello world on 2 workers. sticky: { header: 'x-forwarded-for' } (connections spread over both workers): keep-alive ${figure('keepAlive', 'header')}, Connection: close ${figure('close', 'header')}. sticky: true: keep-alive ${figure('keepAlive', 'address')}, Connection: close ${figure('close', 'address')}. With keep-alive the master touches a connection once; with Connection: close every request is a new connection the master accepts, (peeks,) hashes and hands over.`,
    `wrk -t1 -c50 -d${ctx.wrkSeconds}s --latency with a script giving every request a random X-Forwarded-For (lib/random-xff.lua), and -H 'Connection: close' for the second load; 127.0.0.1, after a 1 s warm-up of each load; ${ctx.rounds} round(s), interleaved. All rows run cluster2.mjs (monitor off, pids off). All of wrk's connections come from 127.0.0.1, so sticky: true sends every one to the same worker: its row shows one worker serving, not the master's cost alone; the header row is the like-for-like one.`,
  );

  // 200 clients, as in the WebSocket section and the realtime tests.
  const clients = ctx.quick ? 20 : 200;
  const seconds = ctx.quick ? 1 : 3;
  const sio = [
    { name: 'cluster2 sticky: true', app: 'sio-cluster2.mjs', workers: 2 },
    { name: '@socket.io/sticky on node:cluster', app: 'sio-bare-sticky.mjs', workers: 2 },
    { name: "@socket.io/sticky, loadBalancingMethod: 'round-robin'", app: 'sio-bare-sticky.mjs', workers: 2, env: { BENCH_LB: 'round-robin' } },
  ];
  ctx.log('10b. socket.io: cluster2 sticky vs @socket.io/sticky');
  // More rounds than elsewhere: the client shares the 2 cores with both workers, so the rounds'
  // echo rates spread by ±20 % while the CPU per echo stays within a few per cent.
  const sioRounds = ctx.quick ? 1 : 9;
  const sioResults = await interleave(
    sio,
    sioRounds,
    (spec) =>
      withContender(spec, async (c) => {
        const { echoMeasure, ...result } = await socketIoLoad(c.port, { clients, seconds, measureEcho: (run) => measureGroupCpu(c.masterPid, run) });
        return { ...result, serverUsPerAck: (echoMeasure.cpuMs * 1000) / result.acked, clientUsPerAck: (result.clientCpuMs * 1000) / result.acked };
      }),
    ctx.log,
  );
  const sioRows = sio.map((spec) => {
    const runs = sioResults.get(spec.name);
    return {
      contender: spec.name,
      'connects/s (median)': median(runs.map((r) => r.connectsPerS)),
      [`${clients} clients connected+upgraded, ms`]: median(runs.map((r) => r.connectMs)),
      'acked echoes/s (median)': median(runs.map((r) => r.acksPerS)),
      'server CPU µs/echo': round(median(runs.map((r) => r.serverUsPerAck)), 1),
      'client CPU µs/echo': round(median(runs.map((r) => r.clientUsPerAck)), 1),
      'clients per worker (round 1)': runs[0].spread.join(' / '),
      'clients that failed to connect (all rounds)': runs.reduce((a, r) => a + r.connectFailures, 0),
      'failed echoes': runs.reduce((a, r) => a + r.failedEchoes, 0),
      'connects/s runs': runs.map((r) => Math.round(r.connectsPerS)).join(', '),
      'echoes/s runs': runs.map((r) => Math.round(r.acksPerS)).join(', '),
    };
  });
  const [ours, leastConnection, roundRobin] = sioRows;
  const against = (baseline, column) => ratio(ours[column], baseline[column]);
  Object.assign(summary, {
    sioConnectRatio: against(leastConnection, 'connects/s (median)'),
    sioConnectRatioRoundRobin: against(roundRobin, 'connects/s (median)'),
    sioEchoRatio: against(leastConnection, 'acked echoes/s (median)'),
    sioEchoRatioRoundRobin: against(roundRobin, 'acked echoes/s (median)'),
    sioEchoCpuRatio: against(leastConnection, 'server CPU µs/echo'),
    sioEchoCpuRatioRoundRobin: against(roundRobin, 'server CPU µs/echo'),
  });
  const x = (key) => `${round(summary[key], 3)}×`;
  notes.push(
    `Target socket.io with sticky: true ≥ 1.0× @socket.io/sticky. Connect rate: ${x('sioConnectRatio')} its default least-connection ${verdict(summary.sioConnectRatio >= 1)}, ${x('sioConnectRatioRoundRobin')} its round-robin ${verdict(summary.sioConnectRatioRoundRobin >= 1)}. Message throughput: ${x('sioEchoRatio')} least-connection ${verdict(summary.sioEchoRatio >= 1)}, ${x('sioEchoRatioRoundRobin')} round-robin ${verdict(summary.sioEchoRatioRoundRobin >= 1)}; server CPU per echo ${x('sioEchoCpuRatio')} and ${x('sioEchoCpuRatioRoundRobin')}.`,
    `Why the two baselines differ: least-connection counts a worker's clients only when the worker reports them over IPC, so a burst of handshakes lands mostly on one worker ("clients per worker"). With the client process on the same 2 cores, the busier worker handles more echoes per wake-up (lower CPU per echo) and the echo rate rises; on a server whose clients are elsewhere the other worker's core would sit idle. Round-robin and cluster2's address hash spread the clients about evenly: the round-robin row is the like-for-like one for the cost of the routing itself (once upgraded, a client's WebSocket goes straight to its worker in every contender).`,
    `${clients} socket.io-client 4.8 clients started at once, each from its own loopback address (127.0.1.N), default transports; "connected+upgraded" is the time until the last one that made it is connected and on WebSocket (connects/s counts only those; a client that failed to connect is counted in its column and sends no echoes). Then each sends acknowledged 64-byte 'echo' events back to back for ${seconds} s. The client runs in the benchmark process on the same 2 cores. socket.io 4.8.4, @socket.io/sticky 2.0.1 (setupMaster with least-connection, its default, or round-robin; setupWorker), 2 workers each; ${sioRounds} round(s), interleaved. Server CPU is utime+stime of master and workers during the echoes divided by the echoes acknowledged; client CPU the same for the benchmark process (the socket.io clients). "Clients per worker": each client asks its worker's pid once connected; cluster2 hashes client addresses (the same split every round).`,
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
