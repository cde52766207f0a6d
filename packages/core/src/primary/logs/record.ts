// The record's type lives in status.ts, with the rest of what the master and the monitor share.
import type { LogRecord } from '../../status.js';

/** How lines are written (a subset of the resolved `logs` option). */
export interface LineFormat {
  readonly format: 'text' | 'json';
  readonly time: boolean;
  readonly app: string;
}

/**
 * One record as one line of output, newline included. A line the app already wrote as a JSON
 * object (pino, Fastify's logger) stays that object, with the labels added as its last fields, so
 * a log collector still parses it; everything else is `[w0 12345] text` or a JSON record.
 */
export function renderLine(record: LogRecord, format: LineFormat): string {
  const json = asJsonObject(record.msg);
  if (json !== undefined) return `${json.text.slice(0, -1)}${json.empty ? '' : ','}${labels(record, format, json.hasPid)}}\n`;
  if (format.format === 'json') {
    return `${JSON.stringify({
      time: new Date(record.time).toISOString(),
      app: format.app,
      worker: record.worker,
      pid: record.pid,
      stream: record.stream,
      ...(record.level && { level: record.level }),
      msg: record.msg,
    })}\n`;
  }
  return `${format.time ? `${new Date(record.time).toISOString()} ` : ''}[${record.worker} ${record.pid}] ${record.msg}\n`;
}

function labels(record: LogRecord, format: LineFormat, hasPid: boolean): string {
  return `"worker":"${record.worker}",${hasPid ? '' : `"pid":${record.pid},`}"stream":"${record.stream}","app":${JSON.stringify(format.app)}`;
}

/** `text` when it is one JSON object on one line (the cheap checks first: most lines are not). */
function asJsonObject(text: string): { text: string; empty: boolean; hasPid: boolean } | undefined {
  const trimmed = text.trim();
  if (trimmed.length < 2 || trimmed.charCodeAt(0) !== 0x7b || trimmed.charCodeAt(trimmed.length - 1) !== 0x7d) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return { text: trimmed, empty: Object.keys(value).length === 0, hasPid: 'pid' in value };
}
