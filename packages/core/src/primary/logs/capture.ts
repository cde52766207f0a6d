import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { ResolvedLogs } from '../../options.js';
import type { LogQuery, LogRecord, LogStream } from '../../status.js';
import { Destinations, type Destination } from './destinations.js';
import { LineSplitter } from './line-splitter.js';
import { renderLine } from './record.js';

/** How often lost lines are reported (a warning naming how many and why), ms. */
const DROP_NOTICE_EVERY = 10_000;
/** The monitor gets new lines in batches at most this often, ms. */
const BATCH_EVERY = 100;
/** A batch waiting for the monitor holds at most this many lines; beyond, they are left out of it (files and stdout still get them). */
const BATCH_MAX = 1000;
/** A kept line longer than this is cut (the files and stdout get it whole): 1000 lines of 1 MiB would be 1 GiB. */
const RECENT_LINE_MAX = 8192;

/** Lines written and lost since the master started (`status().logs`, `/metrics`). */
interface LogCounts {
  lines: number;
  dropped: number;
}

/** A worker whose output is read: its pipes and its label. */
interface CapturedWorker {
  readonly pid: number;
  readonly instance: number;
  readonly stdout: Readable | null | undefined;
  readonly stderr: Readable | null | undefined;
}

/**
 * The master's end of every worker's stdout and stderr. It reads them as fast as they come (so a
 * worker never waits on a slow destination), cuts them into whole lines, labels each with the
 * worker, and writes them to the destinations; a destination that falls more than `logs.buffer`
 * bytes behind loses lines, which are counted and reported, never queued without bound. The last
 * `logs.recent` lines stay in memory for the monitor and `cluster2 logs`; `source` gets `'logs'`
 * batches while someone listens.
 */
export class LogCapture {
  readonly #logs: ResolvedLogs;
  readonly #source: EventEmitter;
  readonly #warn: (message: string) => void;
  readonly #destinations: Destinations;
  readonly #recent: LogRecord[] = [];
  #recentStart = 0;
  #batch: LogRecord[] = [];
  #batchTimer: NodeJS.Timeout | undefined;
  #counts: LogCounts = { lines: 0, dropped: 0 };
  #droppedReported = 0;
  readonly #dropNotice: NodeJS.Timeout;

  constructor(logs: ResolvedLogs, source: EventEmitter, warn: (message: string) => void) {
    this.#logs = logs;
    this.#source = source;
    this.#warn = warn;
    this.#destinations = new Destinations(logs, (error) => this.#fileError(error));
    this.#dropNotice = setInterval(() => this.#reportDrops(), DROP_NOTICE_EVERY).unref();
  }

  get counts(): LogCounts {
    return { ...this.#counts };
  }

  /**
   * Reads a worker's pipes; `ended` settles once both are closed and their last line is written.
   * A grandchild that inherited them can keep them open after the worker is gone: wait with a bound.
   */
  attach(worker: CapturedWorker): { ended: Promise<void> } {
    const label = `w${worker.instance}`;
    return { ended: Promise.all([this.#read(worker.stdout, label, worker.pid, 'out'), this.#read(worker.stderr, label, worker.pid, 'err')]).then(() => {}) };
  }

  /** One of cluster2's own lines (a worker forked, died, a reload started, …). */
  own(level: 'info' | 'warn' | 'error', msg: string): void {
    const record: LogRecord = { time: Date.now(), worker: 'master', pid: process.pid, stream: level === 'info' ? 'out' : 'err', msg, level };
    this.#emit([record], 'master', record.stream);
  }

  /** The last lines kept, oldest first, filtered. */
  recent(query: LogQuery = {}): { lines: LogRecord[]; dropped: number } {
    const all = [...this.#recent.slice(this.#recentStart), ...this.#recent.slice(0, this.#recentStart)];
    const matching = all.filter((r) => (query.worker === undefined || r.worker === query.worker) && (query.stream === undefined || r.stream === query.stream));
    return { lines: query.lines === undefined ? matching : matching.slice(-query.lines), dropped: this.#counts.dropped };
  }

  /** Reopens the files (an external logrotate moved them). */
  reopen(): void {
    this.#destinations.reopen();
  }

  /** Writes what is queued and closes the files. */
  async close(): Promise<void> {
    clearInterval(this.#dropNotice);
    this.#flushBatch();
    await this.#destinations.close();
  }

  #read(stream: Readable | null | undefined, worker: string, pid: number, name: LogStream): Promise<void> {
    if (!stream) return Promise.resolve();
    const splitter = new LineSplitter(this.#logs.maxLineLength);
    const toRecords = (lines: string[]): LogRecord[] => {
      const time = Date.now();
      return lines.map((msg) => ({ time, worker, pid, stream: name, msg }));
    };
    stream.on('data', (chunk: Buffer) => {
      const lines = splitter.push(chunk);
      if (lines.length > 0) this.#emit(toRecords(lines), worker, name);
    });
    // The pipe breaks when the worker dies: what it held is read, the rest is its death.
    stream.on('error', () => {});
    return new Promise((resolve) => {
      stream.once('close', () => {
        const last = splitter.end();
        if (last.length > 0) this.#emit(toRecords(last), worker, name);
        resolve();
      });
    });
  }

  /** One batch of lines of one worker and stream: one write per destination, whatever their number. */
  #emit(records: LogRecord[], worker: string, stream: LogStream): void {
    let text = '';
    for (const record of records) text += renderLine(record, this.#logs);
    for (const destination of this.#destinations.for(worker, stream)) this.#write(destination, text, records.length);
    this.#counts.lines += records.length;
    this.#remember(records);
    if (this.#source.listenerCount('logs') > 0) this.#queueBatch(records);
  }

  #write(destination: Destination, text: string, lines: number): void {
    if (!destination.write(text)) this.#counts.dropped += lines;
  }

  #remember(records: LogRecord[]): void {
    const size = this.#logs.recent;
    if (size === 0) return;
    for (let record of records) {
      if (record.msg.length > RECENT_LINE_MAX) record = { ...record, msg: `${record.msg.slice(0, RECENT_LINE_MAX)}…` };
      if (this.#recent.length < size) this.#recent.push(record);
      else {
        this.#recent[this.#recentStart] = record;
        this.#recentStart = (this.#recentStart + 1) % size;
      }
    }
  }

  #queueBatch(records: LogRecord[]): void {
    const room = BATCH_MAX - this.#batch.length;
    if (room > 0) this.#batch.push(...(records.length > room ? records.slice(-room) : records));
    this.#batchTimer ??= setTimeout(() => this.#flushBatch(), BATCH_EVERY).unref();
  }

  #flushBatch(): void {
    clearTimeout(this.#batchTimer);
    this.#batchTimer = undefined;
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    this.#source.emit('logs', batch);
  }

  #reportDrops(): void {
    const dropped = this.#counts.dropped - this.#droppedReported;
    if (dropped === 0) return;
    this.#droppedReported = this.#counts.dropped;
    this.#warn(
      `${dropped} log lines dropped in the last ${DROP_NOTICE_EVERY / 1000} s: a destination fell more than logs.buffer (${this.#logs.buffer} bytes) behind (a slow disk, or a reader of the master's stdout that stopped reading)`,
    );
  }

  /** RotatingFile reports a failure once until the operation that failed works again: a full disk is one warning, not one per line. */
  #fileError(error: Error): void {
    this.#warn(`cannot write a log file: ${error.message}; its lines are dropped until it can be written again`);
  }
}
