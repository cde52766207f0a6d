import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Cluster } from '../cluster.js';
import { ENV_DETACHED } from '../ipc/env.js';
import type { ClusterOptions } from '../options.js';

/** A background master's logs directory when none is set. */
const DEFAULT_DETACHED_LOGS = './logs';
import type { StartSpec } from '../start/spec.js';
import type { CliIo } from './io.js';

/** What the background master tells the command that launched it. */
type StartReport = { event: 'serving'; ports: number[] } | { event: 'failed'; message: string };

/** How long a worker's exit before it listened may go without its reason before the master reports it anyway, ms. */
const REASON_WAIT = 1500;
/** Lines of the master's log shown when it exits before serving. */
const LOG_TAIL_LINES = 30;

/**
 * `cluster2 start --detach`: launches the same command as a background master in its own session
 * (it outlives the shell and its terminal), its output appended to `<logs>/<name>.log`, and waits
 * for its first word: serving (exit 0) or failed (the reason, exit 1, and the master is stopped).
 */
export function runDetached(argv: string[], spec: StartSpec, io: CliIo): Promise<number> {
  const logsDir = path.resolve(spec.cwd, detachedLogsDir(spec.options.logs));
  fs.mkdirSync(logsDir, { recursive: true });
  const logFile = path.join(logsDir, `${spec.name ?? 'cluster2'}.log`);
  const log = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'start', ...argv], {
    detached: true,
    stdio: ['ignore', log, log, 'ipc'],
    env: { ...process.env, [ENV_DETACHED]: '1' },
  });
  fs.closeSync(log);
  return new Promise((resolve) => {
    const settle = (code: number) => {
      child.removeAllListeners();
      if (child.connected) child.disconnect();
      child.unref();
      resolve(code);
    };
    child.on('message', (report: StartReport) => {
      if (report.event === 'serving') {
        io.stdout.write(
          `cluster2: ${spec.name ?? spec.script} serves on port ${report.ports.join(', ')} in the background (master ${child.pid}); output: ${logFile}\n`,
        );
        settle(0);
      } else {
        io.stderr.write(`cluster2: the app failed to start: ${report.message}\ncluster2: stopping the background master ${child.pid}\n`);
        child.kill('SIGQUIT');
        settle(1);
      }
    });
    child.on('exit', (code, signal) => {
      io.stderr.write(`cluster2: the background master exited (${signal ?? `code ${code}`}) before serving; the end of ${logFile}:\n${tail(logFile)}\n`);
      settle(1);
    });
    child.on('error', (error) => {
      io.stderr.write(`cluster2: could not start the background master: ${error.message}\n`);
      settle(1);
    });
  });
}

/** In the background master: tells the launching command it serves, then lets go of it. */
export function reportServing(ports: number[]): void {
  send({ event: 'serving', ports });
}

/**
 * In the background master: the first worker that exits before it listened fails the start, with
 * the reason the master gives for it (its last stderr lines), rather than retrying for a minute
 * while the command waits.
 */
export function reportFailedStarts(cluster: Cluster): void {
  const listened = new Set<number>();
  const failedEarly = new Set<number>();
  cluster.on('listening', (pid) => listened.add(pid));
  cluster.on('warning', ({ pid, message }) => {
    if (failedEarly.has(pid)) send({ event: 'failed', message });
  });
  cluster.on('died', (pid, code, signal) => {
    if (listened.has(pid)) return;
    failedEarly.add(pid);
    setTimeout(() => send({ event: 'failed', message: `worker ${pid} exited (${signal ?? `code ${code}`}) before it listened` }), REASON_WAIT).unref();
  });
}

function send(report: StartReport): void {
  if (!process.connected || !process.send) return;
  process.send(report, () => process.disconnect());
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
  } catch {
    return '(no output)';
  }
}

/** Where a background master writes: `logs.dir` (or `logs` as a directory), else `./logs`. */
export function detachedLogsDir(logs: ClusterOptions['logs']): string {
  if (typeof logs === 'string' && logs !== 'inherit') return logs;
  if (typeof logs === 'object' && typeof logs.dir === 'string') return logs.dir;
  return DEFAULT_DETACHED_LOGS;
}

/**
 * The `logs` option of a background master: no terminal reads its stdout, so captured lines go to
 * rotated files in the logs directory instead (unless capture is off, or stdout was asked for).
 */
export function detachedLogs(logs: ClusterOptions['logs']): ClusterOptions['logs'] {
  if (logs === 'inherit' || (typeof logs === 'object' && logs.capture === false)) return logs;
  const settings = typeof logs === 'object' ? logs : {};
  return { stdout: false, ...settings, dir: detachedLogsDir(logs) };
}
