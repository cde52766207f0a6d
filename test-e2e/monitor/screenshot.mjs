#!/usr/bin/env node
// Makes the dashboard screenshot of the README and docs/monitor.md (docs/dashboard.png): starts a 2-worker cluster with the
// monitor, drives a varying load at it for a while so the charts have a shape, restarts one worker
// so the events list has a story, has the workers print a few log lines (the live log panel shows
// them labelled), and captures a 1280x800 viewport.
//
//   node test-e2e/monitor/screenshot.mjs [seconds=70] [out=docs/dashboard.png]
//
// Needs `pnpm build` first (the fixture imports the built @cluster2/core) and Debian's chromium.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const seconds = Number(process.argv[2] ?? 70);
const out = path.resolve(repoRoot, process.argv[3] ?? 'docs/dashboard.png');
if (!Number.isFinite(seconds) || seconds < 5) throw new Error(`seconds must be a number >= 5, got ${process.argv[2]}`);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (text) => process.stdout.write(`[screenshot] ${text}\n`);

// A logs directory with something worth showing in the viewer.
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster2-screenshot-'));
const logsDir = path.join(root, 'logs');
fs.mkdirSync(logsDir);
const started = Date.now();
const logLines = [
  ['info', 'cluster2 master started', { workers: 2 }],
  ['info', 'connected to postgres', { pool: 10 }],
  ['info', 'cache warmed', { keys: 1824, ms: 412 }],
  ['warn', 'slow query', { ms: 812, route: '/orders' }],
  ['info', 'config reloaded', { source: 'master' }],
].map(([level, msg, extra], i) => JSON.stringify({ level, time: new Date(started - (5 - i) * 60_000).toISOString(), pid: process.pid, msg, ...extra }));
fs.writeFileSync(path.join(logsDir, 'app.log'), `${logLines.join('\n')}\n`);
fs.writeFileSync(
  path.join(logsDir, 'access.log'),
  Array.from(
    { length: 40 },
    (_, i) => `127.0.0.1 - - [${new Date(started - (40 - i) * 1000).toUTCString()}] "GET /api/items/${i} HTTP/1.1" 200 ${512 + i * 7}`,
  ).join('\n') + '\n',
);

/** What the workers print just before the picture (JSON lines stay JSON, labels added). */
const appLines = [
  ['out', JSON.stringify({ level: 30, msg: 'connected to postgres', pool: 10 })],
  ['out', JSON.stringify({ level: 30, msg: 'cache warmed', keys: 1824, ms: 412 })],
  ['err', JSON.stringify({ level: 40, msg: 'slow query', ms: 812, route: '/orders' })],
  ['out', 'GET /api/items/42 200 3ms'],
];

// The fixture master runs from test-e2e, so the dependencies panel lists that package's.
const forked = new Set();
let ready;
const master = spawn(process.execPath, [path.join(here, 'fixtures', 'monitored-app.mjs')], {
  cwd: path.join(repoRoot, 'test-e2e'),
  env: {
    ...process.env,
    FIXTURE_OPTIONS: JSON.stringify({ noWorkers: 2, heartbeatInterval: 1000, ecv: { control: true }, pids: path.join(root, 'pids'), logs: logsDir }),
  },
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
master.on('message', (m) => {
  if (m.event === 'forked') forked.add(m.args[0]);
  if (m.event === 'ready') ready = m;
  if (m.event === 'listen-rejected') log(`listen rejected: ${m.code} ${m.message}`);
});
const masterExit = new Promise((resolve) => master.once('exit', resolve));

let browser;
let stopLoad = () => {};
try {
  const deadline = Date.now() + 30_000;
  while (!ready) {
    if (Date.now() > deadline) throw new Error('the cluster did not start within 30 s');
    await sleep(50);
  }
  const port = ready.ports[0];
  const monPort = ready.monitor.port;
  log(`app on 127.0.0.1:${port}, monitor on http://127.0.0.1:${monPort}/`);

  browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
  await page.goto(`http://127.0.0.1:${monPort}/`);

  // Load runs until the picture is taken, so the charts end at the current rate, not at a drop.
  stopLoad = startLoad(port);
  await sleep(seconds * 600);
  const status = await json(monPort, '/api/status');
  const restarted = status.workers[0].pid;
  log(`restarting worker ${restarted}: HTTP ${await post(monPort, `/api/workers/${restarted}/restart`)}`);
  await sleep(seconds * 400);

  // The workers log a few lines of their own; the panel shows them live, labelled, among the
  // master's lifecycle lines. Then the last status event lands.
  for (const [stream, text] of appLines) await get(port, `/print?stream=${stream}&text=${encodeURIComponent(text)}`);
  await page.waitForFunction(() => document.querySelector('[data-testid="log-lines"]')?.textContent?.includes('cache warmed'), null, { timeout: 10_000 });
  await sleep(1500);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  await page.screenshot({ path: out });
  log(`wrote ${path.relative(process.cwd(), out)}`);
} finally {
  stopLoad();
  await browser?.close();
  master.kill('SIGTERM');
  await Promise.race([masterExit, sleep(15_000)]);
  for (const pid of [master.pid, ...forked]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  fs.rmSync(root, { recursive: true, force: true });
}

/**
 * A load that rises and falls (so the rate chart has a shape) plus a few slow requests always in
 * flight, until the returned function is called.
 */
function startLoad(port) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 24 });
  let stopped = false;
  const get = (target) =>
    new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: target, agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', resolve);
    });
  const begin = Date.now();
  const slow = async () => {
    while (!stopped) await get('/slow?ms=700');
  };
  const waves = async () => {
    while (!stopped) {
      const t = (Date.now() - begin) / 1000;
      // 120..720 req/s asked for: a slow swell with a faster ripple on top.
      const rate = 120 + 450 * (0.5 - 0.5 * Math.cos((2 * Math.PI * t) / 45)) + 150 * Math.max(0, Math.sin((2 * Math.PI * t) / 11));
      await Promise.all([...Array.from({ length: Math.round(rate / 10) }, () => get('/')), sleep(100)]);
    }
  };
  for (let i = 0; i < 6; i++) slow();
  waves();
  return () => {
    stopped = true;
    agent.destroy();
  };
}

function json(monPort, target) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: monPort, path: target, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve(JSON.parse(body)));
      })
      .on('error', reject);
  });
}

function post(monPort, target) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: monPort, path: target, method: 'POST', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
}

function get(port, target) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: target, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      })
      .on('error', reject);
  });
}
