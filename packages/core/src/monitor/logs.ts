import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { LogQuery } from '../status.js';
import { HttpError } from './http-util.js';

/** A file the logs viewer lists. */
export interface LogFileInfo {
  name: string;
  /** bytes */
  size: number;
  /** ISO 8601 */
  mtime: string;
}

/** Bytes returned when no line count is asked for (the last 64 KiB). */
export const DEFAULT_TAIL_BYTES = 64 * 1024;
/** Largest `?lines=` accepted. */
export const MAX_TAIL_LINES = 10_000;
/** A line tail never scans more than this far back, bytes (bounds the work for one request). */
const MAX_SCAN_BYTES = 8 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;

/** Captured lines `GET /api/logs` returns when no `?lines=` is given. */
export const DEFAULT_RECENT_LINES = 200;
const WORKER_LABEL = /^(?:w\d{1,6}|master)$/;

/** Reads a `?lines=` value: an integer from 1 to MAX_TAIL_LINES; 400 otherwise. */
export function parseLinesParam(raw: string | null): number | undefined {
  if (raw === null) return undefined;
  const lines = Number(raw);
  if (!/^\d+$/.test(raw) || lines < 1 || lines > MAX_TAIL_LINES)
    throw new HttpError(400, 'BAD_REQUEST', `lines must be an integer from 1 to ${MAX_TAIL_LINES}`);
  return lines;
}

/** `?lines=N&worker=w0&stream=err` of `GET /api/logs`, validated; 400 naming the parameter otherwise. */
export function parseLogQuery(query: URLSearchParams): Required<Pick<LogQuery, 'lines'>> & LogQuery {
  const parsed: Required<Pick<LogQuery, 'lines'>> & LogQuery = { lines: parseLinesParam(query.get('lines')) ?? DEFAULT_RECENT_LINES };
  const worker = query.get('worker');
  if (worker !== null) {
    if (!WORKER_LABEL.test(worker))
      throw new HttpError(400, 'BAD_REQUEST', `worker must be a worker label (w0, w1, …) or 'master', got '${worker.slice(0, 40)}'`);
    parsed.worker = worker;
  }
  const stream = query.get('stream');
  if (stream !== null) {
    if (stream !== 'out' && stream !== 'err') throw new HttpError(400, 'BAD_REQUEST', `stream must be 'out' or 'err', got '${stream.slice(0, 40)}'`);
    parsed.stream = stream;
  }
  return parsed;
}

/**
 * Regular files directly in `dir`, sorted by name. A missing directory is an empty list.
 * Symlinks are left out: the viewer only serves what really lives in the directory.
 */
export async function listLogs(dir: string): Promise<LogFileInfo[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
  const files: LogFileInfo[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    try {
      const stat = await fs.stat(path.join(dir, entry.name));
      files.push({ name: entry.name, size: stat.size, mtime: stat.mtime.toISOString() });
    } catch {
      // Rotated away between readdir and stat: simply not listed.
    }
  }
  return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A plain file name: no separators, no `..`, no NUL, not absolute on any platform. */
export function isSafeLogName(name: string): boolean {
  return (
    name !== '' &&
    name !== '.' &&
    !name.includes('/') &&
    !name.includes('\\') &&
    !name.includes('..') &&
    !name.includes('\0') &&
    !path.isAbsolute(name) &&
    !path.win32.isAbsolute(name)
  );
}

/**
 * The real path of `name` inside `dir`, or null when it is unsafe, missing, not a regular file,
 * or resolves (through a symlink) to anywhere outside the real `dir`.
 */
export async function resolveLogFile(dir: string, name: string): Promise<string | null> {
  if (!isSafeLogName(name)) return null;
  try {
    const root = await fs.realpath(dir);
    const real = await fs.realpath(path.join(root, name));
    if (path.dirname(real) !== root && !real.startsWith(root + path.sep)) return null;
    const stat = await fs.stat(real);
    return stat.isFile() ? real : null;
  } catch {
    return null;
  }
}

/**
 * The end of a log file: the last `lines` lines, or the last 64 KiB (starting at a line
 * boundary when the file is longer). null when the name does not resolve inside `dir`.
 */
export async function readLogTail(dir: string, name: string, lines?: number): Promise<string | null> {
  const real = await resolveLogFile(dir, name);
  if (real === null) return null;
  // O_NOFOLLOW: a file swapped for a symlink after the check is refused, not followed.
  // O_NONBLOCK: never hang on a FIFO that appeared in its place.
  const flags = fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) | (fsConstants.O_NONBLOCK ?? 0);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(real, flags);
  } catch {
    return null;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return null;
    return lines === undefined ? await tailBytes(handle, stat.size) : await tailLines(handle, stat.size, lines);
  } finally {
    await handle.close();
  }
}

async function readRange(handle: fs.FileHandle, start: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, start);
  return buffer.subarray(0, bytesRead);
}

async function tailBytes(handle: fs.FileHandle, size: number): Promise<string> {
  const start = Math.max(0, size - DEFAULT_TAIL_BYTES);
  let text = (await readRange(handle, start, size - start)).toString('utf8');
  if (start > 0) {
    // Drop the partial first line (and any split UTF-8 sequence with it).
    const newline = text.indexOf('\n');
    if (newline !== -1) text = text.slice(newline + 1);
  }
  return text;
}

/** The last `lines` lines of the first `size` bytes of an open file (scanning back at most 8 MiB). */
export async function tailLines(handle: fs.FileHandle, size: number, lines: number): Promise<string> {
  const floor = Math.max(0, size - MAX_SCAN_BYTES);
  const chunks: Buffer[] = [];
  let start = size;
  let newlines = 0;
  // Read backwards until one more newline than wanted is seen (the one before the first line).
  while (start > floor && newlines <= lines) {
    const from = Math.max(floor, start - CHUNK_BYTES);
    const chunk = await readRange(handle, from, start - from);
    chunks.unshift(chunk);
    newlines += countNewlines(chunk);
    start = from;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const endsWithNewline = text.endsWith('\n');
  const all = (endsWithNewline ? text.slice(0, -1) : text).split('\n');
  // The first piece is partial when the scan stopped short of the file's start.
  const complete = start > 0 ? all.slice(1) : all;
  const kept = complete.slice(-lines).join('\n');
  return endsWithNewline && kept !== '' ? `${kept}\n` : kept;
}

function countNewlines(buffer: Buffer): number {
  let count = 0;
  for (let at = buffer.indexOf(10); at !== -1; at = buffer.indexOf(10, at + 1)) count += 1;
  return count;
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
