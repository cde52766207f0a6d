import type { EventEmitter } from 'node:events';
import type { ClusterStatus, LogQuery, LogRecord, RefusedReason } from '../status.js';

/**
 * What the monitor reads and acts on. The master's supervisor implements it; events:
 * `'lifecycle'` (LifecycleEvent) on every entry of the log, `'heartbeat'` after new stats, and
 * `'logs'` (LogRecord[]) with each batch of captured lines.
 */
export interface MonitorSource extends EventEmitter {
  status(): ClusterStatus;
  enable(): Promise<void>;
  disable(): Promise<void>;
  /** Starts a rolling reload; resolves when it is done. */
  reload(): Promise<void>;
  /** Replaces one worker (reason 'manual'); false when no live worker has that pid. */
  restartWorker(pid: number): boolean;
  /** Counts what the monitor itself refused or failed to accept; shown in `status().pressure`. */
  countRefused?(reason: RefusedReason): void;
  countAcceptError?(server: string, error: NodeJS.ErrnoException): void;
  /** Recent captured lines, oldest first, filtered; dropped = lines lost to slow destinations since start. */
  recentLogs?(query: LogQuery): { lines: LogRecord[]; dropped: number };
  /** Reopens the log files (after an external logrotate moved them). */
  reopenLogs?(): void;
}
