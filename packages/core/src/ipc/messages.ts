// The messages a worker and its master exchange, by kind: what each carries and what a call to it
// answers. Both ends type their Channel with these, so a kind or a payload that one side changes
// and the other does not is a compile error, not a message that goes unanswered.
import type { EcvSnapshot } from '../ecv/state.js';
import type { RecycleReason, WorkerStats } from '../status.js';
import type { Kind } from './channel.js';
import type { STICKY_CLOSED, STICKY_CONNECTION, StickyConnection } from './sticky-wire.js';

/** What a worker sends its master. */
export interface WorkerToMaster {
  /** Its servers listen (and, with `readySignal`, it called ready()). */
  listening: Kind<{ ports: number[] }>;
  heartbeat: Kind<WorkerStats>;
  /** It reached a limit (maxRequests, maxAge, …) and asks for a successor. */
  recycle: Kind<{ reason: RecycleReason }>;
  warning: Kind<{ message: string }>;
  /** `cluster.shutdown()`, `stop()`, `reload()` called in a worker: the master acts for it. */
  shutdown: Kind;
  stop: Kind;
  reload: Kind<undefined, void>;
  /** Its drain is over; the reply tells it the master no longer routes it connections. */
  drained: Kind<undefined, true>;
  [STICKY_CLOSED]: Kind;
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
  [STICKY_CONNECTION]: Kind<StickyConnection['data']>;
}
