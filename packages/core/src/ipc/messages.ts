// The messages a worker and its master exchange, by kind: what each carries and what a call to it
// answers. Both ends type their Channel with these, so a kind or a payload that one side changes
// and the other does not is a compile error, not a message that goes unanswered.
import type { EcvSnapshot, RecycleReason, WorkerStats } from '../status.js';
import type { Channel, Kind } from './channel.js';

/**
 * Sticky sessions: the master accepts a connection and sends its socket to the chosen worker as
 * the handle of this message, with the bytes it already read.
 */
export const STICKY_CONNECTION = 'sticky:connection';
/**
 * Worker → master: this worker takes no new connections any more (it drains). Its listeners are
 * closed, and node:cluster's primary, which reads the same pipe, learnt that first, so it routes
 * it none; with sticky sessions, the master must send it none.
 */
export const INTAKE_CLOSED = 'intake:closed';

export interface StickyHandOff {
  /** Index of the app port (and of the factory's server) the connection arrived on. */
  server: number;
  /** Bytes the master read looking for the sticky header (base64): they come first. */
  head?: string;
}

/** What a worker sends its master. */
export interface WorkerToMaster {
  /** Its servers listen (and, with `readySignal`, it called ready()). */
  listening: Kind<{ ports: number[] }>;
  heartbeat: Kind<WorkerStats>;
  /** It reached a limit (maxRequests, maxAge, …) and asks for a successor. */
  recycle: Kind<{ reason: RecycleReason }>;
  warning: Kind<{ message: string }>;
  /** `shutdown()`, `stop()`, `reload()` called in a worker: the master acts for it. */
  shutdown: Kind;
  stop: Kind;
  reload: Kind<undefined, void>;
  /** Its drain is over; the reply tells it the master no longer routes it connections. */
  drained: Kind<undefined, true>;
  /** `sockets`: connections still open as it closed its listeners (the drain's work). */
  [INTAKE_CLOSED]: Kind<{ sockets: number } | undefined>;
  'ecv:set': Kind<{ enabled: boolean }, void>;
  'ecv:get': Kind<undefined, EcvSnapshot>;
}

/** What the master sends a worker. */
export interface MasterToWorker {
  /** Stop taking connections after `delay` ms and close what is open. */
  drain: Kind<{ delay: number }>;
  /** The cluster-wide ECV switch changed; the reply confirms it is applied. */
  ecv: Kind<EcvSnapshot, void>;
  /** A sticky session's connection; its socket comes as the message's handle. */
  [STICKY_CONNECTION]: Kind<StickyHandOff>;
}

/** The master's end of one worker's channel. */
export type MasterChannel = Channel<WorkerToMaster, MasterToWorker>;
/** A worker's end of its channel to the master (or, with `cluster: false`, to the in-process master duties). */
export type WorkerChannel = Channel<MasterToWorker, WorkerToMaster>;
