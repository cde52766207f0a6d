// A contender is a server under test: one of bench/apps started as a child process, or PM2.
import { get, pollUntil, workerPids } from './http.mjs';
import { startCluster2 } from './cluster2-cli.mjs';
import { Pm2 } from './pm2.mjs';
import { freePort, startApp } from './proc.mjs';
import { median, ratio, round, sum } from './stats.mjs';

/**
 * Starts `spec` on a free port and resolves once it serves: `{ name, port, masterPid, handle?,
 * pm2?, stop() }`. spec: `{ name, app, env, workers }`, `{ name, pm2: 'pm2-app.cjs', workers }` or
 * `{ name, start: 'unmodified.mjs', workers, pids?, flags? }` (`cluster2 start`; `pids` keeps pid
 * files for `cluster2 reload`, in `pidsDir`). An app spec's `stdoutFile` sends its stdout to that
 * file (its reports then come through fd 3). `probe(port)` → `{ status, pid }` asks whether it
 * serves (default: a node:http GET; an h2c server needs an HTTP/2 one, h2-driver.mjs's h2Get).
 */
export async function startContender(spec) {
  const port = await freePort();
  const probe = spec.probe ?? get;
  // PORT is for the unmodified app (bench/apps/unmodified.mjs), which knows nothing of BENCH_*.
  const env = { BENCH_PORT: port, BENCH_WORKERS: spec.workers ?? 2, PORT: port, ...spec.env };
  if (spec.start) {
    const handle = startCluster2(spec.start, { port, workers: spec.workers ?? 2, pids: spec.pids, flags: spec.flags, env });
    try {
      const ready = await handle.serving(spec.readyTimeoutMs ?? 90_000);
      await pollUntil(async () => (await probe(port)).status === 200, { what: `${spec.name} answering` });
      return { name: spec.name, port, masterPid: handle.pid, handle, ready, pidsDir: handle.pidsDir, stop: (signal) => handle.stop(signal) };
    } catch (error) {
      await handle.stop('SIGKILL', 0);
      throw error;
    }
  }
  if (spec.pm2) {
    const pm2 = new Pm2();
    try {
      await pm2.start(spec.pm2, spec.workers, env);
      await workerPids(port, spec.workers, undefined, probe);
      return { name: spec.name, port, masterPid: pm2.godPid(), pm2, stop: () => pm2.close() };
    } catch (error) {
      await pm2.close();
      throw error;
    }
  }
  const handle = startApp(spec.app, env, { stdoutFile: spec.stdoutFile });
  try {
    const ready = await handle.ready(spec.readyTimeoutMs ?? 90_000);
    await pollUntil(async () => (await probe(port)).status === 200, { what: `${spec.name} answering` });
    return { name: spec.name, port, masterPid: handle.pid, handle, ready, stop: (signal) => handle.stop(signal) };
  } catch (error) {
    handle.kill();
    throw error;
  }
}

/** Starts `spec`, runs `fn(contender)`, and always stops it. */
export async function withContender(spec, fn) {
  const contender = await startContender(spec);
  try {
    return await fn(contender);
  } finally {
    await contender.stop();
  }
}

/**
 * Runs `measure(spec, round)` for every contender, `rounds` times, interleaved and rotated
 * (A B C, B C A, C A B, …) so that no contender always goes first. Returns Map name → results.
 */
export async function interleave(specs, rounds, measure, log = () => {}) {
  const results = new Map(specs.map((s) => [s.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[(i + round) % specs.length];
      const result = await measure(spec, round);
      log(`  round ${round + 1}/${rounds} ${spec.name}: ${summarize(result)}`);
      results.get(spec.name).push(result);
    }
  }
  return results;
}

/** The median of `pick(result)` over contender `name`'s rounds in interleave's `results`; NaN for a contender that did not run. */
export function medianOf(results, name, pick) {
  return median(results.get(name)?.map(pick) ?? []);
}

/**
 * One table row for contender `name` from its rounds of a wrk load (loadAndCost results) in
 * interleave's `results`: median req/s, p50 and p99; a req/s ratio per entry of `against` (column
 * → the contender to divide by); server CPU per request; `extra(runs)`'s columns; errors, and
 * each round's req/s.
 */
export function loadRow(results, name, against, extra = () => ({})) {
  const runs = results.get(name);
  const rps = (contender) => medianOf(results, contender, (r) => r.rps);
  return {
    contender: name,
    'req/s (median)': rps(name),
    'p50 ms': median(runs.map((r) => r.p50)),
    'p99 ms': median(runs.map((r) => r.p99)),
    ...Object.fromEntries(Object.entries(against).map(([column, other]) => [column, round(ratio(rps(name), rps(other)), 3)])),
    'server CPU µs/req': median(runs.map((r) => r.cpuUsPerReq)),
    ...extra(runs),
    'errors+non2xx': sum(runs.map((r) => r.socketErrors + r.non2xx)),
    'req/s runs': runs.map((r) => Math.round(r.rps)).join(', '),
  };
}

function summarize(result) {
  if (typeof result !== 'object' || result === null) return String(result);
  return Object.entries(result)
    .filter(([, v]) => typeof v === 'number')
    .slice(0, 4)
    .map(([k, v]) => `${k}=${Math.round(v * 100) / 100}`)
    .join(' ');
}
