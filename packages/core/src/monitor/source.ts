import type { EventEmitter } from 'node:events';
import type { DelegationStats } from '../delegation/primary.js';
import type { WorkerStats } from '../worker/stats.js';

/** Lifecycle state of one worker, as the master sees it. */
export type WorkerState = 'starting' | 'listening' | 'draining' | 'dead';

/** Why a worker was replaced while healthy. */
export type RecycleReason = 'connThreshold' | 'maxRequests' | 'maxAge' | 'maxMemory' | 'heartbeat' | 'reload' | 'manual';

export interface WorkerStatus extends Partial<WorkerStats> {
  pid: number;
  /** node:cluster's worker id (1, 2, …; never reused). */
  id: number;
  state: WorkerState;
  /** ms since epoch. */
  startedAt: number;
  /** Times a worker in this slot was replaced (respawn or recycle) before this one. */
  restarts: number;
  /** Time of the last heartbeat, ms since epoch (undefined before the first). */
  lastHeartbeat?: number;
}

/**
 * Cluster-wide totals. `requests` and `totalConnections` are counters: a dead worker's last
 * figures stay in them, so they never go down and Prometheus' rate() is right across restarts.
 */
export interface ClusterTotals {
  workers: number;
  rss: number;
  heapUsed: number;
  connections: number;
  totalConnections: number;
  requests: number;
  inFlight: number;
  /** Upgraded sockets (WebSockets) open now; included in `connections`. */
  upgraded: number;
  /** Idle keep-alive sockets the workers closed at `timeout`, since start (a counter, dead workers included). */
  idleCloses: number;
}

export type MasterState = 'starting' | 'running' | 'reloading' | 'shutting-down' | 'stopping' | 'gave-up';

export interface EcvStatus {
  state: 'enabled' | 'disabled';
  /** `Date#toString()` of the last change (initially the master's start). */
  since: string;
}

/** One line of the lifecycle log the monitor shows. */
export interface LifecycleEvent {
  /** ms since epoch */
  time: number;
  type:
    | 'forked'
    | 'fork-failed'
    | 'listening'
    | 'died'
    | 'recycled'
    | 'giveup'
    | 'shutdown'
    | 'stopped'
    | 'enabled'
    | 'disabled'
    | 'reload'
    | 'reloaded'
    | 'reload-failed'
    | 'warning';
  pid?: number;
  code?: number | null;
  signal?: string | null;
  reason?: string;
  message?: string;
}

/** The last rolling reload: running, or how it ended. */
export interface ReloadStatus {
  state: 'running' | 'succeeded' | 'failed';
  /** ms since epoch */
  startedAt: number;
  /** ms since epoch; absent while running */
  endedAt?: number;
  /** Why it failed: the successor's exit and last stderr lines, or why it could not run. */
  error?: { code: string; message: string };
}

/** Why the master closed a connection at once: which bound was reached (see the `limits` option). */
export type RefusedReason = 'monitorConnections' | 'eventStreams' | 'stickyPending';

/** Connections the master refused and accepts that failed, since start, by reason and by listener. */
export interface PressureStatus {
  refused: Partial<Record<RefusedReason, number>>;
  /** Failed accepts (EMFILE, ENFILE, …) on the master's own listeners: 'monitor', 'sticky'. */
  acceptErrors: Record<string, number>;
}

export interface ClusterStatus {
  master: {
    pid: number;
    state: MasterState;
    /** seconds */
    uptime: number;
    startedAt: number;
    ports: number[];
    host: string;
    noWorkers: number;
    node: string;
    cluster: boolean;
  };
  workers: WorkerStatus[];
  totals: ClusterTotals;
  ecv: EcvStatus;
  /** Worker replacements since start, by reason ('crash' for unexpected deaths). */
  restarts: Record<string, number>;
  /**
   * The most recent events, oldest first: up to 200 lifecycle events plus, in a ring of their own, up
   * to 50 warnings (so warnings never push lifecycle events out); messages cut to 1024 characters.
   */
  events: LifecycleEvent[];
  /** The last rolling reload (absent before the first). */
  reload?: ReloadStatus;
  /** Delegations pending in the master now, and those it refused since start (counters). */
  delegation?: DelegationStats;
  /** What the master refused under load (absent from sources that keep no such counts). */
  pressure?: PressureStatus;
}

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
