// The one table of the cluster options `cluster2 start` takes from a flag or a config file. The
// flags, the JSON Schema and the docs' flag table are all derived from it, and resolveOptions
// validates what it yields, so a flag and a config key can never disagree with the library.
import { DEFAULTS } from '../options.js';
import { DEFAULT_MAX_MESSAGE_SIZE } from '../ipc/size.js';

/** Node timers cannot wait longer (ms); as options.ts. */
const MAX_MS = 2_147_483_647;
const MAX_PORT = 65_535;

export type OptionKind =
  | { readonly type: 'integer'; readonly min: number; readonly max: number }
  | { readonly type: 'string'; readonly pattern?: string }
  | { readonly type: 'boolean' }
  | { readonly type: 'enum'; readonly values: readonly string[] }
  /** A directory, or `false` for none (`pids`). */
  | { readonly type: 'path-or-false' }
  /** `true`, `false` or `{ header }` (`sticky`). */
  | { readonly type: 'sticky' };

export interface OptionSpec {
  /** Path of the option in `ClusterOptions`, nested keys joined with a dot: `restart.maxRestarts`. */
  readonly key: string;
  readonly kind: OptionKind;
  /** Shown by editors (the JSON Schema) and in the docs' flag table. */
  readonly description: string;
  /** The library's default, when it has a fixed one. */
  readonly default?: unknown;
}

const integer = (min: number, max: number) => ({ type: 'integer', min, max }) as const;
const string = { type: 'string' } as const;
const boolean = { type: 'boolean' } as const;

/**
 * Every JSON-expressible option of `new Cluster(options)` except `cluster`, `port` and `host` (in
 * start mode the app listens itself), `readySignal` (start mode's `waitReady`) and functions
 * (`logger`, `ecv.validator`: only in `.mjs`/`.cjs` configs).
 */
export const OPTION_TABLE: readonly OptionSpec[] = Object.freeze([
  { key: 'noWorkers', kind: integer(1, 1024), description: 'Workers to keep running. Default: the CPUs available, lowered to the container CPU quota.' },
  {
    key: 'scheduling',
    kind: { type: 'enum', values: ['round-robin', 'os'] },
    default: DEFAULTS.scheduling,
    description: "'round-robin': the master accepts and hands out connections; 'os': workers accept themselves.",
  },
  { key: 'pids', kind: { type: 'path-or-false' }, default: DEFAULTS.pids, description: 'Directory for pid files, false for none.' },
  { key: 'monitor', kind: boolean, default: DEFAULTS.monitor, description: 'false turns the monitor server off.' },
  { key: 'monPort', kind: integer(0, MAX_PORT), default: DEFAULTS.monPort, description: 'Monitor port (0: any free port).' },
  { key: 'monHost', kind: string, default: DEFAULTS.monHost, description: 'Monitor host.' },
  {
    key: 'monToken',
    kind: { type: 'string', pattern: '^\\S+$' },
    description: 'Bearer token every monitor route and ECV control route requires (no whitespace).',
  },
  {
    key: 'logs.capture',
    kind: boolean,
    default: DEFAULTS.logs.capture,
    description: "The master reads the workers' stdout and stderr and writes them labelled; false: workers inherit the master's stdio.",
  },
  {
    key: 'logs.stdout',
    kind: boolean,
    default: DEFAULTS.logs.stdout,
    description: "Write captured lines to the master's stdout (and stderr for the workers' stderr).",
  },
  {
    key: 'logs.dir',
    kind: { type: 'path-or-false' },
    default: DEFAULTS.logs.dir,
    description: 'Directory to write log files in (out.log, err.log), rotated by size; false for none.',
  },
  {
    key: 'logs.files',
    kind: { type: 'enum', values: ['stream', 'worker'] },
    default: DEFAULTS.logs.files,
    description: "'stream': out.log and err.log; 'worker': w0.out.log, w0.err.log, … per worker index.",
  },
  {
    key: 'logs.format',
    kind: { type: 'enum', values: ['text', 'json'] },
    default: DEFAULTS.logs.format,
    description: "'text': [w0 12345] message; 'json': one JSON record per line. A JSON line from the app stays JSON with the labels added.",
  },
  { key: 'logs.time', kind: boolean, default: DEFAULTS.logs.time, description: 'Start each text line with an ISO 8601 timestamp.' },
  { key: 'logs.app', kind: string, description: "Name in each JSON record's app field. Default: --name, else the entry's file name." },
  {
    key: 'logs.maxSize',
    kind: integer(0, Number.MAX_SAFE_INTEGER),
    default: DEFAULTS.logs.maxSize,
    description: 'A log file is rotated before it grows past this (bytes); 0 never rotates.',
  },
  { key: 'logs.keep', kind: integer(0, 1000), default: DEFAULTS.logs.keep, description: 'Rotated files kept per log file (out.log.1 is the newest).' },
  { key: 'logs.gzip', kind: boolean, default: DEFAULTS.logs.gzip, description: 'Gzip rotated files (out.log.1.gz).' },
  {
    key: 'logs.buffer',
    kind: integer(65_536, 1024 ** 3),
    default: DEFAULTS.logs.buffer,
    description: 'Bytes one destination may have waiting; past it lines are dropped and counted, never blocking a worker.',
  },
  {
    key: 'logs.maxLineLength',
    kind: integer(1024, 256 * 1024 * 1024),
    default: DEFAULTS.logs.maxLineLength,
    description: 'A longer line is cut into pieces of this length.',
  },
  {
    key: 'logs.recent',
    kind: integer(0, 100_000),
    default: DEFAULTS.logs.recent,
    description: "Lines kept in memory for the monitor's viewer and cluster2 logs.",
  },
  { key: 'ecv.path', kind: string, default: DEFAULTS.ecv.path, description: 'Mount path of the ECV (health check) routes.' },
  { key: 'ecv.control', kind: boolean, default: DEFAULTS.ecv.control, description: 'Serve POST {path}/disable and {path}/enable.' },
  { key: 'ecv.monitor', kind: string, description: 'A path of the app the worker requests on itself before answering healthy; needs a 2xx.' },
  { key: 'ecv.timeout', kind: integer(1, MAX_MS), default: DEFAULTS.ecv.timeout, description: 'Bound on ecv.monitor and ecv.validator (ms).' },
  {
    key: 'ecv.disabledStatus',
    kind: integer(300, 599),
    default: DEFAULTS.ecv.disabledStatus,
    description: 'Status of GET {path} while disabled or shutting down.',
  },
  { key: 'timeout', kind: integer(1, MAX_MS), default: DEFAULTS.timeout, description: 'Idle socket timeout (ms).' },
  { key: 'connThreshold', kind: integer(1, Number.MAX_SAFE_INTEGER), description: 'Recycle a worker after it accepted this many connections.' },
  { key: 'maxRequests', kind: integer(1, Number.MAX_SAFE_INTEGER), description: 'Recycle a worker after it served this many requests.' },
  { key: 'maxAge', kind: integer(1, MAX_MS), description: 'Recycle a worker after this long (ms).' },
  { key: 'maxMemory', kind: integer(1, Number.MAX_SAFE_INTEGER), description: 'Recycle a worker whose RSS exceeds this (MiB).' },
  {
    key: 'shutdownTimeout',
    kind: integer(1, MAX_MS),
    default: DEFAULTS.shutdownTimeout,
    description: 'Graceful shutdown waits this long for in-flight work, then kills (ms).',
  },
  {
    key: 'startTimeout',
    kind: integer(1, MAX_MS),
    default: DEFAULTS.startTimeout,
    description: 'A worker not serving (with waitReady: not ready) this long after its fork fails to start (ms).',
  },
  { key: 'heartbeatInterval', kind: integer(10, MAX_MS), default: DEFAULTS.heartbeatInterval, description: 'Time between worker stats reports (ms).' },
  // Its real lower bound is heartbeatInterval + 1: resolveOptions checks that; 11 is the least it can ever be.
  {
    key: 'maxHeartbeatDelay',
    kind: integer(11, MAX_MS),
    description: 'A worker silent this long is replaced (ms). Default: 3 × heartbeatInterval; must exceed it.',
  },
  { key: 'idleGrace', kind: integer(0, MAX_MS), default: DEFAULTS.idleGrace, description: 'While draining, a socket idle this long is ended (ms).' },
  {
    key: 'shutdownDelay',
    kind: integer(0, MAX_MS),
    default: DEFAULTS.shutdownDelay,
    description: 'Time between ECV turning unavailable and the listener closing (ms).',
  },
  { key: 'restart.minDelay', kind: integer(0, MAX_MS), default: DEFAULTS.restart.minDelay, description: 'Delay before the second respawn in a window (ms).' },
  {
    key: 'restart.maxDelay',
    kind: integer(0, MAX_MS),
    default: DEFAULTS.restart.maxDelay,
    description: 'Cap of the doubling respawn delay (ms); at least restart.minDelay.',
  },
  {
    key: 'restart.maxRestarts',
    kind: integer(0, MAX_MS),
    default: DEFAULTS.restart.maxRestarts,
    description: 'Unexpected deaths tolerated within restart.window.',
  },
  { key: 'restart.window', kind: integer(1, MAX_MS), default: DEFAULTS.restart.window, description: 'Sliding window over which deaths are counted (ms).' },
  {
    key: 'sticky',
    kind: { type: 'sticky' },
    default: DEFAULTS.sticky,
    description: "Sticky sessions: true keys on the client address, { header } on that request header's value.",
  },
  {
    key: 'maxMessageSize',
    kind: integer(1024, 1024 ** 3),
    default: DEFAULT_MAX_MESSAGE_SIZE,
    description: 'Largest delegation request or answer between a worker and the master (bytes).',
  },
  {
    key: 'maxPendingDelegations',
    kind: integer(1, 10_000_000),
    default: DEFAULTS.maxPendingDelegations,
    description: 'Delegations one worker may have waiting in the master at once.',
  },
  {
    key: 'limits.monitorConnections',
    kind: integer(2, 65_536),
    default: DEFAULTS.limits.monitorConnections,
    description: 'Connections the monitor holds at once.',
  },
  { key: 'limits.eventStreams', kind: integer(0, 65_536), default: DEFAULTS.limits.eventStreams, description: 'GET /api/events streams open at once.' },
  {
    key: 'limits.eventStreamLifetime',
    kind: integer(1000, MAX_MS),
    default: DEFAULTS.limits.eventStreamLifetime,
    description: 'An event stream is ended after this long (ms).',
  },
  {
    key: 'limits.stickyPending',
    kind: integer(1, 1_048_576),
    default: DEFAULTS.limits.stickyPending,
    description: 'Sticky sessions: connections the master holds before a worker has them.',
  },
  {
    key: 'limits.stickyHeadTimeout',
    kind: integer(10, 60_000),
    default: DEFAULTS.limits.stickyHeadTimeout,
    description: "Sticky { header }: how long the master waits for a connection's first request head (ms).",
  },
] satisfies OptionSpec[]);

/**
 * Library options start mode does not take, and why (the message of the error a config naming
 * one gets). `logger` and `ecv.validator` are not here: they are fine in a `.mjs`/`.cjs` config.
 */
export const NOT_START_OPTIONS: Readonly<Record<string, string>> = Object.freeze({
  port: 'the app chooses its port with its own listen() call (pass it one, e.g. --env PORT=3000)',
  host: 'the app chooses its host with its own listen() call',
  cluster: 'start mode always runs a master and workers',
  readySignal: 'use waitReady (--wait-ready): the app then calls process.send("ready")',
});

/** `restart.maxRestarts` → `restart-max-restarts`. */
export function flagNameOf(key: string): string {
  return key.replace(/\./g, '-').replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}
