import type { RecycleReason } from '../status.js';
import type { WorkerRecord } from './workers.js';

export interface RecyclerHost {
  /** Forks a successor and resolves once it listens; rejects when it cannot start. */
  startSuccessor(old: WorkerRecord): Promise<WorkerRecord>;
  /**
   * Takes the old worker out of rotation and drains it (the successor already listens); resolves
   * once it takes no new connections, so a recycle or a reload ends when only successors get them.
   */
  retire(old: WorkerRecord, reason: RecycleReason): Promise<void>;
}

interface Job {
  record: WorkerRecord;
  reason: RecycleReason;
  done: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Replaces workers one at a time, successor first: capacity never drops below `noWorkers`,
 * and a successor that fails to start never takes a healthy worker's place.
 */
export class Recycler {
  readonly #host: RecyclerHost;
  readonly #queue: Job[] = [];
  #current: Job | undefined;
  #closed: Error | undefined;

  constructor(host: RecyclerHost) {
    this.#host = host;
  }

  /** Queues `record` for replacement; asking again for a queued worker joins the first request. */
  request(record: WorkerRecord, reason: RecycleReason): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    const existing = this.#current?.record === record ? this.#current : this.#queue.find((job) => job.record === record);
    if (existing) return existing.done;
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#queue.push({ record, reason, done, resolve, reject });
    void this.#pump();
    return done;
  }

  /** True while a successor for `record` is being started. */
  isReplacing(record: WorkerRecord): boolean {
    return this.#current?.record === record;
  }

  get busy(): boolean {
    return this.#current !== undefined || this.#queue.length > 0;
  }

  /** Rejects everything queued (shutdown); the job under way finishes on its own. */
  close(error: Error): void {
    this.#closed = error;
    for (const job of this.#queue.splice(0)) job.reject(error);
  }

  async #pump(): Promise<void> {
    if (this.#current) return;
    while (this.#queue.length > 0 && !this.#closed) {
      const job = this.#queue.shift()!;
      this.#current = job;
      try {
        // A worker that died or started draining meanwhile needs no replacement by us.
        if (job.record.state === 'listening') {
          await this.#host.startSuccessor(job.record);
          if (job.record.state === 'listening') await this.#host.retire(job.record, job.reason);
        }
        job.resolve();
      } catch (error) {
        job.reject(error);
      } finally {
        this.#current = undefined;
      }
    }
  }
}
