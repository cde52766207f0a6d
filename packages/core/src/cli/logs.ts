import type { LogRecord } from '../status.js';
import { findRunningMaster, type MasterInfo } from '../primary/pidfiles.js';
import type { CliIo } from './io.js';
import { LogFilesReader } from './log-files.js';
import { fromRecord, matchesFilter, renderLine, type LineFilter, type ParsedLine } from './log-lines.js';
import { followMonitorEvents, monitorJson, TOKEN_ENV, type MonitorAddress } from './monitor-client.js';

/** What `cluster2 logs` was asked for. */
export interface LogsRequest {
  pids: string;
  json: boolean;
  /** Last lines printed first. @default 50 */
  lines: number;
  errOnly: boolean;
  /** `w0`, `0` (the same), `master`, or a pid. */
  worker?: string;
  follow: boolean;
  reopen: boolean;
}

export const DEFAULT_LOG_LINES = 50;
/** Most lines `--lines` takes (the monitor answers at most 10000, and only its `logs.recent` last). */
export const MAX_LOG_LINES = 100_000;
/** Most lines the monitor returns in one answer. */
const MONITOR_MAX_LINES = 10_000;
/** Lines remembered to print none twice when the event stream is reopened. */
const SEEN_KEYS = 20_000;

export interface LogsRunOptions {
  /** The monitor's monToken. @default process.env.CLUSTER2_MON_TOKEN */
  token?: string | undefined;
  /** Ends `--follow` (tests; the command itself follows until it is killed). */
  signal?: AbortSignal;
}

/**
 * `cluster2 logs`: the captured lines of the master running in the pids directory, from its log
 * files when it writes some, else through its monitor. Throws ERR_CLUSTER2_NOT_RUNNING when no
 * master runs there, a plain Error (exit 1) when its logs cannot be read.
 */
export async function runLogs(request: LogsRequest, io: CliIo, options: LogsRunOptions = {}): Promise<number> {
  const token = ('token' in options ? options.token : process.env[TOKEN_ENV]) || undefined;
  const signal = options.signal ?? new AbortController().signal;
  const master = findRunningMaster(request.pids);
  // null: capture is off; undefined: a master.json written by a cluster2 without log capture.
  const logs = master.logs;
  if (request.reopen) return reopen(master, io, token);
  if (logs === null) {
    throw new Error(
      `master ${master.pid} does not capture its workers' output (logs: 'inherit' or logs.capture: false): their lines go to the master's own stdout and stderr`,
    );
  }
  const filter: LineFilter = { errOnly: request.errOnly, ...(request.worker === undefined ? {} : { worker: request.worker }) };
  const print = (line: ParsedLine): void => void io.stdout.write(`${renderLine(line, request.json)}\n`);
  if (logs?.dir) {
    const reader = new LogFilesReader({ dir: logs.dir, files: logs.files }, filter);
    try {
      for (const line of await reader.tail(request.lines)) print(line);
      if (request.follow) await reader.follow(print, signal);
    } finally {
      await reader.close();
    }
    return 0;
  }
  if (master.monitor === null) {
    throw new Error(
      `master ${master.pid} writes no log files (logs.dir) and has no monitor to read its recent lines through; set logs.dir, or leave the monitor on`,
    );
  }
  await fromMonitor(master.monitor, request, filter, token, print, signal, io);
  return 0;
}

async function reopen(master: MasterInfo, io: CliIo, token: string | undefined): Promise<number> {
  if (master.monitor === null) {
    // Success, not an error: logrotate's postrotate runs this, and nothing is left to do.
    io.stdout.write(
      `master ${master.pid} has no monitor to ask; none is needed: the master notices a moved or removed log file by itself within a second and writes a new one\n`,
    );
    return 0;
  }
  await withMonitor(master.monitor, () => monitorJson(master.monitor!, 'POST', '/api/logs/reopen', token));
  io.stdout.write(`master ${master.pid} reopened its log files\n`);
  return 0;
}

/** Names the monitor in a failure, which then exits 1 with the reason. */
async function withMonitor<T>(monitor: MonitorAddress, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw new Error(`monitor at ${monitor.host}:${monitor.port}: ${(error as Error).message}`);
  }
}

/** `GET /api/logs`, filtered by the monitor when it can be (a pid can only be filtered here). */
async function recentLines(monitor: MonitorAddress, request: LogsRequest, filter: LineFilter, token: string | undefined, count: number): Promise<ParsedLine[]> {
  const byLabel = request.worker !== undefined && !/^\d+$/.test(request.worker);
  const query = new URLSearchParams({ lines: String(byLabel || request.worker === undefined ? Math.min(count, MONITOR_MAX_LINES) : MONITOR_MAX_LINES) });
  if (byLabel) query.set('worker', request.worker!);
  if (request.errOnly) query.set('stream', 'err');
  const body = await withMonitor(monitor, () => monitorJson<{ lines?: LogRecord[] }>(monitor, 'GET', `/api/logs?${query.toString()}`, token));
  return (body.lines ?? [])
    .map(fromRecord)
    .filter((line) => matchesFilter(line, filter))
    .slice(-count);
}

const keyOf = (line: ParsedLine): string => `${line.time} ${line.pid} ${line.stream} ${line.msg}`;

async function fromMonitor(
  monitor: MonitorAddress,
  request: LogsRequest,
  filter: LineFilter,
  token: string | undefined,
  print: (line: ParsedLine) => void,
  signal: AbortSignal,
  io: CliIo,
): Promise<void> {
  if (!request.follow) {
    for (const line of await recentLines(monitor, request, filter, token, request.lines)) print(line);
    return;
  }
  const seen = new Set<string>();
  let lastTime = -Infinity;
  const emit = (line: ParsedLine): void => {
    const key = keyOf(line);
    if (seen.has(key)) return;
    seen.add(key);
    if (seen.size > SEEN_KEYS) seen.delete(seen.values().next().value!);
    lastTime = Math.max(lastTime, line.time ?? lastTime);
    print(line);
  };
  let first = true;
  while (!signal.aborted) {
    // The stream opens first, its lines held back, so none printed between the two is missed.
    let held: ParsedLine[] | null = [];
    const onEvent = (event: string, data: unknown): void => {
      if (event === 'logs-skipped') {
        io.stderr.write(`cluster2: the monitor skipped ${(data as { skipped?: number }).skipped ?? 0} lines (more than it relays per 100 ms)\n`);
      }
      if (event !== 'logs' || !Array.isArray(data)) return;
      const lines = (data as LogRecord[]).map(fromRecord).filter((line) => matchesFilter(line, filter));
      if (held !== null) held.push(...lines);
      else lines.forEach(emit);
    };
    const streaming = withMonitor(monitor, () => followMonitorEvents(monitor, token, onEvent, signal));
    streaming.catch(() => {}); // awaited below; this only keeps an early failure from counting as unhandled
    const recent = await recentLines(monitor, request, filter, token, first ? request.lines : MONITOR_MAX_LINES);
    // After the stream was reopened (the monitor ends each after a while), only newer lines are new.
    for (const line of recent) if (first || (line.time ?? 0) >= lastTime) emit(line);
    for (const line of held) emit(line);
    held = null;
    first = false;
    await streaming;
  }
}
