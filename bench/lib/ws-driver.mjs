#!/usr/bin/env node
// WebSocket load driver, run as its own process (so the client's CPU is not the harness's), on
// 127.0.0.1 only, bounded by time and by count. Prints one JSON line with its result.
//
//   node ws-driver.mjs echo --port P [--connections 200] [--window 4] [--warmup 1000] [--seconds 4] [--max-messages 5000000]
//     Each connection keeps `window` small messages in flight (its send time as text) and sends
//     the next as each echo arrives; echoes are counted and timed after the warm-up.
//   node ws-driver.mjs reload --port P --master PID [--connections 200] [--reloads 5]
//     Clients reconnect whenever the server closes; each reload is SIGUSR2 to the master, timed
//     until every client is connected again to a worker that is not one it saw before the reload.
// The server sends {"pid":N} first on every connection (bench/apps/servers.mjs, the 'ws' app).
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string' },
    master: { type: 'string' },
    connections: { type: 'string', default: '200' },
    window: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '4' },
    'max-messages': { type: 'string', default: '5000000' },
    reloads: { type: 'string', default: '5' },
  },
});
const mode = positionals[0];
const port = Number(values.port);
const connections = Number(values.connections);
const url = `ws://127.0.0.1:${port}/`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens one WebSocket and resolves with it and the pid the server announced. */
function open() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('error', reject);
    ws.once('message', (data) => resolve({ ws, pid: JSON.parse(data.toString()).pid }));
  });
}

async function until(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

async function echo() {
  const window = Number(values.window);
  const maxMessages = Number(values['max-messages']);
  const sockets = await Promise.all(Array.from({ length: connections }, open));
  let counting = false;
  let running = true;
  let messages = 0;
  let unexpectedCloses = 0;
  const rtts = [];
  for (const { ws } of sockets) {
    ws.on('close', () => running && unexpectedCloses++);
    ws.on('message', (data) => {
      if (counting) {
        messages++;
        rtts.push(performance.now() - Number(data.toString()));
        if (messages >= maxMessages) running = false;
      }
      if (running) ws.send(String(performance.now()));
    });
    for (let i = 0; i < window; i++) ws.send(String(performance.now()));
  }
  await sleep(Number(values.warmup));
  counting = true;
  const start = performance.now();
  const end = start + Number(values.seconds) * 1000;
  while (running && performance.now() < end) await sleep(10);
  counting = false;
  running = false;
  const seconds = (performance.now() - start) / 1000;
  for (const { ws } of sockets) ws.terminate();
  rtts.sort((a, b) => a - b);
  const pct = (p) => rtts[Math.min(rtts.length - 1, Math.ceil((p / 100) * rtts.length) - 1)] ?? NaN;
  return { messages, seconds, rate: messages / seconds, p50: pct(50), p99: pct(99), unexpectedCloses, connections };
}

async function reload() {
  const master = Number(values.master);
  const closes = {};
  let failedConnects = 0;
  const clients = Array.from({ length: connections }, () => ({ pid: undefined, ws: undefined }));
  let stopping = false;
  const connect = (client) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    client.ws = ws;
    let pid;
    ws.on('error', () => {});
    ws.once('message', (data) => {
      pid = JSON.parse(data.toString()).pid;
      client.pid = pid;
    });
    ws.on('close', (code) => {
      client.pid = undefined;
      if (stopping) return;
      if (pid === undefined) failedConnects++;
      else closes[code] = (closes[code] ?? 0) + 1;
      setImmediate(() => connect(client));
    });
  };
  for (const client of clients) connect(client);
  await until(() => clients.every((c) => c.pid !== undefined), 30_000, `${connections} connections`);
  const reloadsMs = [];
  for (let i = 0; i < Number(values.reloads); i++) {
    const old = new Set(clients.map((c) => c.pid));
    const start = performance.now();
    process.kill(master, 'SIGUSR2');
    await until(() => clients.every((c) => c.pid !== undefined && !old.has(c.pid)), 60_000, `every client on a new worker after reload ${i + 1}`);
    reloadsMs.push(performance.now() - start);
    // Let the last old worker finish exiting before the next reload.
    await sleep(500);
  }
  stopping = true;
  for (const { ws } of clients) ws?.terminate();
  return { reloadsMs, closes, failedConnects, connections };
}

const run = { echo, reload }[mode];
if (!run || !Number.isInteger(port) || port <= 0) {
  process.stderr.write('usage: ws-driver.mjs echo|reload --port P [options]\n');
  process.exit(2);
}
// Hard bound: whatever happens, the driver does not outlive its job.
setTimeout(() => {
  process.stderr.write('ws-driver: overall time limit reached\n');
  process.exit(1);
}, 10 * 60_000).unref();
try {
  process.stdout.write(`${JSON.stringify(await run())}\n`);
  process.exit(0);
} catch (error) {
  process.stderr.write(`ws-driver: ${error.stack}\n`);
  process.exit(1);
}
