import type { Worker } from 'node:cluster';
import { Channel } from '../ipc/channel.js';
import type { MasterChannel } from '../ipc/messages.js';
import type { ClusterTotals, WorkerState, WorkerStatus, WorkerStats } from '../status.js';
import { StderrTail } from './stderr-tail.js';
import { checkWorkerMove } from '../worker-state.js';

/** The master's view of one worker process. */
export interface WorkerRecord {
  readonly worker: Worker;
  readonly pid: number;
  readonly id: number;
  /** Stable index 0..noWorkers-1, inherited by a replacement (NODE_APP_INSTANCE, CLUSTER2_WORKER_ID in the worker). */
  readonly instance: number;
  readonly channel: MasterChannel;
  readonly startedAt: number;
  /** Changed only through moveTo(). */
  readonly state: WorkerState;
  /** The one way to change `state`: throws (an internal assertion) on a move the table does not allow. */
  moveTo(next: WorkerState): void;
  /** Set before the master makes it exit, so its death is not taken for a crash. */
  planned: boolean;
  /** A recycle's successor: the worker it is to replace (see the spawner's crash policy). */
  predecessor: WorkerRecord | undefined;
  /**
   * It fetched the ECV switch ('ecv:get') and so listens for its changes. A worker still loading
   * its modules has no IPC listener yet and would lose a push: it reads the switch itself.
   */
  ecvSynced: boolean;
  /** It takes no new connections: it said so (its drain closed its listeners), or it is gone. */
  readonly intakeClosed: boolean;
  /** Resolves once `intakeClosed`. */
  readonly whenIntakeClosed: Promise<void>;
  markIntakeClosed(): void;
  /** Replacements in this slot before this worker. */
  restarts: number;
  lastHeartbeat: number | undefined;
  stats: WorkerStats | undefined;
  /** The last lines it wrote to stderr, for the report of a death before it listened. */
  readonly stderr: StderrTail;
  /** Why the master killed it before it listened (start-up timeout), for that report. */
  killedBecause: string | undefined;
  /** Resolves once the worker listens (and is ready); rejects if it dies first. */
  readonly listening: Promise<void>;
  markListening(): void;
  markDead(error: Error): void;
}

/**
 * `passStderr`: the worker's stderr reaches the master's own unchanged (no log capture); with
 * capture, the log capture writes it and the record only keeps its tail.
 */
export function createWorkerRecord(worker: Worker, restarts: number, instance: number, passStderr: boolean): WorkerRecord {
  let markListening!: () => void;
  let markDead!: (error: Error) => void;
  const listening = new Promise<void>((resolve, reject) => {
    markListening = resolve;
    markDead = reject;
  });
  // The first caller to await it decides what a rejection means; unawaited ones must not crash.
  listening.catch(() => {});
  let intakeClosed = false;
  let markIntakeClosed!: () => void;
  const whenIntakeClosed = new Promise<void>((resolve) => {
    markIntakeClosed = () => {
      intakeClosed = true;
      resolve();
    };
  });
  const pid = worker.process.pid!;
  let state: WorkerState = 'starting';
  return {
    worker,
    pid,
    id: worker.id,
    instance,
    channel: new Channel({
      send(message, handle, sent = ignoreSendError) {
        if (worker.isConnected()) worker.send(message as object, handle, sent);
        else sent(new Error(`worker ${pid} is disconnected`));
      },
    }),
    startedAt: Date.now(),
    get state() {
      return state;
    },
    moveTo(next: WorkerState) {
      state = checkWorkerMove(pid, state, next);
    },
    planned: false,
    predecessor: undefined,
    ecvSynced: false,
    get intakeClosed() {
      return intakeClosed;
    },
    whenIntakeClosed,
    markIntakeClosed,
    restarts,
    lastHeartbeat: undefined,
    stats: undefined,
    stderr: new StderrTail(worker.process.stderr, passStderr ? process.stderr : undefined),
    killedBecause: undefined,
    listening,
    markListening,
    markDead,
  };
}

const ZERO_TOTALS: ClusterTotals = Object.freeze({
  workers: 0,
  rss: 0,
  heapUsed: 0,
  connections: 0,
  totalConnections: 0,
  requests: 0,
  inFlight: 0,
  upgraded: 0,
  idleCloses: 0,
});

/** Every worker the master knows, plus the counts of the dead so totals stay monotonic. */
export class WorkerTable {
  readonly #records = new Map<number, WorkerRecord>();
  #retiredRequests = 0;
  #retiredConnections = 0;
  #retiredIdleCloses = 0;

  add(record: WorkerRecord): void {
    this.#records.set(record.pid, record);
  }

  get(pid: number): WorkerRecord | undefined {
    return this.#records.get(pid);
  }

  /** Forgets a dead worker, keeping its last counts in the cluster totals. */
  remove(pid: number): void {
    const record = this.#records.get(pid);
    if (!record) return;
    this.#retiredRequests += record.stats?.requests ?? 0;
    this.#retiredConnections += record.stats?.totalConnections ?? 0;
    this.#retiredIdleCloses += record.stats?.idleCloses ?? 0;
    this.#records.delete(pid);
  }

  all(): WorkerRecord[] {
    return [...this.#records.values()];
  }

  /** Workers that count towards capacity: starting or listening, not draining. */
  serving(): WorkerRecord[] {
    return this.all().filter((r) => r.state === 'listening');
  }

  get size(): number {
    return this.#records.size;
  }

  status(): WorkerStatus[] {
    return this.all().map((r) => ({
      ...r.stats,
      pid: r.pid,
      id: r.id,
      instance: r.instance,
      state: r.state,
      startedAt: r.startedAt,
      restarts: r.restarts,
      lastHeartbeat: r.lastHeartbeat,
    }));
  }

  totals(): ClusterTotals {
    const totals = { ...ZERO_TOTALS, requests: this.#retiredRequests, totalConnections: this.#retiredConnections, idleCloses: this.#retiredIdleCloses };
    for (const record of this.#records.values()) {
      if (record.state !== 'dead') totals.workers++;
      const s = record.stats;
      if (!s) continue;
      totals.rss += s.rss;
      totals.heapUsed += s.heapUsed;
      totals.connections += s.connections;
      totals.totalConnections += s.totalConnections;
      totals.requests += s.requests;
      totals.inFlight += s.inFlight;
      totals.upgraded += s.upgraded;
      // `?? 0`: a heartbeat from a worker of an older version during a reload has no such field.
      totals.idleCloses += s.idleCloses ?? 0;
    }
    return totals;
  }
}

// A message to a worker that is going away is lost with it; its exit is handled where it is watched.
function ignoreSendError(): void {}
