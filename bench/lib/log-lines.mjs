// Counting log lines as they land in files: the destinations of section 12 (logs).
import fs from 'node:fs';
import path from 'node:path';
import { sleep } from './http.mjs';

const CHUNK = 1 << 20;

/**
 * Counts the whole lines holding `marker` across the files `files()` names (asked again on every
 * count, so files that appear later are picked up). Each count reads only what was appended since
 * the one before; a line still being written is counted once its newline has landed. Files must
 * only grow (the bench turns rotation off).
 */
export class LineCounter {
  #files;
  #marker;
  #seen = new Map();

  constructor(files, marker) {
    this.#files = files;
    this.#marker = marker;
  }

  count() {
    let total = 0;
    for (const file of this.#files()) {
      let state = this.#seen.get(file);
      if (!state) this.#seen.set(file, (state = { offset: 0, carry: '', lines: 0 }));
      this.#advance(file, state);
      total += state.lines;
    }
    return total;
  }

  #advance(file, state) {
    let fd;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return;
    }
    try {
      const buffer = Buffer.allocUnsafe(CHUNK);
      for (;;) {
        const n = fs.readSync(fd, buffer, 0, CHUNK, state.offset);
        if (n === 0) break;
        state.offset += n;
        const text = state.carry + buffer.toString('latin1', 0, n);
        const end = text.lastIndexOf('\n') + 1;
        state.carry = text.slice(end);
        for (let at = text.indexOf(this.#marker); at >= 0 && at < end; at = text.indexOf(this.#marker, at + 1)) state.lines++;
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** The files in `dir` whose name passes `keep` (none while `dir` does not exist yet). */
export function filesIn(dir, keep = () => true) {
  try {
    return fs
      .readdirSync(dir)
      .filter(keep)
      .map((name) => path.join(dir, name));
  } catch {
    return [];
  }
}

/**
 * Counts until `counter` reaches `expected` lines, or has not grown for `stallMs`:
 * `{ lines, at }`, `at` the performance.now() of the count that saw the last line arrive.
 */
export async function countUntil(counter, expected = Infinity, { stallMs = 3000, everyMs = 10 } = {}) {
  let lines = counter.count();
  let at = performance.now();
  while (lines < expected) {
    await sleep(everyMs);
    const now = counter.count();
    if (now !== lines) {
      lines = now;
      at = performance.now();
    } else if (performance.now() - at > stallMs) break;
  }
  return { lines, at };
}

/** The count once it has not moved for `quietMs` (the destination caught up with the writers). */
export async function settledCount(counter, { quietMs = 300 } = {}) {
  return (await countUntil(counter, Infinity, { stallMs: quietMs })).lines;
}
