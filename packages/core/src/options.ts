import { Cluster2Error } from './errors.js';
import { DEFAULT_MAX_MESSAGE_SIZE } from './ipc/size.js';
import { defaultWorkerCount } from './cpu-quota.js';

/** A pino-compatible logger; cluster2 calls only these four levels. */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

/** What a validator gets: enough to decide whether this worker should take traffic. */
export interface EcvValidatorContext {
  pid: number;
}

export interface EcvOptions {
  /** Mount path of the ECV routes. @default '/ecv' */
  path?: string;
  /** Serve `POST {path}/disable` and `/enable`. @default false */
  control?: boolean;
  /** A path of the app the worker requests on itself before answering healthy; needs a 2xx. */
  monitor?: string;
  /** Must resolve to `true` for the worker to answer healthy. */
  validator?: (context: EcvValidatorContext) => boolean | Promise<boolean>;
  /** Bound on `monitor` and `validator` (ms). @default 2000 */
  timeout?: number;
  /** Status code while disabled or shutting down. @default 400 */
  disabledStatus?: number;
}

export interface RestartOptions {
  /** Delay before the second respawn in a window (ms). @default 100 */
  minDelay?: number;
  /** Cap of the doubling respawn delay (ms). @default 15000 */
  maxDelay?: number;
  /** Unexpected deaths tolerated within `window`; one more gives up. @default 10 */
  maxRestarts?: number;
  /** Sliding window over which deaths are counted (ms). @default 60000 */
  window?: number;
}

/** Options of `new Cluster(options)`. Every key is optional; see {@link DEFAULTS}. */
export interface ClusterOptions {
  /** `false` runs everything in one process with the same API. @default true */
  cluster?: boolean;
  /** Workers to keep running. @default os.availableParallelism(), lowered to the container's CPU quota (cgroup v2 `cpu.max`, v1 CFS quota), rounded up */
  noWorkers?: number;
  /** `'round-robin'`: the master accepts and hands out connections; `'os'`: workers accept themselves. @default 'round-robin' */
  scheduling?: 'round-robin' | 'os';
  /** App port, or one port per server when the factory hands an array of servers. `0` picks a free port once, in the master. @default 3000 */
  port?: number | number[];
  /** App host. @default '0.0.0.0' */
  host?: string;
  /** Directory for pid files, `false` for none. @default './pids' */
  pids?: string | false;
  /** `false` turns the monitor server off. @default true */
  monitor?: boolean;
  /** Monitor port (`0`: any free port). @default 3001 */
  monPort?: number;
  /** Monitor host. @default '127.0.0.1' */
  monHost?: string;
  /** Bearer token the monitor's control actions require. */
  monToken?: string;
  /**
   * What becomes of the workers' stdout and stderr. By default the master reads both, line by line,
   * and writes each line labelled with the worker (`[w0 12345] …`) to its own stdout/stderr.
   * `'inherit'`: workers write straight to the master's stdio, unlabelled. A directory: lines also go
   * to files there (`out.log`, `err.log`), rotated by size. See {@link LogsOptions}.
   * @default { capture: true, stdout: true, dir: false }
   */
  // `string & {}` keeps 'inherit' offered by editors next to any directory.
  logs?: 'inherit' | (string & {}) | LogsOptions;
  /** ECV (health check) settings. */
  ecv?: EcvOptions;
  /** A worker counts as ready only once the app calls `c.ready()`. @default false */
  readySignal?: boolean;
  /** A pino-compatible logger for cluster2's own lines. */
  logger?: Logger;
  /** Idle socket timeout (ms). @default 30000 */
  timeout?: number;
  /** Recycle a worker after it accepted this many connections. */
  connThreshold?: number;
  /** Recycle a worker after it served this many requests. */
  maxRequests?: number;
  /** Recycle a worker after this long (ms). */
  maxAge?: number;
  /** Recycle a worker whose RSS exceeds this (MiB). */
  maxMemory?: number;
  /** Graceful shutdown waits this long for in-flight work, then kills (ms). @default 30000 */
  shutdownTimeout?: number;
  /**
   * A worker that does not listen (or, with `readySignal`, call `ready()`) within this long after it
   * was forked fails to start: it is killed and counted as a death (ms). @default 30000
   */
  startTimeout?: number;
  /** Time between worker stats reports (ms). @default 5000 */
  heartbeatInterval?: number;
  /** A worker silent this long is replaced (ms). @default 3 × heartbeatInterval */
  maxHeartbeatDelay?: number;
  /** While draining, a socket idle this long is ended (ms). @default 250 */
  idleGrace?: number;
  /** Time between ECV turning unavailable and the listener closing (ms). @default 0 */
  shutdownDelay?: number;
  /** Respawn backoff and give-up. */
  restart?: RestartOptions;
  /**
   * Sticky sessions: every connection from one client goes to the same worker while that worker
   * lives (socket.io's long-polling needs it). `true` keys on the client's address; `{ header }`
   * keys on that request header's value (case-insensitive, e.g. `'x-forwarded-for'` behind a load
   * balancer), falling back to the address when the first request's head lacks it, exceeds 16 KiB
   * or takes longer than `limits.stickyHeadTimeout` (1 s). The master then accepts every connection itself and hands it to the
   * worker its slot hashes to. Needs `scheduling: 'round-robin'`; with `cluster: false` (one
   * process) it is accepted and changes nothing. @default false
   */
  sticky?: boolean | StickyOptions;
  /**
   * Largest delegation request or answer that crosses between a worker and the master (bytes, as the
   * JSON text it travels as). A worker's `delegate()` rejects a larger request before sending it;
   * the master answers a larger raw request with `ERR_CLUSTER2_MESSAGE_TOO_LARGE` instead of emitting
   * it, replaces a larger answer with that error, and `notify()` throws it. From 1024 to 1073741824.
   * @default 1048576 (1 MiB)
   */
  maxMessageSize?: number;
  /**
   * Delegations one worker may have waiting in the master at once (requests without an answer yet,
   * plus `notification` requests still forwarding answers); past it, new ones are answered at once
   * with `ERR_CLUSTER2_TOO_MANY_PENDING`. @default 1000
   */
  maxPendingDelegations?: number;
  /**
   * Bounds on what the master holds for others (monitor clients, connections not yet handed to a
   * worker), so a flood of idle connections cannot use up its file descriptors. Past a bound the
   * new connection is closed at once and counted (`pressure` in `/api/status`,
   * `cluster2_refused_connections_total` in `/metrics`).
   */
  limits?: LimitsOptions;
}

export interface LogsOptions {
  /** Read the workers' output through pipes in the master; `false` lets them inherit the master's stdio. @default true */
  capture?: boolean;
  /** Write captured lines to the master's stdout (the workers' stdout) and stderr (their stderr). @default true */
  stdout?: boolean;
  /** Directory to write log files in (created if missing), `false` for none. It is also what the monitor's file list shows. @default false */
  dir?: string | false;
  /** `'stream'`: `out.log` and `err.log`; `'worker'`: `w0.out.log`, `w0.err.log`, … one pair per worker index. @default 'stream' */
  files?: 'stream' | 'worker';
  /** `'text'`: `[w0 12345] message`; `'json'`: one JSON object per line. A line the app wrote as JSON stays JSON either way. @default 'text' */
  format?: 'text' | 'json';
  /** Start each text line with an ISO 8601 timestamp. @default false */
  time?: boolean;
  /** Name in each JSON record's `app` field. @default the main script's file name without extension */
  app?: string;
  /** A log file is rotated before it grows past this (bytes); `0` never rotates. @default 10485760 (10 MiB) */
  maxSize?: number;
  /** Rotated files kept per log file (`out.log.1` newest). @default 5 */
  keep?: number;
  /** Gzip rotated files (`out.log.1.gz`). @default false */
  gzip?: boolean;
  /** Bytes one destination may have waiting to be written; past it, lines are dropped and counted, never blocking a worker. @default 4194304 (4 MiB) */
  buffer?: number;
  /** A line longer than this is cut into pieces of this size (bytes of UTF-16 text). @default 1048576 (1 MiB) */
  maxLineLength?: number;
  /** Lines the master keeps in memory for the monitor's viewer and `cluster2 logs`. @default 1000 */
  recent?: number;
}

export interface ResolvedLogs {
  readonly capture: boolean;
  readonly stdout: boolean;
  readonly dir: string | false;
  readonly files: 'stream' | 'worker';
  readonly format: 'text' | 'json';
  readonly time: boolean;
  readonly app: string;
  readonly maxSize: number;
  readonly keep: number;
  readonly gzip: boolean;
  readonly buffer: number;
  readonly maxLineLength: number;
  readonly recent: number;
}

export interface LimitsOptions {
  /** Connections the monitor holds at once; more are closed on accept. @default 64 */
  monitorConnections?: number;
  /** `GET /api/events` streams open at once; more are answered 503. @default 32 */
  eventStreams?: number;
  /** An event stream is ended after this long (EventSource clients reconnect by themselves), ms. @default 300000 */
  eventStreamLifetime?: number;
  /** Sticky sessions: connections the master holds before a worker has them (reading their head, waiting for a worker, being handed over). @default 512 */
  stickyPending?: number;
  /** Sticky sessions with `{ header }`: how long the master waits for a connection's first request head before it falls back to the address, ms. @default 1000 */
  stickyHeadTimeout?: number;
}

export interface StickyOptions {
  /** Request header whose value identifies the client (case-insensitive), e.g. `'x-forwarded-for'`. */
  header: string;
}

/** `false`, or what the master hashes: the header named (lower-cased), or the address when `header` is undefined. */
export type ResolvedSticky = false | Readonly<{ header: string | undefined }>;

export interface ResolvedEcvOptions {
  readonly path: string;
  readonly control: boolean;
  readonly monitor: string | undefined;
  readonly validator: EcvOptions['validator'];
  readonly timeout: number;
  readonly disabledStatus: number;
}

export type ResolvedLimits = Readonly<Required<LimitsOptions>>;

export interface ResolvedOptions {
  readonly cluster: boolean;
  readonly noWorkers: number;
  readonly scheduling: 'round-robin' | 'os';
  readonly port: number | readonly number[];
  readonly host: string;
  readonly pids: string | false;
  readonly monitor: boolean;
  readonly monPort: number;
  readonly monHost: string;
  readonly monToken: string | undefined;
  readonly logs: ResolvedLogs;
  readonly ecv: ResolvedEcvOptions;
  readonly readySignal: boolean;
  readonly logger: Logger | undefined;
  readonly timeout: number;
  readonly connThreshold: number | undefined;
  readonly maxRequests: number | undefined;
  readonly maxAge: number | undefined;
  readonly maxMemory: number | undefined;
  readonly shutdownTimeout: number;
  readonly startTimeout: number;
  readonly heartbeatInterval: number;
  readonly maxHeartbeatDelay: number;
  readonly idleGrace: number;
  readonly shutdownDelay: number;
  readonly restart: Readonly<Required<RestartOptions>>;
  readonly sticky: ResolvedSticky;
  readonly maxMessageSize: number;
  readonly maxPendingDelegations: number;
  readonly limits: ResolvedLimits;
}

/** The defaults of every option but `noWorkers` and `maxHeartbeatDelay`, which derive from the machine and `heartbeatInterval`. */
export const DEFAULTS = Object.freeze({
  cluster: true,
  scheduling: 'round-robin' as const,
  port: 3000,
  host: '0.0.0.0',
  pids: './pids',
  monitor: true,
  monPort: 3001,
  monHost: '127.0.0.1',
  logs: Object.freeze({
    capture: true,
    stdout: true,
    dir: false as const,
    files: 'stream' as const,
    format: 'text' as const,
    time: false,
    maxSize: 10 * 1024 * 1024,
    keep: 5,
    gzip: false,
    buffer: 4 * 1024 * 1024,
    maxLineLength: 1024 * 1024,
    recent: 1000,
  }),
  ecv: Object.freeze({ path: '/ecv', control: false, timeout: 2000, disabledStatus: 400 }),
  readySignal: false,
  timeout: 30_000,
  shutdownTimeout: 30_000,
  startTimeout: 30_000,
  heartbeatInterval: 5000,
  idleGrace: 250,
  shutdownDelay: 0,
  restart: Object.freeze({ minDelay: 100, maxDelay: 15_000, maxRestarts: 10, window: 60_000 }),
  sticky: false as const,
  maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
  maxPendingDelegations: 1000,
  limits: Object.freeze({ monitorConnections: 64, eventStreams: 32, eventStreamLifetime: 300_000, stickyPending: 512, stickyHeadTimeout: 1000 }),
});

/** The keys each level of ClusterOptions takes (start/option-table.ts is checked against them). */
export const TOP_LEVEL_KEYS = new Set<string>([
  'cluster',
  'noWorkers',
  'scheduling',
  'port',
  'host',
  'pids',
  'monitor',
  'monPort',
  'monHost',
  'monToken',
  'logs',
  'ecv',
  'readySignal',
  'logger',
  'timeout',
  'connThreshold',
  'maxRequests',
  'maxAge',
  'maxMemory',
  'shutdownTimeout',
  'startTimeout',
  'heartbeatInterval',
  'maxHeartbeatDelay',
  'idleGrace',
  'shutdownDelay',
  'restart',
  'sticky',
  'maxMessageSize',
  'maxPendingDelegations',
  'limits',
]);
export const ECV_KEYS = new Set(['path', 'control', 'monitor', 'validator', 'timeout', 'disabledStatus']);
export const RESTART_KEYS = new Set(['minDelay', 'maxDelay', 'maxRestarts', 'window']);
export const LOGS_KEYS = new Set([
  'capture',
  'stdout',
  'dir',
  'files',
  'format',
  'time',
  'app',
  'maxSize',
  'keep',
  'gzip',
  'buffer',
  'maxLineLength',
  'recent',
]);
export const LIMITS_KEYS = new Set(['monitorConnections', 'eventStreams', 'eventStreamLifetime', 'stickyPending', 'stickyHeadTimeout']);

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  if (value === null || typeof value !== 'object') return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return 'an object';
  }
}

/** Throws ERR_CLUSTER2_INVALID_OPTION in the one message style: `option "name" must be …; received …`. */
export function invalid(name: string, expected: string, value: unknown): never {
  throw new Cluster2Error('ERR_CLUSTER2_INVALID_OPTION', `option "${name}" must be ${expected}; received ${describe(value)}`);
}

function rejectUnknownKeys(object: object, allowed: Set<string>, prefix: string): void {
  for (const key of Object.keys(object)) {
    if (!allowed.has(key)) {
      throw new Cluster2Error(
        'ERR_CLUSTER2_UNKNOWN_OPTION',
        `unknown option "${prefix}${key}"; known options are: ${[...allowed].map((k) => prefix + k).join(', ')}`,
      );
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function integer(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(name, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

function optionalInteger(name: string, value: unknown, min: number, max?: number): number | undefined {
  return value === undefined ? undefined : integer(name, value, min, max);
}

function boolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') invalid(name, 'a boolean', value);
  return value;
}

function nonEmptyString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) invalid(name, 'a non-empty string', value);
  return value;
}

/** A token a client can send as `Authorization: Bearer <token>`: no whitespace. */
function bearerTokenValue(value: unknown): string {
  const token = nonEmptyString('monToken', value);
  if (/\s/.test(token)) invalid('monToken', 'a string without whitespace (it travels as "Authorization: Bearer <token>")', value);
  return token;
}

const MAX_PORT = 65_535;
/** Node timers cannot wait longer (ms); a larger delay would fire after 1 ms. */
const MAX_MS = 2_147_483_647;

function port(name: string, value: unknown): number | readonly number[] {
  if (Array.isArray(value)) {
    if (value.length === 0) invalid(name, 'a port (0-65535) or a non-empty array of ports', value);
    return Object.freeze(value.map((p, i) => integer(`${name}[${i}]`, p, 0, MAX_PORT)));
  }
  return integer(name, value, 0, MAX_PORT);
}

function resolveEcv(value: unknown): ResolvedEcvOptions {
  if (value === undefined) return Object.freeze({ ...DEFAULTS.ecv, monitor: undefined, validator: undefined });
  if (!isPlainObject(value)) invalid('ecv', 'an object', value);
  rejectUnknownKeys(value, ECV_KEYS, 'ecv.');
  const path = value.path === undefined ? DEFAULTS.ecv.path : nonEmptyString('ecv.path', value.path);
  if (!path.startsWith('/') || path.endsWith('/') || /[?#\s]/.test(path)) {
    invalid('ecv.path', 'an absolute path such as "/ecv" (no trailing slash, query or spaces)', path);
  }
  const monitor = value.monitor === undefined ? undefined : nonEmptyString('ecv.monitor', value.monitor);
  if (monitor !== undefined && !monitor.startsWith('/')) invalid('ecv.monitor', 'a path starting with "/"', monitor);
  if (value.validator !== undefined && typeof value.validator !== 'function') {
    invalid('ecv.validator', 'a function returning a boolean or a promise of one', value.validator);
  }
  return Object.freeze({
    path,
    control: value.control === undefined ? DEFAULTS.ecv.control : boolean('ecv.control', value.control),
    monitor,
    validator: value.validator as EcvOptions['validator'],
    timeout: value.timeout === undefined ? DEFAULTS.ecv.timeout : integer('ecv.timeout', value.timeout, 1, MAX_MS),
    disabledStatus: value.disabledStatus === undefined ? DEFAULTS.ecv.disabledStatus : integer('ecv.disabledStatus', value.disabledStatus, 300, 599),
  });
}

function resolveRestart(value: unknown): Readonly<Required<RestartOptions>> {
  if (value === undefined) return DEFAULTS.restart;
  if (!isPlainObject(value)) invalid('restart', 'an object', value);
  rejectUnknownKeys(value, RESTART_KEYS, 'restart.');
  const pick = (key: keyof RestartOptions, min: number) =>
    value[key] === undefined ? DEFAULTS.restart[key] : integer(`restart.${key}`, value[key], min, MAX_MS);
  const resolved = {
    minDelay: pick('minDelay', 0),
    maxDelay: pick('maxDelay', 0),
    maxRestarts: pick('maxRestarts', 0),
    window: pick('window', 1),
  };
  if (resolved.maxDelay < resolved.minDelay) {
    invalid('restart.maxDelay', `at least restart.minDelay (${resolved.minDelay})`, resolved.maxDelay);
  }
  return Object.freeze(resolved);
}

function resolveLimits(value: unknown): ResolvedLimits {
  if (value === undefined) return DEFAULTS.limits;
  if (!isPlainObject(value)) invalid('limits', 'an object', value);
  rejectUnknownKeys(value, LIMITS_KEYS, 'limits.');
  const pick = (key: keyof LimitsOptions, min: number, max: number) =>
    value[key] === undefined ? DEFAULTS.limits[key] : integer(`limits.${key}`, value[key], min, max);
  return Object.freeze({
    monitorConnections: pick('monitorConnections', 2, 65_536),
    eventStreams: pick('eventStreams', 0, 65_536),
    eventStreamLifetime: pick('eventStreamLifetime', 1000, MAX_MS),
    stickyPending: pick('stickyPending', 1, 1_048_576),
    stickyHeadTimeout: pick('stickyHeadTimeout', 10, 60_000),
  });
}

function resolveLogs(value: unknown): ResolvedLogs {
  const app = defaultAppName();
  if (value === undefined) return Object.freeze({ ...DEFAULTS.logs, app });
  if (value === 'inherit') return Object.freeze({ ...DEFAULTS.logs, app, capture: false });
  if (typeof value === 'string') return Object.freeze({ ...DEFAULTS.logs, app, dir: nonEmptyString('logs', value) });
  if (!isPlainObject(value)) invalid('logs', '"inherit", a directory, or an object of log settings', value);
  rejectUnknownKeys(value, LOGS_KEYS, 'logs.');
  const d = DEFAULTS.logs;
  const flag = (key: 'capture' | 'stdout' | 'time' | 'gzip') => (value[key] === undefined ? d[key] : boolean(`logs.${key}`, value[key]));
  const count = (key: 'maxSize' | 'keep' | 'buffer' | 'maxLineLength' | 'recent', min: number, max: number) =>
    value[key] === undefined ? d[key] : integer(`logs.${key}`, value[key], min, max);
  const oneOf = <T extends string>(key: string, values: readonly T[], fallback: T): T => {
    const v = value[key];
    if (v === undefined) return fallback;
    if (!values.includes(v as T)) invalid(`logs.${key}`, `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`, v);
    return v as T;
  };
  return Object.freeze({
    capture: flag('capture'),
    stdout: flag('stdout'),
    dir: value.dir === undefined || value.dir === false ? false : nonEmptyString('logs.dir', value.dir),
    files: oneOf('files', ['stream', 'worker'] as const, d.files),
    format: oneOf('format', ['text', 'json'] as const, d.format),
    time: flag('time'),
    app: value.app === undefined ? app : nonEmptyString('logs.app', value.app),
    maxSize: count('maxSize', 0, Number.MAX_SAFE_INTEGER),
    keep: count('keep', 0, 1000),
    gzip: flag('gzip'),
    buffer: count('buffer', 64 * 1024, 1024 ** 3),
    maxLineLength: count('maxLineLength', 1024, 256 * 1024 * 1024),
    recent: count('recent', 0, 100_000),
  });
}

/** The main script's file name without its extension (`server` for `node server.js`), else 'app'. */
function defaultAppName(): string {
  const script = process.argv[1];
  if (!script) return 'app';
  const base = script.split(/[\\/]/).pop() ?? '';
  return base.replace(/\.[^.]*$/, '') || 'app';
}

function resolveLogger(value: unknown): Logger | undefined {
  if (value === undefined) return undefined;
  const levels = ['debug', 'info', 'warn', 'error'] as const;
  // null is an object too, and reading its methods would throw a TypeError instead of this error.
  if (typeof value !== 'object' || value === null) invalid('logger', 'a pino-compatible logger', value);
  for (const level of levels) {
    if (typeof (value as Record<string, unknown>)[level] !== 'function') {
      invalid('logger', `a pino-compatible logger with a ${level}() method`, value);
    }
  }
  return value as Logger;
}

function portsOf(value: number | readonly number[]): readonly number[] {
  return typeof value === 'number' ? [value] : value;
}

/**
 * Validates `input` once and returns a frozen, fully resolved copy; `input` is never touched.
 * Throws a {@link Cluster2Error} naming the option, what was expected and what was received.
 */
export function resolveOptions(input: ClusterOptions = {}): ResolvedOptions {
  if (!isPlainObject(input)) invalid('options', 'an object', input);
  rejectUnknownKeys(input, TOP_LEVEL_KEYS, '');
  const o = input;
  const has = (key: string) => o[key] !== undefined;

  const heartbeatInterval = has('heartbeatInterval') ? integer('heartbeatInterval', o.heartbeatInterval, 10, MAX_MS) : DEFAULTS.heartbeatInterval;
  const resolved: ResolvedOptions = {
    cluster: has('cluster') ? boolean('cluster', o.cluster) : DEFAULTS.cluster,
    noWorkers: has('noWorkers') ? integer('noWorkers', o.noWorkers, 1, 1024) : defaultWorkerCount(),
    scheduling: has('scheduling') ? scheduling(o.scheduling) : DEFAULTS.scheduling,
    port: has('port') ? port('port', o.port) : DEFAULTS.port,
    host: has('host') ? nonEmptyString('host', o.host) : DEFAULTS.host,
    pids: has('pids') ? pids(o.pids) : DEFAULTS.pids,
    monitor: has('monitor') ? boolean('monitor', o.monitor) : DEFAULTS.monitor,
    monPort: has('monPort') ? integer('monPort', o.monPort, 0, MAX_PORT) : DEFAULTS.monPort,
    monHost: has('monHost') ? nonEmptyString('monHost', o.monHost) : DEFAULTS.monHost,
    monToken: has('monToken') ? bearerTokenValue(o.monToken) : undefined,
    logs: resolveLogs(o.logs),
    ecv: resolveEcv(o.ecv),
    readySignal: has('readySignal') ? boolean('readySignal', o.readySignal) : DEFAULTS.readySignal,
    logger: resolveLogger(o.logger),
    timeout: has('timeout') ? integer('timeout', o.timeout, 1, MAX_MS) : DEFAULTS.timeout,
    connThreshold: optionalInteger('connThreshold', o.connThreshold, 1),
    maxRequests: optionalInteger('maxRequests', o.maxRequests, 1),
    maxAge: optionalInteger('maxAge', o.maxAge, 1, MAX_MS),
    maxMemory: optionalInteger('maxMemory', o.maxMemory, 1),
    shutdownTimeout: has('shutdownTimeout') ? integer('shutdownTimeout', o.shutdownTimeout, 1, MAX_MS) : DEFAULTS.shutdownTimeout,
    startTimeout: has('startTimeout') ? integer('startTimeout', o.startTimeout, 1, MAX_MS) : DEFAULTS.startTimeout,
    heartbeatInterval,
    maxHeartbeatDelay: has('maxHeartbeatDelay') ? integer('maxHeartbeatDelay', o.maxHeartbeatDelay, heartbeatInterval + 1, MAX_MS) : 3 * heartbeatInterval,
    idleGrace: has('idleGrace') ? integer('idleGrace', o.idleGrace, 0, MAX_MS) : DEFAULTS.idleGrace,
    shutdownDelay: has('shutdownDelay') ? integer('shutdownDelay', o.shutdownDelay, 0, MAX_MS) : DEFAULTS.shutdownDelay,
    restart: resolveRestart(o.restart),
    sticky: has('sticky') ? resolveSticky(o.sticky) : DEFAULTS.sticky,
    maxMessageSize: has('maxMessageSize') ? integer('maxMessageSize', o.maxMessageSize, 1024, 1024 ** 3) : DEFAULTS.maxMessageSize,
    maxPendingDelegations: has('maxPendingDelegations')
      ? integer('maxPendingDelegations', o.maxPendingDelegations, 1, 10_000_000)
      : DEFAULTS.maxPendingDelegations,
    limits: resolveLimits(o.limits),
  };
  if (resolved.sticky !== false && resolved.cluster && resolved.scheduling === 'os') {
    // The master must accept connections itself to choose the worker; with 'os' the workers accept.
    invalid('sticky', 'false when option "scheduling" is "os" (sticky sessions need scheduling: "round-robin")', o.sticky);
  }
  if (resolved.monitor && resolved.monPort !== 0 && portsOf(resolved.port).includes(resolved.monPort)) {
    invalid(
      'monPort',
      `a port other than the app port${typeof resolved.port === 'number' ? '' : 's'} (${portsOf(resolved.port).join(', ')})`,
      resolved.monPort,
    );
  }
  return Object.freeze(resolved);
}

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
export const STICKY_KEYS = new Set(['header']);

function resolveSticky(value: unknown): ResolvedSticky {
  if (value === false) return false;
  if (value === true) return Object.freeze({ header: undefined });
  if (!isPlainObject(value)) invalid('sticky', 'true, false or { header: string }', value);
  rejectUnknownKeys(value, STICKY_KEYS, 'sticky.');
  if (typeof value.header !== 'string' || !HEADER_NAME.test(value.header)) {
    invalid('sticky.header', 'an HTTP header name such as "x-forwarded-for"', value.header);
  }
  return Object.freeze({ header: value.header.toLowerCase() });
}

function scheduling(value: unknown): 'round-robin' | 'os' {
  if (value !== 'round-robin' && value !== 'os') invalid('scheduling', '"round-robin" or "os"', value);
  return value;
}

function pids(value: unknown): string | false {
  if (value === false) return false;
  if (typeof value !== 'string' || value.length === 0) invalid('pids', 'a directory path or false', value);
  return value;
}

export { portsOf };
