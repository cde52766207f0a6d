import fs from 'node:fs/promises';
import path from 'node:path';
import { tailLines } from '../monitor/logs.js';
import { lastLines, matchesFilter, parseLine, type LineFilter, type ParsedLine } from './log-lines.js';

/** Where and how the master writes its log files (master.json's `logs`). */
export interface LogFilesLayout {
  dir: string;
  files: 'stream' | 'worker';
}

/** One current (not rotated) log file and what its name says. */
interface LogFileRef {
  name: string;
  stream: 'out' | 'err';
  worker?: string;
}

/** How often `--follow` looks at the files, ms: a new line shows within this (and well within 1 s). */
export const FOLLOW_POLL_MS = 250;
const READ_CHUNK = 64 * 1024;
/** Bytes just before the read position kept to notice a file rewritten in place. */
const MARK_BYTES = 64;
const PER_WORKER_FILE = /^(w\d+|master)\.(out|err)\.log$/;

/** The current files the filter can find lines in (rotated ones, `out.log.1`, are left out). */
async function currentFiles(layout: LogFilesLayout, filter: LineFilter): Promise<LogFileRef[]> {
  const streams: Array<'out' | 'err'> = filter.errOnly ? ['err'] : ['out', 'err'];
  if (layout.files === 'stream') return streams.map((stream) => ({ name: `${stream}.log`, stream }));
  let names: string[];
  try {
    names = await fs.readdir(layout.dir);
  } catch {
    return [];
  }
  // A label names its file; digits may be a pid, which only the lines tell.
  const label = filter.worker !== undefined && !/^\d+$/.test(filter.worker) ? filter.worker : undefined;
  return names
    .map((name) => PER_WORKER_FILE.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[0], worker: m[1]!, stream: m[2] as 'out' | 'err' }))
    .filter((ref) => streams.includes(ref.stream) && (label === undefined || ref.worker === label))
    .sort((a, b) => workerOrder(a) - workerOrder(b) || (a.stream < b.stream ? 1 : -1));
}

const workerOrder = (ref: LogFileRef): number => (ref.worker === 'master' ? -1 : Number(ref.worker!.slice(1)));

/** An open file being followed: where its next unread byte is, and the start of a line not yet ended. */
interface Followed {
  ref: LogFileRef;
  handle: fs.FileHandle;
  ino: number;
  position: number;
  partial: string;
  /** The last bytes read (up to MARK_BYTES before `position`): gone or changed means the file was truncated. */
  mark: Buffer;
}

/**
 * Reads the master's log files: the last lines across them, then (`follow`) every line appended
 * after. Survives rotation: a file replaced under its name (a new inode: cluster2's own rotation
 * or logrotate's rename) is read to its end and the new one from its start; a file that shrank
 * (logrotate's copytruncate) is read again from its start. No line is printed twice.
 */
export class LogFilesReader {
  readonly #layout: LogFilesLayout;
  readonly #filter: LineFilter;
  readonly #followed = new Map<string, Followed>();

  constructor(layout: LogFilesLayout, filter: LineFilter) {
    this.#layout = layout;
    this.#filter = filter;
  }

  /** The last `count` lines the filter keeps (see lastLines()), oldest first; the files stay open for follow(). */
  async tail(count: number): Promise<ParsedLine[]> {
    const groups: ParsedLine[][] = [];
    for (const ref of await currentFiles(this.#layout, this.#filter)) {
      const followed = await this.#open(ref);
      if (followed === undefined) continue;
      // Read more than asked: lines of other workers may be filtered out.
      const want = this.#filter.worker === undefined ? count : Math.min(count * 20, 100_000);
      let text = followed.position === 0 ? '' : await tailLines(followed.handle, followed.position, want);
      if (text !== '' && !text.endsWith('\n')) {
        // A line still being written: follow() prints it once it is whole.
        const cut = text.lastIndexOf('\n') + 1;
        followed.position -= Buffer.byteLength(text.slice(cut));
        followed.mark = await readMark(followed.handle, followed.position);
        text = text.slice(0, cut);
      }
      const lines = splitLines(text).map((raw) => parseLine(raw, ref));
      groups.push(lines.filter((line) => matchesFilter(line, this.#filter)).slice(-count));
    }
    return lastLines(groups, count);
  }

  /** Calls `onLine` with each new line until `signal` aborts; resolves then, with every file closed. */
  async follow(onLine: (line: ParsedLine) => void, signal: AbortSignal, pollMs = FOLLOW_POLL_MS): Promise<void> {
    while (!signal.aborted) {
      for (const ref of await currentFiles(this.#layout, this.#filter)) {
        if (!this.#followed.has(ref.name)) await this.#open(ref, 0);
      }
      for (const followed of [...this.#followed.values()]) {
        for (const line of await this.#poll(followed)) if (matchesFilter(line, this.#filter)) onLine(line);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
    await this.close();
  }

  async close(): Promise<void> {
    for (const followed of this.#followed.values()) await followed.handle.close().catch(() => {});
    this.#followed.clear();
  }

  /** Opens `ref` positioned at its end (or at `position`); undefined when it does not exist yet. */
  async #open(ref: LogFileRef, position?: number): Promise<Followed | undefined> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(path.join(this.#layout.dir, ref.name), 'r');
    } catch {
      return undefined;
    }
    const stat = await handle.stat();
    const at = position ?? stat.size;
    const followed: Followed = { ref, handle, ino: stat.ino, position: at, partial: '', mark: await readMark(handle, at) };
    this.#followed.set(ref.name, followed);
    return followed;
  }

  /** New whole lines of one file, across a rotation or truncation since the last poll. */
  async #poll(followed: Followed): Promise<ParsedLine[]> {
    // Truncated (logrotate's copytruncate), perhaps already longer again than what was read: the
    // bytes before the read position are no longer the ones read, so it starts over.
    if (!(await readMark(followed.handle, followed.position)).equals(followed.mark)) {
      followed.position = 0;
      followed.partial = '';
    }
    // What was written before a rename is still in the old file: drain it first.
    const raws = await this.#drain(followed);
    let stat: import('node:fs').Stats | undefined;
    try {
      stat = await fs.stat(path.join(this.#layout.dir, followed.ref.name));
    } catch {
      // Moved away and not recreated yet: keep the old one open; the new one is picked up once it appears.
    }
    if (stat !== undefined && stat.ino !== followed.ino) {
      if (followed.partial !== '') raws.push(Buffer.from(followed.partial, 'latin1').toString('utf8'));
      await followed.handle.close().catch(() => {});
      this.#followed.delete(followed.ref.name);
      const fresh = await this.#open(followed.ref, 0);
      if (fresh !== undefined) raws.push(...(await this.#drain(fresh)));
    }
    return raws.map((raw) => parseLine(raw, followed.ref));
  }

  /** Reads `followed` from its position to its current end; returns the lines completed. */
  async #drain(followed: Followed): Promise<string[]> {
    const lines: string[] = [];
    const buffer = Buffer.alloc(READ_CHUNK);
    for (;;) {
      const { bytesRead } = await followed.handle.read(buffer, 0, READ_CHUNK, followed.position);
      if (bytesRead === 0) {
        followed.mark = await readMark(followed.handle, followed.position);
        return lines;
      }
      followed.position += bytesRead;
      // A UTF-8 sequence split across reads is only decoded once whole: cut at the last newline in bytes.
      const chunk = buffer.subarray(0, bytesRead);
      const lastNewline = chunk.lastIndexOf(10);
      if (lastNewline === -1) {
        followed.partial += chunk.toString('latin1');
        continue;
      }
      const text = Buffer.concat([Buffer.from(followed.partial, 'latin1'), chunk.subarray(0, lastNewline)]).toString('utf8');
      followed.partial = chunk.subarray(lastNewline + 1).toString('latin1');
      lines.push(...text.split('\n'));
    }
  }
}

/** The up to MARK_BYTES bytes just before `position` (fewer when the file is now shorter). */
async function readMark(handle: fs.FileHandle, position: number): Promise<Buffer> {
  const length = Math.min(MARK_BYTES, position);
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position - length);
  return buffer.subarray(0, bytesRead);
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
}
