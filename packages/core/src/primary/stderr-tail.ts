import type { Readable } from 'node:stream';

/** Bytes of a worker's stderr kept for the report of its death. */
const TAIL_BYTES = 4096;
/** Lines of that tail quoted in an error message. */
const TAIL_LINES = 12;

/**
 * Keeps the last few KiB of a worker's stderr (passing it through to the master's own, unchanged,
 * when `sink` is given: without log capture):
 * when a successor dies before it listens (a deploy of broken code), the reason is usually only
 * there (a SyntaxError, a missing module), and a deploy script must be able to print it.
 */
export class StderrTail {
  /** Settles once the worker's end of the pipe is closed and every byte has been read. */
  readonly ended: Promise<void>;
  #chunks: Buffer[] = [];
  #bytes = 0;

  constructor(stream: Readable | null | undefined, sink?: NodeJS.WritableStream) {
    this.ended = stream ? new Promise((resolve) => stream.once('close', resolve)) : Promise.resolve();
    stream?.on('data', (chunk: Buffer) => {
      sink?.write(chunk);
      this.#keep(chunk);
    });
    // The pipe breaks when the worker dies: nothing to report beyond the death itself.
    stream?.on('error', () => {});
  }

  #keep(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    while (this.#bytes - this.#chunks[0]!.length >= TAIL_BYTES) this.#bytes -= this.#chunks.shift()!.length;
  }

  /**
   * The last lines written, trimmed; '' when the worker wrote nothing. Stack frames beyond the
   * first few of each trace are left out, so an error's own line ("SyntaxError: …") is kept even
   * when the runtime prints a long stack after it.
   */
  lines(): string {
    const text = Buffer.concat(this.#chunks).toString('utf8').slice(-TAIL_BYTES);
    return withShortStacks(text.trimEnd().split('\n')).slice(-TAIL_LINES).join('\n');
  }
}

/** Frames of one stack trace quoted before the rest is summed up. */
const STACK_FRAMES = 3;

function withShortStacks(lines: string[]): string[] {
  const kept: string[] = [];
  let frames = 0;
  for (const line of lines) {
    const isFrame = /^\s+at /.test(line);
    frames = isFrame ? frames + 1 : 0;
    if (frames <= STACK_FRAMES) kept.push(line);
    else if (frames === STACK_FRAMES + 1) kept.push('    at …');
  }
  return kept;
}
