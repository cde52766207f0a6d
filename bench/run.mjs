#!/usr/bin/env node
// cluster2 benchmarks. `node bench/run.mjs` (full, minutes, writes bench/RESULTS.md) or
// `node bench/run.mjs --quick` (seconds, keeps the harness honest in CI). Options:
//   --out <file>    also write the results as JSON
//   --md <file>     write the markdown there (full mode default: bench/RESULTS.md)
//   --only 1,3      run only these sections
//   --update        with --only: put those sections into bench/RESULTS.md, the rest as it was
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_DIR } from './lib/proc.mjs';
import { machine, renderResults, spliceResults } from './lib/table.mjs';
import { throughput } from './sections/throughput.mjs';
import { respawn } from './sections/respawn.mjs';
import { reload } from './sections/reload.mjs';
import { shutdown } from './sections/shutdown.mjs';
import { delegation } from './sections/delegation.mjs';
import { idle } from './sections/idle.mjs';
import { metrics } from './sections/metrics.mjs';
import { growth } from './sections/growth.mjs';
import { websocket } from './sections/websocket.mjs';
import { sticky } from './sections/sticky.mjs';
import { start } from './sections/start.mjs';
import { logs } from './sections/logs.mjs';
import { http2 } from './sections/http2.mjs';

const SECTIONS = [
  { id: 1, key: 'throughput', title: '1. Throughput and latency (hello world, keep-alive)', run: throughput },
  { id: 2, key: 'respawn', title: '2. Respawn: SIGKILL a worker → replacement serves', run: respawn },
  { id: 3, key: 'reload', title: '3. Rolling reload under load', run: reload },
  { id: 4, key: 'shutdown', title: '4. Graceful shutdown with 50 idle keep-alive clients', run: shutdown },
  { id: 5, key: 'delegation', title: '5. Delegation round trip vs raw process.send', run: delegation },
  { id: 6, key: 'idle', title: '6. Idle master: CPU and RSS', run: idle },
  { id: 7, key: 'metrics', title: '7. /metrics scrape time', run: metrics },
  { id: 8, key: 'growth', title: '8. Master cost vs worker count', run: growth },
  { id: 9, key: 'websocket', title: '9. WebSockets: echo throughput and rolling reload', run: websocket },
  { id: 10, key: 'sticky', title: '10. Sticky sessions: cost against round-robin, socket.io against @socket.io/sticky', run: sticky },
  { id: 11, key: 'start', title: '11. cluster2 start: an unmodified app (throughput, reloads under load, start time)', run: start },
  { id: 12, key: 'logs', title: "12. Logs: the cost of capturing workers' output", run: logs },
  { id: 13, key: 'http2', title: '13. HTTP/2: h2load throughput, rolling reloads under sessions × streams', run: http2 },
];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    md: { type: 'string' },
    only: { type: 'string' },
    update: { type: 'boolean', default: false },
  },
});

const quick = values.quick;
const ctx = {
  quick,
  // Five short rounds rather than three long ones: on this shared machine the same server's req/s
  // moves by up to 25 % between rounds (neighbours come and go), and a median of five interleaved
  // rounds is steadier than one of three for about the same time.
  rounds: quick ? 1 : 5,
  wrkSeconds: quick ? 1 : 4,
  log: (line) => process.stderr.write(`${line}\n`),
};

const only = values.only ? new Set(values.only.split(',').map(Number)) : undefined;
if (values.update && (!only || quick)) throw new Error('--update puts the sections of a full --only run into RESULTS.md: use it with --only, without --quick');
const started = performance.now();
const info = machine();
ctx.log(`cluster2 bench (${quick ? 'quick' : 'full'}) on ${info.cores} cores, ${info.cpu}, Node ${info.node}, load ${info.loadavg.join(' ')}`);
const sections = [];
for (const s of SECTIONS) {
  if (only && !only.has(s.id)) continue;
  ctx.log(`\n== ${s.title}`);
  const t0 = performance.now();
  const loadBefore = os.loadavg()[0];
  try {
    const result = await s.run(ctx);
    const load = `load average (1 min) ${loadBefore.toFixed(2)} at the start of this section, ${os.loadavg()[0].toFixed(2)} at its end; the benchmark's own wrk, master and workers add about 3 of it while a load runs, so much more means other jobs shared the machine.`;
    sections.push({ id: s.id, key: s.key, title: s.title, status: result.status ?? 'ok', ...result, notes: [...(result.notes ?? []), load] });
  } catch (error) {
    ctx.log(`   failed: ${error.stack}`);
    sections.push({ id: s.id, key: s.key, title: s.title, status: 'failed', error: error.message.split('\n')[0], notes: [], tables: [], summary: {} });
  }
  ctx.log(`   (${Math.round((performance.now() - t0) / 1000)} s)`);
}

const doc = { machine: info, mode: quick ? 'quick' : 'full', durationS: Math.round((performance.now() - started) / 1000), sections };
const markdown = renderResults(doc);
const mdPath = values.md ?? (quick || only ? undefined : path.join(BENCH_DIR, 'RESULTS.md'));
if (mdPath) fs.writeFileSync(mdPath, markdown);
if (values.update) {
  const results = path.join(BENCH_DIR, 'RESULTS.md');
  // A section that failed keeps its last good results.
  const done = { ...doc, sections: sections.filter((s) => s.status !== 'failed') };
  fs.writeFileSync(results, spliceResults(fs.readFileSync(results, 'utf8'), done, values.only));
}
if (values.out) fs.writeFileSync(values.out, `${JSON.stringify(doc, null, 2)}\n`);
process.stdout.write(`${markdown}\n`);
process.exitCode = sections.some((s) => s.status === 'failed') ? 1 : 0;
