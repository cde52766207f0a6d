import type { EventEmitter } from 'node:events';
import type { ClusterStatus, RefusedReason } from '../status.js';

/**
 * What the monitor reads and acts on. The master's supervisor implements it; events:
 * `'lifecycle'` (LifecycleEvent) on every entry of the log and `'heartbeat'` after new stats.
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
}
