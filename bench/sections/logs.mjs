// 12. Logs: what capturing the workers' output costs. 12a: a hello world that writes one pino
// line per request, under node:cluster (workers inherit stdout), cluster2 with and without
// capture, and PM2. 12b: workers that print lines as fast as they can; lines/s and the master's
// CPU per 100k lines, every line counted in its destination.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { interleave, loadRow, medianOf, withContender } from '../lib/contenders.mjs';
import { cpuMs, groupPids } from '../lib/cpu.mjs';
import { get, pollUntil } from '../lib/http.mjs';
import { countUntil, filesIn, LineCounter, settledCount } from '../lib/log-lines.mjs';
import { pm2Version } from '../lib/pm2.mjs';
import { BENCH_DIR } from '../lib/proc.mjs';
import { median, ratio, round, sum, verdict } from '../lib/stats.mjs';
import { loadAndCost, warmUp } from './throughput.mjs';

const WORKERS = 2;
const BARE = 'node:cluster, stdout inherited';
const PIPED = "node:cluster, primary pipes workers' stdout";
const INHERIT = "cluster2, logs: 'inherit'";
const CAPTURE_STDOUT = 'cluster2, capture → master stdout';
const CAPTURE_FILES = 'cluster2, capture → files (stdout: false)';
const PM2 = `PM2 ${pm2Version()} -i ${WORKERS}`;
const REQUEST_MARKER = '"msg":"request"';
const FLOOD_MARKER = 'flood ';

/**
 * Whether the built @cluster2/core captures workers' output (its `logs` option takes an object).
 * Asked in a child process: constructing a Cluster is the one sure test of the option.
 */
function captureAvailable() {
  const probe =
    "import { Cluster } from '@cluster2/core'; try { new Cluster({ port: 1, logs: { capture: false } }); process.stdout.write('yes'); } catch { process.stdout.write('no'); } process.exit(0);";
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', probe], { cwd: BENCH_DIR, timeout: 30_000 }, (error, stdout) =>
      resolve(!error && stdout === 'yes'),
    );
  });
}

/**
 * The contenders. `logs(dir)` is the cluster2 `logs` option for a run whose files go to `dir`;
 * `files(dir, c)` names the files the lines land in. Before capture exists, the cluster2 row runs
 * with the library's behaviour of then (workers inherit stdio) and the capture rows wait.
 */
function contenders(capture, { flood = false } = {}) {
  const app = (name, logs, extra = {}) => ({
    name,
    app: name === BARE || name === PIPED ? 'bare-cluster.mjs' : 'cluster2.mjs',
    logs,
    files: (dir) => [path.join(dir, 'stdout.log'), ...filesIn(path.join(dir, 'logs'))],
    ...extra,
  });
  // maxSize 0: no rotation, so every line can be counted in out.log (rotation has its own cost).
  const list = [
    app(BARE),
    app(PIPED, undefined, { env: { BENCH_PIPE: '1' } }),
    app(INHERIT, capture ? 'inherit' : undefined),
    app(CAPTURE_STDOUT, capture ? () => ({ capture: true }) : undefined, { needsCapture: true }),
    app(CAPTURE_FILES, capture ? (dir) => ({ stdout: false, dir: path.join(dir, 'logs'), maxSize: 0 }) : undefined, { needsCapture: true }),
    { name: PM2, pm2: 'single.mjs', files: (dir, c) => filesIn(path.join(c.pm2.home, 'logs'), (f) => f.includes('-out')) },
  ];
  return list.map((spec) => ({ ...spec, flood }));
}

/** The runnable spec of contender `spec` for one run whose files go to `dir`. */
function concrete(spec, dir, { monitor = false } = {}) {
  const env = { BENCH_WORKERS: WORKERS, ...(spec.flood ? { BENCH_FLOOD: '1' } : { BENCH_LOG: 'pino' }) };
  if (spec.pm2) return { name: spec.name, pm2: spec.pm2, workers: WORKERS, env };
  const logs = typeof spec.logs === 'function' ? spec.logs(dir) : spec.logs;
  const pids = monitor ? path.join(dir, 'pids') : false;
  if (pids) fs.mkdirSync(pids);
  fs.mkdirSync(path.join(dir, 'logs'));
  const options = { monitor, ...(monitor ? { monPort: 0 } : {}), pids, ...(logs === undefined ? {} : { logs }) };
  return { name: spec.name, app: spec.app, workers: WORKERS, stdoutFile: path.join(dir, 'stdout.log'), env: { ...env, ...spec.env, BENCH_OPTIONS: options } };
}

/** Runs `fn(contender, counter, dir)` on a fresh contender with its own tmp dir, removed afterwards. */
async function inTmp(spec, marker, fn, options) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster2-bench-logs-'));
  try {
    return await withContender(concrete(spec, dir, options), (c) => fn(c, new LineCounter(() => spec.files(dir, c), marker), dir));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// 12a. req/s with one pino line per request.
async function servePart(ctx, capture) {
  const specs = contenders(capture).filter((s) => capture || !s.needsCapture);
  const results = await interleave(
    specs,
    ctx.rounds,
    (spec) =>
      inTmp(spec, REQUEST_MARKER, async (c, counter) => {
        await warmUp(c.port, ctx);
        const before = await settledCount(counter);
        const r = await loadAndCost(c, ctx);
        const after = await settledCount(counter);
        return { ...r, linesPerRequest: (after - before) / r.requests };
      }),
    ctx.log,
  );
  const rps = (name) => medianOf(results, name, (r) => r.rps);
  const rows = specs.map(({ name }) =>
    loadRow(results, name, { '× PM2': PM2, [`× ${BARE}`]: BARE }, (runs) => ({ 'log lines ÷ requests': median(runs.map((r) => r.linesPerRequest)) })),
  );
  const summary = {
    bareRps: rps(BARE),
    inheritVsBare: ratio(rps(INHERIT), rps(BARE)),
    pm2VsBare: ratio(rps(PM2), rps(BARE)),
    pipedVsBare: ratio(rps(PIPED), rps(BARE)),
    minLinesPerRequest: Math.min(...rows.map((r) => r['log lines ÷ requests'])),
  };
  const notes = [];
  if (capture) {
    Object.assign(summary, {
      captureVsPm2: ratio(rps(CAPTURE_STDOUT), rps(PM2)),
      captureFilesVsPm2: ratio(rps(CAPTURE_FILES), rps(PM2)),
      captureVsInherit: ratio(rps(CAPTURE_STDOUT), rps(INHERIT)),
      captureVsBare: ratio(rps(CAPTURE_STDOUT), rps(BARE)),
      captureVsPiped: ratio(rps(CAPTURE_STDOUT), rps(PIPED)),
    });
    notes.push(
      `Target cluster2 with capture ≥ 1.0× PM2: to the master's stdout ${round(summary.captureVsPm2, 3)}× ${verdict(summary.captureVsPm2 >= 1)}, to files ${round(summary.captureFilesVsPm2, 3)}× ${verdict(summary.captureFilesVsPm2 >= 1)}. Capture to stdout against no capture (\`logs: 'inherit'\`): ${round(summary.captureVsInherit, 3)}×; against node:cluster with inherited stdout: ${round(summary.captureVsBare, 3)}×; against a primary that only pipes its workers' stdout to its own: ${round(summary.captureVsPiped, 3)}×.`,
    );
  } else {
    notes.push(
      `Pending: the rows "${CAPTURE_STDOUT}" and "${CAPTURE_FILES}" run once @cluster2/core captures workers' output (its \`logs\` option taking an object); this build has no capture, so "${INHERIT}" runs with the defaults (workers inherit stdio, which is what \`logs: 'inherit'\` keeps).`,
    );
  }
  notes.push(
    `12a: every worker writes one pino line (about 90 bytes of JSON, from \`pino()\` with its defaults) per request to its stdout; ${WORKERS} workers; wrk -t1 -c50 -d${ctx.wrkSeconds}s --latency, keep-alive, after a warm-up; ${ctx.rounds} round(s), interleaved, fresh processes and a fresh tmp dir each round. Ratios are to PM2 and to "${BARE}".`,
    `Destinations are files in a tmp dir, never /dev/null (which costs nothing): node:cluster and cluster2 run with the master's stdout redirected to a file (with \`logs: 'inherit'\` the workers write to it themselves; with capture the master reads their pipes and writes each line, labelled, to its stdout); "files" is \`logs: { stdout: false, dir: <tmp>/logs, maxSize: 0 }\` (out.log written by the master, no rotation); "${PIPED}" forks with \`silent: true\` and does \`worker.process.stdout.pipe(process.stdout)\` (no lines, no labels: the least a capture can cost); PM2 is \`pm2 start single.mjs -i ${WORKERS}\` with a private PM2_HOME, writing its per-instance log files (bench-out-<n>.log). cluster2 rows: \`monitor: false, pids: false\`, other options default.`,
    `"log lines ÷ requests": request lines that reached the destination during the wrk run (counted once the file stopped growing) per request wrk completed; 1.00 means none lost (a little above: requests still in flight when wrk stopped).`,
  );
  return { summary, notes, table: { caption: `one pino line per request, ${WORKERS} workers`, columns: Object.keys(rows[0]), rows } };
}

/** GETs /flood on fresh connections until `workers` distinct pids have started flooding. */
async function trigger(port, workers, lines) {
  const started = new Set();
  await pollUntil(
    async () => {
      const { status, pid } = await get(port, `/flood?lines=${lines}`);
      if (status === 200 && pid) started.add(pid);
      return started.size >= workers;
    },
    { timeoutMs: 30_000, what: `${workers} workers to start flooding` },
  );
}

/** CPU ms so far of every process in group `pgid`, by pid. */
function groupCpu(pgid) {
  const cpu = new Map();
  for (const pid of groupPids(pgid)) {
    try {
      cpu.set(pid, cpuMs(pid));
    } catch {}
  }
  return cpu;
}

/** `dropped` from the master's monitor (GET /api/logs), NaN when it has none to give. */
async function droppedLines(dir) {
  try {
    const info = JSON.parse(fs.readFileSync(path.join(dir, 'pids', 'master.json'), 'utf8'));
    const res = await get(info.monitor.port, '/api/logs?lines=1');
    const dropped = JSON.parse(res.body).dropped;
    return typeof dropped === 'number' ? dropped : NaN;
  } catch {
    return NaN;
  }
}

/** One flood: both workers print `lines` lines; times them into the destination. */
async function floodOnce(spec, lines) {
  return inTmp(
    spec,
    FLOOD_MARKER,
    async (c, counter, dir) => {
      const expected = lines * WORKERS;
      const pgid = spec.pm2 ? c.masterPid : c.handle.pid;
      const cpu0 = groupCpu(pgid);
      const t0 = performance.now();
      await trigger(c.port, WORKERS, lines);
      const { lines: arrived, at } = await countUntil(counter, expected, { stallMs: 3000 });
      const cpu1 = groupCpu(pgid);
      let groupMs = 0;
      for (const [pid, ms] of cpu1) if (cpu0.has(pid)) groupMs += ms - cpu0.get(pid);
      const masterMs = (cpu1.get(c.masterPid) ?? NaN) - (cpu0.get(c.masterPid) ?? NaN);
      const per100k = (ms) => (ms * 100_000) / Math.max(arrived, 1);
      return {
        linesPerS: arrived / ((at - t0) / 1000),
        masterCpuMsPer100k: per100k(masterMs),
        allCpuMsPer100k: per100k(groupMs),
        missing: expected - arrived,
        dropped: spec.needsCapture ? await droppedLines(dir) : NaN,
      };
    },
    { monitor: Boolean(spec.needsCapture) },
  );
}

// 12b. Capture throughput: lines/s into each destination, and what the master spends on them.
async function floodPart(ctx, capture) {
  const lines = ctx.quick ? 20_000 : 200_000;
  // Lines/s swings by 2× between rounds when neighbours share the 2 cores (a run lasts 1–6 s):
  // as many rounds as 12a; the CPU per 100k lines moves much less.
  const rounds = ctx.rounds;
  const specs = contenders(capture, { flood: true }).filter((s) => capture || !s.needsCapture);
  const results = await interleave(specs, rounds, (spec) => floodOnce(spec, lines), ctx.log);
  const lps = (name) => medianOf(results, name, (r) => r.linesPerS);
  const rows = specs.map(({ name }) => {
    const runs = results.get(name);
    return {
      contender: name,
      'lines/s (median)': lps(name),
      [`× ${BARE}`]: round(ratio(lps(name), lps(BARE)), 3),
      'master CPU ms per 100k lines': median(runs.map((r) => r.masterCpuMsPer100k)),
      'all processes CPU ms per 100k lines': median(runs.map((r) => r.allCpuMsPer100k)),
      'lines missing': sum(runs.map((r) => r.missing)),
      'dropped (monitor)': spec(name).needsCapture ? sum(runs.map((r) => r.dropped)) : '',
      'lines/s runs': runs.map((r) => Math.round(r.linesPerS)).join(', '),
    };
  });
  function spec(name) {
    return specs.find((s) => s.name === name);
  }
  const summary = {
    floodBareLinesPerS: lps(BARE),
    floodInheritLinesPerS: lps(INHERIT),
    floodPm2LinesPerS: lps(PM2),
    floodPipedLinesPerS: lps(PIPED),
    floodPipedMasterCpuMsPer100k: medianOf(results, PIPED, (r) => r.masterCpuMsPer100k),
    floodMissing: sum(rows.map((r) => r['lines missing'])),
  };
  if (capture) {
    Object.assign(summary, {
      floodCaptureStdoutLinesPerS: lps(CAPTURE_STDOUT),
      floodCaptureFilesLinesPerS: lps(CAPTURE_FILES),
      floodCaptureMasterCpuMsPer100k: medianOf(results, CAPTURE_STDOUT, (r) => r.masterCpuMsPer100k),
    });
  }
  const notes = [
    `Every line arrived: ${summary.floodMissing === 0 ? 'yes' : `**no, ${summary.floodMissing} missing**`} (lines holding "flood " counted in the destination files, up to ${lines * WORKERS} per run; a run stops counting once the count has not grown for 3 s).`,
    `12b: ${WORKERS} workers each print ${lines.toLocaleString('en-US')} lines of 100 bytes (newline included) to stdout, one write per line, in batches of 1000 per event-loop turn, waiting for 'drain' when a write returns false; started by GET /flood on fresh connections until both workers answered; the clock runs from the first GET until the last line is in the destination (polled every 10 ms). ${rounds} round(s), interleaved, fresh processes and tmp dir each. "master CPU": /proc utime+stime of the master (PM2: its daemon) over that time; "all processes": master and workers. With inherited stdout the workers write the file themselves and the master spends nothing. Destinations as in 12a; cluster2's capture rows run with the monitor on (\`monitor: true, monPort: 0\`) to read \`dropped\` from GET /api/logs.`,
  ];
  return {
    summary,
    notes,
    table: { caption: `capture throughput: ${WORKERS} workers × ${lines.toLocaleString('en-US')} lines of 100 bytes`, columns: Object.keys(rows[0]), rows },
  };
}

export async function logs(ctx) {
  const capture = await captureAvailable();
  if (!capture) ctx.log('   (@cluster2/core has no log capture yet: capture rows pending)');
  ctx.log('12a. one pino line per request');
  const a = await servePart(ctx, capture);
  ctx.log('12b. capture throughput');
  const b = await floodPart(ctx, capture);
  return { summary: { ...a.summary, ...b.summary }, notes: [...a.notes, ...b.notes], tables: [a.table, b.table] };
}
