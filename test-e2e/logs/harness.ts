// The log-capture suite's fixture: test-e2e/logs/fixtures/writer.mjs, and readers of what the
// master wrote (its stdout and stderr, files, rotated files in order).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Fixture, type SpawnOptions } from '../support/fixture.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface WriterSettings {
  /** Numbered lines each worker writes to stdout and to stderr before it listens. */
  lines?: number;
  /** Every n-th line is padded past 64 KiB. */
  longEvery?: number;
  json?: boolean;
  /** Worker 0 crashes once (marker file). */
  crashOnce?: string;
}

export function startWriter(options: object, writer: WriterSettings, spawn: SpawnOptions = {}): Fixture {
  return new Fixture(path.join(here, 'fixtures', 'writer.mjs'), options, { ...spawn, env: { FIXTURE_WRITER: JSON.stringify(writer), ...spawn.env } });
}

/** A text line the master wrote: `[w0 123] msg`, optionally after an ISO time. */
export interface ParsedLine {
  worker: string;
  pid: number;
  msg: string;
}

const TEXT_LINE = /^(?:\d{4}-\d\d-\d\dT[\d:.]+Z )?\[(w\d+|master) (\d+)\] (.*)$/s;

export function parseLines(text: string): ParsedLine[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line) => {
    const match = TEXT_LINE.exec(line);
    if (!match) throw new Error(`not a labelled line: ${JSON.stringify(line.slice(0, 200))}`);
    return { worker: match[1]!, pid: Number(match[2]), msg: match[3]! };
  });
}

/** `base`'s rotated files oldest first (`base.N` … `base.1`), then `base` itself. */
export function readRotated(base: string): { files: string[]; text: string } {
  const dir = path.dirname(base);
  const name = path.basename(base);
  const rotated = fs
    .readdirSync(dir)
    .filter((file) => file.startsWith(`${name}.`) && /^\d+$/.test(file.slice(name.length + 1)))
    .sort((a, b) => Number(b.slice(name.length + 1)) - Number(a.slice(name.length + 1)));
  const files = [...rotated.map((file) => path.join(dir, file)), base];
  return { files, text: files.map((file) => fs.readFileSync(file, 'utf8')).join('') };
}

/**
 * Checks that the worker lines with `prefix` ('out' or 'err') hold, for each of `workers`, every
 * numbered line 0..lines-1 exactly once, whole, in order, under the right label, and the last line
 * without a newline (stdout only). Returns the problems found (empty when all is well).
 */
export function checkSequence(
  parsed: ParsedLine[],
  prefix: 'out' | 'err',
  { workers, lines, longEvery }: { workers: number; lines: number; longEvery: number },
): string[] {
  const problems: string[] = [];
  const next = new Map<string, number>();
  const finished = new Set<string>();
  for (const { worker, msg } of parsed) {
    if (worker === 'master' || !msg.startsWith(`${prefix} `)) continue;
    const [, id, counter, pad] = /^\S+ (\d+) (\S+)(?: (x*))?$/s.exec(msg) ?? [];
    if (id === undefined) {
      problems.push(`malformed: ${msg.slice(0, 80)}`);
      continue;
    }
    if (`w${id}` !== worker) problems.push(`line of worker ${id} labelled ${worker}`);
    if (counter === 'last-without-newline') {
      if (next.get(worker) !== lines) problems.push(`${worker}: last line after ${next.get(worker)} lines`);
      finished.add(worker);
      continue;
    }
    const i = Number(counter);
    const expected = next.get(worker) ?? 0;
    if (i !== expected) problems.push(`${worker} ${prefix}: line ${i} where ${expected} was due`);
    next.set(worker, i + 1);
    const long = longEvery > 0 && i % longEvery === longEvery - 1;
    if ((pad?.length ?? 0) !== (long ? 70_000 + i : 0)) problems.push(`${worker} ${prefix} line ${i}: padding ${pad?.length ?? 0}`);
  }
  for (let w = 0; w < workers; w++) {
    if (next.get(`w${w}`) !== lines) problems.push(`w${w} ${prefix}: ${next.get(`w${w}`) ?? 0} of ${lines} lines`);
    if (prefix === 'out' && !finished.has(`w${w}`)) problems.push(`w${w}: no last line without newline`);
  }
  return problems.slice(0, 20);
}
