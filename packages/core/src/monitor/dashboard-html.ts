import { createHash } from 'node:crypto';
import { DASHBOARD_APP_JS } from './dashboard-app.js';
import { DASHBOARD_LOGS_JS } from './dashboard-logs.js';
import { DASHBOARD_RENDER_JS } from './dashboard-render.js';
import { DASHBOARD_CSS } from './dashboard-style.js';

/** The page's whole script: one strict-mode IIFE, so nothing leaks onto window. */
export const DASHBOARD_SCRIPT = `(function () {\n'use strict';\n${DASHBOARD_RENDER_JS}\n${DASHBOARD_LOGS_JS}\n${DASHBOARD_APP_JS}\n})();\n`;

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * Content-Security-Policy of `GET /`: only this exact inline script and style may run (by
 * hash), and the page may only talk to its own origin. An event message or log line that
 * slipped past escaping still could not execute.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${sha256(DASHBOARD_SCRIPT)}`,
  `style-src ${sha256(DASHBOARD_CSS)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const WORKER_COLUMNS = [
  'PID',
  'ID',
  'State',
  'Uptime',
  'RSS MiB',
  'Heap MiB',
  'CPU %',
  'Loop ms',
  'Conns',
  'Upgraded',
  'Requests',
  'In flight',
  'Restarts',
  '',
];

const BODY = `
<header class="top">
  <h1>cluster2</h1>
  <span id="conn" class="pill warn">connecting\u2026</span>
  <span id="master-line"></span>
  <div class="actions">
    <span class="muted">ECV</span>
    <span id="ecv-state" class="pill" data-testid="ecv-state"></span>
    <button type="button" id="ecv-enable" data-testid="ecv-enable">Enable</button>
    <button type="button" id="ecv-disable" data-testid="ecv-disable">Disable</button>
    <button type="button" id="reload" class="primary" data-testid="reload" title="Replace every worker, one at a time">Reload</button>
  </div>
</header>
<form id="token-form" hidden>
  <label>Monitor token <input type="password" id="token-input" autocomplete="off"></label>
  <button type="submit">Use token</button>
</form>
<div id="notice" role="status" hidden></div>
<main>
  <div class="cards" id="totals"></div>
  <div class="charts">
    <section class="panel"><h2>Requests/s <span id="rate-now" class="now"></span></h2>
      <svg id="chart-rate" viewBox="0 0 600 150" preserveAspectRatio="none" role="img" aria-label="requests per second, last 5 minutes"></svg></section>
    <section class="panel"><h2>Memory (RSS, all workers) <span id="mem-now" class="now"></span></h2>
      <svg id="chart-mem" viewBox="0 0 600 150" preserveAspectRatio="none" role="img" aria-label="memory, last 5 minutes"></svg></section>
  </div>
  <section class="panel"><h2>Workers</h2>
    <div class="table-wrap"><table class="workers">
      <thead><tr>${WORKER_COLUMNS.map((c) => `<th>${c}</th>`).join('')}</tr></thead>
      <tbody id="workers"></tbody>
    </table></div>
  </section>
  <div class="split">
    <section class="panel"><h2>Recent events</h2><ol id="events" class="events"></ol></section>
    <section class="panel"><h2>Logs
        <select id="log-worker" data-testid="log-worker" aria-label="worker"><option value="">All workers</option></select>
        <select id="log-stream" data-testid="log-stream" aria-label="stream"><option value="">All streams</option><option value="out">out</option><option value="err">err</option></select>
        <button type="button" id="logs-refresh" class="small">Refresh</button>
        <span id="log-dropped" class="pill warn" data-testid="log-dropped" hidden></span></h2>
      <div id="log-lines" class="log-lines" data-testid="log-lines" role="log"></div>
      <div id="log-files-box" hidden><h3>Files</h3>
        <div class="logs"><ul id="log-files"></ul><pre id="log-view" data-testid="log-view">select a file</pre></div>
      </div>
    </section>
  </div>
  <section class="panel"><h2>Dependencies</h2>
    <div class="table-wrap"><table>
      <thead><tr><th>Package</th><th class="left">Wanted</th><th class="left">Installed</th></tr></thead>
      <tbody id="deps"></tbody>
    </table></div>
  </section>
</main>`;

/** The whole dashboard page served at `GET /` (static: live data arrives over `/api/events`). */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cluster2 monitor</title>
<link rel="icon" href="data:,">
<style>${DASHBOARD_CSS}</style>
</head>
<body>${BODY}
<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;
