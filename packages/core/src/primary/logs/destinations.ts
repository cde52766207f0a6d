import path from 'node:path';
import type { ResolvedLogs } from '../../options.js';
import type { LogStream } from '../../status.js';
import { RotatingFile } from './rotating-file.js';

/** Somewhere captured lines go: the master's stdout or stderr, or a log file. */
export interface Destination {
  /** Appends whole lines; false (nothing written) when the destination is too far behind. */
  write(text: string): boolean;
  reopen?(): void;
  close(): Promise<void>;
}

/**
 * The master's own stdout or stderr. Past `buffer` bytes waiting (a reader that stopped reading a
 * pipe), lines are refused so the master never grows without bound; a pipe that broke (EPIPE, the
 * reader went away) refuses everything instead of crashing the master.
 */
class StdioDestination implements Destination {
  readonly #stream: NodeJS.WriteStream;
  readonly #buffer: number;
  #broken = false;

  constructor(stream: NodeJS.WriteStream, buffer: number) {
    this.#stream = stream;
    this.#buffer = buffer;
    stream.on('error', () => {
      this.#broken = true;
    });
  }

  write(text: string): boolean {
    if (this.#broken || this.#stream.destroyed || this.#stream.writableLength > this.#buffer) return false;
    this.#stream.write(text);
    return true;
  }

  async close(): Promise<void> {}
}

/** Which files exist under `logs.dir`, opened on first use: one pair, or one pair per worker index. */
export class Destinations {
  readonly #logs: ResolvedLogs;
  readonly #stdio: Record<LogStream, Destination> | undefined;
  readonly #files = new Map<string, RotatingFile>();
  readonly #onError: (error: Error) => void;

  constructor(logs: ResolvedLogs, onError: (error: Error) => void) {
    this.#logs = logs;
    this.#onError = onError;
    this.#stdio = logs.stdout ? { out: new StdioDestination(process.stdout, logs.buffer), err: new StdioDestination(process.stderr, logs.buffer) } : undefined;
  }

  /** Where a line of `worker` (`'w0'`, `'master'`) on `stream` goes. */
  for(worker: string, stream: LogStream): Destination[] {
    const targets: Destination[] = [];
    if (this.#stdio) targets.push(this.#stdio[stream]);
    if (this.#logs.dir !== false) targets.push(this.#file(this.#logs.files === 'worker' ? `${worker}.${stream}.log` : `${stream}.log`));
    return targets;
  }

  reopen(): void {
    for (const file of this.#files.values()) file.reopen();
  }

  async close(): Promise<void> {
    await Promise.all([...this.#files.values()].map((file) => file.close()));
  }

  #file(name: string): RotatingFile {
    let file = this.#files.get(name);
    if (!file) {
      const { dir, maxSize, keep, gzip, buffer } = this.#logs;
      file = new RotatingFile({ path: path.resolve(dir as string, name), maxSize, keep, gzip, maxPending: buffer, onError: this.#onError });
      this.#files.set(name, file);
    }
    return file;
  }
}
