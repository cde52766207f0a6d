import type { LogRecord } from '../status.js';

/** A line read back from a log file, with what its labels say. */
export interface ParsedLine {
  /** The line as the file holds it, without its newline. */
  raw: string;
  /** ms since epoch, when the line carries a time (text with `time: true`, or JSON). */
  time?: number;
  worker?: string;
  pid?: number;
  stream: 'out' | 'err';
  msg: string;
  /** The line was a JSON object: printed as it is with `--json`. */
  json: boolean;
}

/** What `--worker` and `--err` keep. */
export interface LineFilter {
  /** `w0`, `master`, or digits: an instance index (`0` is `w0`) or a pid. */
  worker?: string;
  /** Only stderr lines. */
  errOnly?: boolean;
}

// `[w0 12345] message`, optionally after an ISO 8601 time: the master's text format.
const TEXT_LINE = /^(?:(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) )?\[(w\d+|master) (\d+)\] ?(.*)$/s;

/** Reads the labels of one line; `stream` (and `worker`, for per-worker files) come from the file's name when the line has none. */
export function parseLine(raw: string, from: { stream: 'out' | 'err'; worker?: string }): ParsedLine {
  if (raw.startsWith('{')) {
    const object = parseObject(raw);
    if (object !== undefined) {
      const stream = object.stream === 'out' || object.stream === 'err' ? object.stream : from.stream;
      const worker = typeof object.worker === 'string' ? object.worker : from.worker;
      return {
        raw,
        stream,
        json: true,
        msg: typeof object.msg === 'string' ? object.msg : raw,
        ...optional('time', timeOf(object.time)),
        ...optional('worker', worker),
        ...optional('pid', Number.isInteger(object.pid) ? (object.pid as number) : undefined),
      };
    }
  }
  const match = TEXT_LINE.exec(raw);
  if (match === null) return { raw, stream: from.stream, msg: raw, json: false, ...optional('worker', from.worker) };
  return {
    raw,
    stream: from.stream,
    worker: match[2]!,
    pid: Number(match[3]),
    msg: match[4]!,
    json: false,
    ...optional('time', match[1] === undefined ? undefined : Date.parse(match[1])),
  };
}

/** A record of the monitor's as a line of the master's text format (always with its time). */
export function fromRecord(record: LogRecord): ParsedLine {
  const raw = `${new Date(record.time).toISOString()} [${record.worker} ${record.pid}] ${record.msg}`;
  return { raw, time: record.time, worker: record.worker, pid: record.pid, stream: record.stream, msg: record.msg, json: false };
}

export function matchesFilter(line: ParsedLine, filter: LineFilter): boolean {
  if (filter.errOnly && line.stream !== 'err') return false;
  const wanted = filter.worker;
  if (wanted === undefined) return true;
  if (/^\d+$/.test(wanted)) return line.worker === `w${Number(wanted)}` || line.pid === Number(wanted);
  return line.worker === wanted;
}

/** One output line: the file's own text, or with `--json` a JSON record (a JSON line as it is). */
export function renderLine(line: ParsedLine, json: boolean): string {
  if (!json || line.json) return line.raw;
  const record: Record<string, unknown> = {};
  if (line.time !== undefined) record.time = new Date(line.time).toISOString();
  record.worker = line.worker ?? null;
  record.pid = line.pid ?? null;
  record.stream = line.stream;
  record.msg = line.msg;
  return JSON.stringify(record);
}

/**
 * The last `count` lines of several files. When every line carries a time they are merged by
 * it and `count` is the total; otherwise there is no telling how they interleave, so each file
 * keeps its own last `count`, one file after the other.
 */
export function lastLines(groups: ParsedLine[][], count: number): ParsedLine[] {
  const all = groups.flat();
  if (all.some((line) => line.time === undefined)) return groups.flatMap((group) => group.slice(-count));
  // A stable sort: lines of the same millisecond keep their file's order.
  return all.sort((a, b) => a.time! - b.time!).slice(-count);
}

function parseObject(raw: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(raw) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function timeOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string') {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}

/** `{ [key]: value }`, or nothing when value is undefined (exactOptionalPropertyTypes). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
