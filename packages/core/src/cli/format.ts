import type { MasterInfo } from '../primary/pidfiles.js';
import type { ClusterStatus, WorkerStatus } from '../status.js';

const MIB = 1024 * 1024;

/** `3d 4h`, `2h 5m`, `4m 10s`, `12s`. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '-';
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

const int = (value: number | undefined): string => (value === undefined ? '-' : Math.round(value).toLocaleString('en-US'));
const fixed = (value: number | undefined, digits: number): string => (value === undefined ? '-' : value.toFixed(digits));
const mib = (bytes: number | undefined): string => (bytes === undefined ? '-' : (bytes / MIB).toFixed(1));

/** Renders rows under headers; the first `leftColumns` columns are left-aligned, the rest right-aligned (numbers). */
export function formatTable(headers: string[], rows: string[][], leftColumns = 1): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i < leftColumns ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

const WORKER_HEADERS = [
  'PID',
  'ID',
  'INSTANCE',
  'STATE',
  'UPTIME',
  'RSS MiB',
  'HEAP MiB',
  'CPU %',
  'LOOP ms',
  'CONNS',
  'UPGRADED',
  'REQUESTS',
  'IN-FLIGHT',
  'RESTARTS',
];

function workerCells(worker: WorkerStatus, now: number): string[] {
  const uptime = worker.uptime ?? (now - worker.startedAt) / 1000;
  return [
    String(worker.pid),
    String(worker.id),
    String(worker.instance),
    worker.state,
    formatDuration(uptime),
    mib(worker.rss),
    mib(worker.heapUsed),
    fixed(worker.cpu, 1),
    fixed(worker.eventLoopDelay, 2),
    int(worker.connections),
    int(worker.upgraded),
    int(worker.requests),
    int(worker.inFlight),
    int(worker.restarts),
  ];
}

/** The `cluster2 status` report: master line, ECV, totals, then one row per worker. */
export function formatStatus(status: ClusterStatus, now = Date.now()): string {
  const { master, totals, ecv } = status;
  const restarts = Object.entries(status.restarts)
    .map(([reason, count]) => `${reason}=${count}`)
    .join(' ');
  const lines = [
    `master ${master.pid}  ${master.state}  up ${formatDuration(master.uptime)}  node ${master.node}  ` +
      `${master.host}:${master.ports.join(',')}  workers ${totals.workers}/${master.noWorkers}`,
    `ECV ${ecv.state} since ${ecv.since}`,
    `requests ${int(totals.requests)}  in-flight ${int(totals.inFlight)}  connections ${int(totals.connections)}  ` +
      `rss ${mib(totals.rss)} MiB  restarts ${restarts || 'none'}`,
    '',
  ];
  const rows = status.workers.map((worker) => workerCells(worker, now));
  lines.push(rows.length > 0 ? formatTable(WORKER_HEADERS, rows, 4) : 'no workers');
  return `${lines.join('\n')}\n`;
}

/** What `status` can say without a monitor: the pid files' view. */
export function formatPidsOnly(master: MasterInfo, workerPids: number[], now = Date.now()): string {
  const uptime = master.startedAt > 0 ? `  up ${formatDuration((now - master.startedAt) / 1000)}` : '';
  const ports = master.ports.length > 0 ? `  ${master.host}:${master.ports.join(',')}` : '';
  const workers = workerPids.length > 0 ? [...workerPids].sort((a, b) => a - b).join(' ') : 'none recorded';
  return `master ${master.pid}  running${uptime}${ports}\nworkers ${workers}\n(monitor not available: figures need the monitor)\n`;
}
