// The words the master, the workers, the monitor and the CLI share: states, reasons and the figures
// they report. Only types live here, so any module may import them without pulling code along.

/** One worker's figures, sent to the master every `heartbeatInterval`. */
export interface WorkerStats {
  pid: number;
  /** Seconds since the worker started. */
  uptime: number;
  /** Resident set size, bytes. */
  rss: number;
  heapUsed: number;
  heapTotal: number;
  /** CPU used since the previous report, percent of one core. */
  cpu: number;
  /** Mean event-loop delay since the previous report, ms. */
  eventLoopDelay: number;
  /** Sockets open now. */
  connections: number;
  /** Sockets accepted since start. */
  totalConnections: number;
  /** Requests received since start (HTTP servers only). */
  requests: number;
  /** Requests not yet answered. */
  inFlight: number;
  /** Sockets open now that left HTTP through an upgrade (WebSockets); included in `connections`. */
  upgraded: number;
  /** Idle sockets closed at `timeout` since start. */
  idleCloses: number;
}

/** What the router refused since it started, and what it holds now (for the status and /metrics). */
export interface DelegationStats {
  /** Requests waiting for an answer, plus `notification` requests still forwarding answers. */
  pending: number;
  /** Requests (and subscription changes) larger than `maxMessageSize`, answered with the error or dropped. */
  tooLarge: number;
  /** Answers larger than `maxMessageSize`, replaced with the error. */
  answersTooLarge: number;
  /** Requests refused because their worker had `maxPendingDelegations` pending. */
  tooManyPending: number;
}

/** Lifecycle state of one worker, as the master sees it. */
export type WorkerState = 'starting' | 'listening' | 'draining' | 'dead';

/** Why a worker was replaced while healthy. */
export type RecycleReason = 'connThreshold' | 'maxRequests' | 'maxAge' | 'maxMemory' | 'heartbeat' | 'reload' | 'manual';

export interface WorkerStatus extends Partial<WorkerStats> {
  pid: number;
  /** node:cluster's worker id (1, 2, …; never reused). */
  id: number;
  /** Its stable index, 0 to noWorkers − 1: a replacement (respawn, recycle, reload) takes its predecessor's. The worker sees it as NODE_APP_INSTANCE and CLUSTER2_WORKER_ID. */
  instance: number;
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

/** What crosses IPC: the cluster-wide ECV switch and when it last changed. */
export interface EcvSnapshot {
  enabled: boolean;
  /** `Date#toString()` of the last change. */
  since: string;
}

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
    | 'respawn'
    | 'recycled'
    | 'draining'
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
  /** `respawn`: ms until the replacement is forked. */
  delay?: number;
  /** `draining`: connections open when the worker closed its listeners. */
  sockets?: number;
}

/** Which of a worker's streams a line came from. */
export type LogStream = 'out' | 'err';

/**
 * One captured line of a worker's stdout or stderr, or one of cluster2's own lines (worker
 * 'master'). Defined here, with the rest of the vocabulary the monitor and the master share.
 */
export interface LogRecord {
  /** ms since epoch, when the master read the line */
  time: number;
  /** 'w0' … 'w<N-1>' (the worker's instance index, NODE_APP_INSTANCE), or 'master' for cluster2's own lines */
  worker: string;
  pid: number;
  stream: LogStream;
  /** the line without its newline (a JSON line's raw text) */
  msg: string;
  /** cluster2's own lines only */
  level?: 'info' | 'warn' | 'error';
}

/** Which recent captured lines to read: the last `lines`, of one worker and/or one stream. */
export interface LogQuery {
  lines?: number;
  worker?: string;
  stream?: LogStream;
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
  /** Captured log lines written and dropped since start (absent without log capture). */
  logs?: { lines: number; dropped: number };
}
