import type { EventEmitter } from 'node:events';
import type { ResolvedOptions } from '../../options.js';
import type { LifecycleEvent, RecycleReason, WorkerStats } from '../../status.js';
import type { WorkerRecord } from '../workers.js';
import { LogCapture } from './capture.js';
import { describeEvent, type WorkerFacts } from './lifecycle-lines.js';

/**
 * How long the master waits for a dead worker's pipes to close (its last lines), ms: a grandchild
 * that inherited them can hold them open long after.
 */
const PIPE_END_WAIT = 500;
/** At exit, the master waits at most this long for its stdout and stderr to take what is queued, ms. */
const EXIT_FLUSH_WAIT = 2000;

/**
 * The master's logging: the workers' captured output (when `logs.capture`), and its own life as
 * log lines, to the same destinations and to the `logger` option as structured records. Lines of
 * its own are written in event order; a crash's line waits (briefly) for the rest of the worker's
 * stderr, so the reason comes before the respawn that follows it.
 */
export class MasterLogs {
  readonly capture: LogCapture | undefined;
  readonly #options: ResolvedOptions;
  /** Whether anything takes the master's own lines (capture or a logger); without, events are not described at all. */
  readonly #describes: boolean;
  readonly #workers = new Map<number, { record: WorkerRecord; ended: Promise<void> }>();
  #chain: Promise<void> = Promise.resolve();
  /** Workers whose pipes are still open: their last line (one without a newline) comes as they close. */
  readonly #reading = new Set<Promise<void>>();

  constructor(options: ResolvedOptions, source: EventEmitter, warn: (message: string) => void) {
    this.#options = options;
    this.capture = options.logs.capture ? new LogCapture(options.logs, source, warn) : undefined;
    this.#describes = this.capture !== undefined || options.logger !== undefined;
    if (this.#describes) source.on('lifecycle', (event: LifecycleEvent) => this.#onEvent(event));
  }

  /** A worker was forked: read its output. */
  track(record: WorkerRecord): void {
    const { stdout, stderr } = record.worker.process;
    const ended = this.capture?.attach({ pid: record.pid, instance: record.instance, stdout, stderr }).ended ?? record.stderr.ended;
    // Only #onEvent reads (and forgets) them.
    if (this.#describes) this.#workers.set(record.pid, { record, ended });
    this.#reading.add(ended);
    void ended.then(() => this.#reading.delete(ended));
  }

  /** Writes the lines still queued; the master is about to exit. */
  async close(): Promise<void> {
    await within(Promise.all(this.#reading), PIPE_END_WAIT);
    await this.#chain;
    await this.capture?.close();
    if (this.capture && this.#options.logs.stdout) await Promise.all([drained(process.stdout), drained(process.stderr)]);
  }

  #onEvent(event: LifecycleEvent): void {
    const tracked = event.pid === undefined ? undefined : this.#workers.get(event.pid);
    const died = event.type === 'died';
    this.#chain = this.#chain.then(async () => {
      // A crash's reason is in its last stderr lines, which may still be in the pipe.
      if (died && tracked && !tracked.record.planned) await within(tracked.ended, PIPE_END_WAIT);
      // Forgotten only now: the respawn event that follows a death (in the same turn) still finds its label.
      if (died && event.pid !== undefined) this.#workers.delete(event.pid);
      const facts = tracked && factsOf(tracked.record, event, this.#options);
      const line = describeEvent(event, facts);
      this.capture?.own(line.level, line.msg);
      // Warnings reach the logger through the Cluster's 'warning' event already.
      if (event.type !== 'warning') this.#options.logger?.[line.level](fieldsOf(event, facts), `cluster2: ${line.msg}`);
    });
  }
}

function factsOf(record: WorkerRecord, event: LifecycleEvent, options: ResolvedOptions): WorkerFacts {
  return {
    label: `w${record.instance}`,
    planned: record.planned,
    stderrTail: event.type === 'died' && !record.planned ? record.stderr.lines() : '',
    figure: event.type === 'recycled' ? figureOf(event.reason as RecycleReason, record.stats, record.startedAt, options) : undefined,
  };
}

/** What a recycle's reason measured, against its limit. */
function figureOf(reason: RecycleReason, stats: WorkerStats | undefined, startedAt: number, options: ResolvedOptions): string | undefined {
  switch (reason) {
    case 'maxRequests':
      return stats && `${stats.requests} requests, maxRequests ${options.maxRequests}`;
    case 'connThreshold':
      return stats && `${stats.totalConnections} connections, connThreshold ${options.connThreshold}`;
    case 'maxMemory':
      return stats && `rss ${Math.round(stats.rss / 1024 / 1024)} MiB, maxMemory ${options.maxMemory} MiB`;
    case 'maxAge':
      return `up ${Math.round((Date.now() - startedAt) / 1000)} s, maxAge ${options.maxAge} ms`;
    default:
      return undefined;
  }
}

function fieldsOf(event: LifecycleEvent, facts: WorkerFacts | undefined): Record<string, unknown> {
  const { time: _time, ...fields } = event;
  return { event: event.type, ...fields, ...(facts && { worker: facts.label }), ...(facts?.stderrTail && { stderr: facts.stderrTail }) };
}

function drained(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.writableLength === 0 || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, EXIT_FLUSH_WAIT).unref();
    stream.once('drain', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** `promise`, or nothing once `ms` have passed. */
function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([promise.then(() => {}), timeout]).finally(() => clearTimeout(timer));
}
